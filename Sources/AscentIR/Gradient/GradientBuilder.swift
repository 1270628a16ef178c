/// A forward graph extended with its backward pass.
public struct GradientGraph: Sendable {
    /// The forward graph plus backward nodes. Its outputs are the objective followed by one
    /// gradient per requested value, in request order.
    public var graph: Graph
    /// The objective value (a forward value).
    public var objective: String
    /// Requested value → the graph output holding d(sum of objective)/d(value).
    public var gradients: [String: String]
}

/// Reverse-mode differentiation as a graph transformation: appends, to a copy of the forward
/// graph, IR nodes computing the gradients of an objective with respect to chosen values (graph
/// inputs, initializers or intermediate values).
///
/// The objective may have any shape: its cotangent is all ones, so the gradient is that of the sum
/// of its elements. Only nodes on a path from a requested value to the objective get backward
/// nodes; integer and boolean values carry no gradient. Each op's rule is its definition's
/// ``OpDefinition/vjp``; an op without one but with a ``OpDefinition/decomposition`` is first
/// replaced by its decomposition. Gradients of values used several times are summed, and
/// broadcasting is undone (``OpDefinition/sumTo``) where a cotangent's shape is not provably its
/// input's.
public enum GradientBuilder {
    /// Builds d(objective)/d(each of `values`).
    /// - Parameter seed: a value holding the objective's cotangent (same shape as the objective);
    ///   nil for all ones.
    /// - Throws: ``AscentError`` naming unknown values, non-floating values, and every op on the
    ///   path that has no gradient rule — all at once, before anything is built.
    public static func build(_ original: Graph, of objective: String, withRespectTo values: [String],
                             seed: String? = nil) throws -> GradientGraph {
        // Differentiated as computed: float16/bfloat16/float64 as float32 (the inputs keep their
        // declared types, converted on entry; the objective and gradients are float32).
        var forward = original.loweredToComputeTypes()
        var types = try forward.inferTypes()
        for v in [objective] + values {
            guard let t = types[v] else { throw AscentError.invalid("no value named '\(v)'") }
            guard t.dtype.isFloatingPoint else {
                throw AscentError.invalid("value '\(v)' is \(t.dtype.rawValue), not floating point: it has no gradient")
            }
        }
        var active = try path(forward, types, objective: objective, values: values)
        // Ops without a rule but with a decomposition are written out first, then differentiated.
        let decomposable = active.nodes.filter { $0.definition?.vjp == nil && $0.definition?.decomposition != nil }
        if !decomposable.isEmpty {
            forward = try Decomposer.expand(forward) { node in decomposable.contains { $0.outputs == node.outputs } }
            types = try forward.inferTypes()
            active = try path(forward, types, objective: objective, values: values)
        }
        // Sequences and optionals carry no gradient (not even through Identity).
        func passesValues(_ node: Node) -> Bool {
            (node.inputs + node.outputs).contains { !$0.isEmpty && !(types[$0]?.isTensor ?? true) }
        }
        let valued = active.nodes.filter(passesValues)
        if !valued.isEmpty {
            let list = valued.prefix(3).map(\.label).joined(separator: ", ") + (valued.count > 3 ? " and \(valued.count - 3) more" : "")
            throw AscentError.invalid("no gradient through sequence or optional values: \(list) on the path")
        }
        let missing = active.nodes.filter { $0.definition?.vjp == nil }
        if !missing.isEmpty {
            let list = missing.map { node in
                // Control flow is differentiated once resolved (Graph.resolvingControlFlow in the runtime).
                guard node.hasSubgraphs else { return node.label }
                let what = node.is(.if) ? "its condition" : node.is(.loop) ? "its trip count" : "its number of slices"
                return "\(node.label) (\(what) is not known when the gradient is planned)"
            }.joined(separator: ", ")
            throw AscentError.invalid("no gradient rule for \(missing.count) node\(missing.count == 1 ? "" : "s") on the path: \(list)")
        }

        let builder = GraphBuilder(forward)
        builder.nodeName = "grad/objective"
        var pending: [String: [ValueRef]] = [:]
        pending[objective] = [seed.map { builder.value($0) }
            ?? builder.value(builder.emit(.constantOfShape, [builder.emit(.shape, [objective])],
                                          ["value": .tensor(Tensor(shape: [1], scalars: [Float(1)]))]))]

        func total(_ value: String) -> ValueRef? {
            guard let parts = pending[value], !parts.isEmpty else { return nil }
            if parts.count == 1 { return parts[0] }
            builder.nodeName = "grad/accumulate"
            let sum = parts[0].apply(.sum, Array(parts.dropFirst()))
            pending[value] = [sum]
            return sum
        }

        for node in active.nodes.reversed() {
            let cotangents = node.outputs.map { $0.isEmpty ? nil : total($0) }
            guard cotangents.contains(where: { $0 != nil }) else { continue }
            let needed = node.inputs.map { !$0.isEmpty && active.depends.contains($0) }
            guard needed.contains(true), let rule = node.definition?.vjp else { continue }
            builder.nodeName = "grad/\(node.name)"
            let context = VJPContext(node: node, builder: builder, cotangents: cotangents, needed: needed)
            let grads: [ValueRef?]
            do { grads = try rule(context) } catch var e as AscentError {
                if e.message.contains("needs"), forward.inputs.contains(where: { $0.type.shape?.concrete == nil }) {
                    // Rules need sizes the graph computes from its inputs' shapes.
                    e.message += " (plan the gradient for concrete input shapes: give every input's shape, e.g. --input-shape)"
                }
                throw e.context.isEmpty ? e.within("gradient of node \(node.label)") : e
            }
            for (i, g) in grads.enumerated() where i < node.inputs.count && needed[i] {
                guard var g else { continue }
                let input = node.inputs[i]
                if !provablySameShape(types[input]?.shape, g.shape) { g = g.summed(to: builder.value(input)) }
                pending[input, default: []].append(g)
            }
        }

        var sources: [(value: String, source: String)] = []
        for v in values {
            // A requested value the objective does not reach has a zero gradient.
            builder.nodeName = "grad/zero"
            let source = total(v)?.name ?? builder.emit(.constantOfShape, [builder.emit(.shape, [v])],
                                                         ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))])
            sources.append((v, source))
        }
        var graph = builder.graph
        var outputs = [ValueInfo(name: objective, type: types[objective]!)]
        var gradients: [String: String] = [:]
        for (v, source) in sources {
            let name = builder.fresh("grad:\(v)")
            graph.nodes.append(Node(name: "grad/output", op: OpDefinition.identity.name, inputs: [source], outputs: [name]))
            gradients[v] = name
            outputs.append(ValueInfo(name: name, type: types[v]!))
        }
        graph.outputs = outputs
        try graph.validate()
        for i in graph.inputs.indices {
            if let declared = original.inputs.first(where: { $0.name == graph.inputs[i].name }) { graph.inputs[i].type = declared.type }
        }
        return GradientGraph(graph: graph, objective: objective, gradients: gradients)
    }

    /// The nodes between the requested values and the objective, and the values that depend on a
    /// requested value through floating-point data; throws when the objective does not depend on
    /// them, naming where an integer or boolean value cuts the path.
    static func path(_ forward: Graph, _ types: [String: ValueType], objective: String,
                     values: [String]) throws -> (nodes: [Node], depends: Set<String>) {
        var depends = Set(values)
        // Quantized ops pass dependence on through their integer values, so that a path through
        // them is refused by name rather than cut silently.
        var quantized: [Node] = []
        for node in forward.nodes where node.inputs.contains(where: depends.contains) {
            let throughIntegers = node.definition?.traits.contains(.quantized) ?? false
            if throughIntegers { quantized.append(node) }
            for o in node.outputs where !o.isEmpty && (throughIntegers || (types[o]?.dtype.isFloatingPoint ?? false)) {
                depends.insert(o)
            }
        }
        var feeds: Set<String> = [objective]
        for node in forward.nodes.reversed() where node.outputs.contains(where: feeds.contains) {
            let differentiable = node.definition?.traits.contains(.straightThrough) == true ? node.inputs.prefix(1) : node.inputs[...]
            for i in differentiable where !i.isEmpty { feeds.insert(i) }
        }
        let onPath = quantized.filter { $0.outputs.contains(where: feeds.contains) }
        if !onPath.isEmpty {
            let list = onPath.prefix(3).map(\.label).joined(separator: ", ") + (onPath.count > 3 ? " and \(onPath.count - 3) more" : "")
            throw AscentError.invalid("no gradient through quantized ops: \(list) on the path round\(onPath.count == 1 ? "s" : "") "
                                      + "to integers (differentiate the float model, or pass --straight-through-quantization to treat "
                                      + "QuantizeLinear→DequantizeLinear pairs as the identity on their range)")
        }
        guard depends.contains(objective) else {
            let wrt = values.map { "'\($0)'" }.joined(separator: ", ")
            // A path through integer or boolean values (ArgMax, Shape, a comparison...) or through a
            // node Ascent cannot run carries no gradient: name where it is cut.
            let cuts = forward.nodes.filter { node in
                node.inputs.contains(where: depends.contains) && node.outputs.contains { o in
                    !o.isEmpty && feeds.contains(o) && (node.isUnsupported || !(types[o]?.dtype.isFloatingPoint ?? false))
                }
            }
            guard !cuts.isEmpty else { throw AscentError.invalid("objective '\(objective)' does not depend on \(wrt)") }
            let list = cuts.prefix(5).map { node -> String in
                if node.isUnsupported { return "\(node.label) (not supported)" }
                let out = node.outputs.first { feeds.contains($0) && !(types[$0]?.dtype.isFloatingPoint ?? false) } ?? ""
                return "\(node.label) (output '\(out)' is \(types[out]?.dtype.rawValue ?? "not floating point"))"
            }.joined(separator: ", ") + (cuts.count > 5 ? ", ..." : "")
            throw AscentError.invalid("objective '\(objective)' depends on \(wrt) only through a non-differentiable path: \(list)")
        }
        let nodes = forward.nodes.filter { node in node.outputs.contains(where: { feeds.contains($0) && depends.contains($0) }) }
        return (nodes, depends)
    }

    /// True when two shapes are provably equal (the same known sizes and symbols).
    public static func provablySameShape(_ a: Shape?, _ b: Shape?) -> Bool {
        guard let a, let b, a.rank == b.rank else { return false }
        return zip(a.dims, b.dims).allSatisfy { x, y in x == y && x != .unknown }
    }
}
