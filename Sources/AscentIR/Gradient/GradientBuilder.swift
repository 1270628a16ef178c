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

/// Reverse-mode differentiation as a graph transformation: appends, to a copy of the
/// forward graph, IR nodes computing the gradients of an objective with respect to chosen
/// values (graph inputs, initializers or intermediate values).
///
/// The objective may have any shape: its cotangent is all ones, so the gradient is that of
/// the sum of its elements. Only nodes on a path from a requested value to the objective
/// get backward nodes; integer and boolean values carry no gradient. Gradients of values
/// used several times are summed, and broadcasting is undone (``SumTo``) where an input's
/// shape may differ from its cotangent's.
public enum GradientBuilder {
    /// The rules, by op name, gathered from the op families.
    public static let rules: [String: VJPRule] = {
        var all: [String: VJPRule] = [:]
        for family in [ElementwiseOps.vjps, ConvolutionOps.vjps, LinearOps.vjps, NormalizationOps.vjps, ShapeOps.vjps,
                       ReduceOps.vjps, IndexingOps.vjps, CastOps.vjps, MoreOps.mathVJPs, ReduceOps.moreVJPs,
                       MoreOps.normalizationVJPs, IndexingOps.moreVJPs, MoreOps.spatialVJPs, MoreOps.lossVJPs] {
            for (op, rule) in family {
                precondition(all[op] == nil, "op \(op) has two gradient rules")
                all[op] = rule
            }
        }
        return all
    }()

    /// The backward primitive ops (`ConvGradInput`, `SumTo`...), which only gradient graphs use.
    public static let backwardOps: Set<String> = Set(GradientOps.schemas.map(\.name))

    /// Builds d(objective)/d(each of `values`).
    /// - Parameter seed: a value holding the objective's cotangent (same shape as the
    ///   objective); nil for all ones.
    /// - Throws: ``AscentError`` naming unknown values, non-floating values, and every op
    ///   on the path that has no gradient rule — all at once, before anything is built.
    public static func build(_ forward: Graph, of objective: String, withRespectTo values: [String],
                             seed: String? = nil) throws -> GradientGraph {
        let types = try forward.inferTypes()
        for v in [objective] + values {
            guard let t = types[v] else { throw AscentError.invalid("no value named '\(v)'") }
            guard t.dtype.isFloatingPoint else {
                throw AscentError.invalid("value '\(v)' is \(t.dtype.rawValue), not floating point: it has no gradient")
            }
        }

        // Values that depend on a requested value through floating-point data.
        var depends = Set(values)
        for node in forward.nodes where node.inputs.contains(where: depends.contains) {
            for o in node.outputs where !o.isEmpty && (types[o]?.dtype.isFloatingPoint ?? false) { depends.insert(o) }
        }
        // Values the objective depends on.
        var feeds: Set<String> = [objective]
        for node in forward.nodes.reversed() where node.outputs.contains(where: feeds.contains) {
            for i in node.inputs where !i.isEmpty { feeds.insert(i) }
        }
        guard depends.contains(objective) else {
            let wrt = values.map { "'\($0)'" }.joined(separator: ", ")
            // A path through integer or boolean values (ArgMax, Shape, a comparison...) carries
            // no gradient: name where it is cut.
            let cuts = forward.nodes.filter { node in
                node.inputs.contains(where: depends.contains)
                    && node.outputs.contains { !$0.isEmpty && feeds.contains($0) && !(types[$0]?.dtype.isFloatingPoint ?? false) }
            }
            guard !cuts.isEmpty else { throw AscentError.invalid("objective '\(objective)' does not depend on \(wrt)") }
            let list = cuts.prefix(5).map { node -> String in
                let out = node.outputs.first { feeds.contains($0) && !(types[$0]?.dtype.isFloatingPoint ?? false) } ?? ""
                return "\(node.label) (output '\(out)' is \(types[out]?.dtype.rawValue ?? "not floating point"))"
            }.joined(separator: ", ") + (cuts.count > 5 ? ", ..." : "")
            throw AscentError.invalid("objective '\(objective)' depends on \(wrt) only through a non-differentiable path: \(list)")
        }
        let active = forward.nodes.filter { node in
            node.outputs.contains(where: { feeds.contains($0) && depends.contains($0) })
        }
        let missing = active.filter { rules[$0.op] == nil }
        if !missing.isEmpty {
            let list = missing.map(\.label).joined(separator: ", ")
            throw AscentError.invalid("no gradient rule for \(missing.count) node\(missing.count == 1 ? "" : "s") on the path: \(list)")
        }

        var used = Set(forward.inputs.map(\.name)).union(forward.initializers.keys)
        for n in forward.nodes { used.formUnion(n.outputs) }
        let emitter = GradientEmitter(used: used)
        var constants = forward.initializers
        for n in forward.nodes where n.op == "Constant" {
            if let t = n.attributes["value"]?.tensor, let o = n.outputs.first { constants[o] = t }
        }
        var pending: [String: [String]] = [:]
        pending[objective] = [seed ?? emitter.emit("ConstantOfShape",
                                                    [emitter.emit("Shape", [objective], [:], forward: "objective")],
                                                    ["value": .tensor(Tensor(shape: [1], scalars: [Float(1)]))],
                                                    forward: "objective")]

        func total(_ value: String) -> String? {
            guard let parts = pending[value], !parts.isEmpty else { return nil }
            if parts.count == 1 { return parts[0] }
            let sum = emitter.emit("Sum", parts, [:], forward: "accumulate")
            pending[value] = [sum]
            return sum
        }

        for node in active.reversed() {
            let cotangents = node.outputs.map { $0.isEmpty ? nil : total($0) }
            guard cotangents.contains(where: { $0 != nil }) else { continue }
            let needed = node.inputs.map { !$0.isEmpty && depends.contains($0) }
            guard needed.contains(true) else { continue }
            var ctx = VJPContext(node: node, types: types, cotangents: cotangents, needed: needed,
                                 constants: constants, emitter: emitter)
            let grads: [String?]
            do { grads = try rules[node.op]!(&ctx) } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("gradient of node \(node.label)") : e
            }
            for (i, g) in grads.enumerated() where i < node.inputs.count && needed[i] {
                guard var g else { continue }
                let input = node.inputs[i]
                if !provablySameShape(types[input]?.shape, node.outputs.first.flatMap { types[$0]?.shape }, rule: node.op) {
                    g = emitter.emit("SumTo", [g, input], [:], forward: node.name)
                }
                pending[input, default: []].append(g)
            }
        }

        var sources: [(value: String, source: String)] = []
        for v in values {
            // A requested value the objective does not reach has a zero gradient.
            let source = total(v) ?? emitter.emit("ConstantOfShape", [emitter.emit("Shape", [v], [:], forward: "zero")],
                                                  ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))], forward: "zero")
            sources.append((v, source))
        }
        var graph = forward
        graph.nodes += emitter.nodes
        for (k, v) in emitter.constants { graph.initializers[k] = v }
        var outputs = [ValueInfo(name: objective, type: types[objective]!)]
        var gradients: [String: String] = [:]
        for (v, source) in sources {
            let name = emitter.fresh("grad:\(v)")
            graph.nodes.append(Node(name: "grad/output", op: "Identity", inputs: [source], outputs: [name]))
            gradients[v] = name
            outputs.append(ValueInfo(name: name, type: types[v]!))
        }
        graph.outputs = outputs
        try graph.validate()
        return GradientGraph(graph: graph, objective: objective, gradients: gradients)
    }

    /// Ops whose rules return cotangents already shaped like each input (no broadcasting),
    /// so the engine need not unbroadcast them.
    static let shapePreserving: Set<String> = [
        "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization",
        "Reshape", "Flatten", "Transpose", "Concat", "Softmax", "LogSoftmax", "MatMul", "Gemm",
        "LayerNormalization", "Identity", "Split", "Slice", "Squeeze", "Unsqueeze", "Pad",
        "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "Cast",
        "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
        "Gather", "GatherElements", "GatherND", "Compress", "TopK", "ScatterElements", "ScatterND", "Tile", "CumSum", "CumProd",
        "Trilu", "ReverseSequence", "DepthToSpace", "SpaceToDepth", "CenterCropPad", "ConvTranspose", "LpPool",
        "Resize", "MaxUnpool", "GroupNormalization", "InstanceNormalization", "MeanVarianceNormalization",
        "LpNormalization", "LRN", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
    ]

    /// True when a cotangent of an input of `rule` can be used without ``SumTo``.
    static func provablySameShape(_ input: Shape?, _ output: Shape?, rule: String) -> Bool {
        if shapePreserving.contains(rule) { return true }
        guard let input, let output, input.rank == output.rank else { return false }
        return zip(input.dims, output.dims).allSatisfy { a, b in
            switch (a, b) {
            case let (.known(x), .known(y)): return x == y
            case let (.symbol(x), .symbol(y)): return x == y
            default: return false
            }
        }
    }
}
