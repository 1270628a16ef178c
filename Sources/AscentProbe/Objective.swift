import AscentIR

/// A target made concrete on one graph: nodes appended to the graph compute, per batch
/// item, the scalar the target names (shape `[N]`).
public struct Objective: Sendable {
    /// The graph with the objective's nodes appended (outputs unchanged).
    public var graph: Graph
    /// The `[N]` value holding the objective of each batch item.
    public var value: String
    /// The forward value the target selects from (the logits, a layer's output...).
    public var source: String
    /// The target as resolved, for messages: `logit:3 (value 'logits', before softmax 'probs')`.
    public var summary: String

    /// Resolves `target` on `graph`.
    /// - Parameter border: pixels excluded at each spatial edge for `layer:` targets (the
    ///   Keras example excludes 2).
    /// - Throws: `.invalidData` for unknown names (with the closest existing names) and
    ///   out-of-range classes or channels.
    public init(_ target: Target, on graph: Graph, border: Int = 0) throws {
        let types = try graph.inferTypes()
        var b = ObjectiveBuilder(graph)
        func emit(_ op: String, _ inputs: [String], _ attrs: [String: Attribute] = [:]) -> String { b.emit(op, inputs, attrs) }
        func ints(_ values: [Int]) -> String { b.constant(Tensor(shape: [values.count], scalars: values.map(Int64.init))) }
        /// Index `k` along `axis` of `v`, keeping the axis (size 1).
        func select(_ v: String, axis: Int, _ k: Int, what: String) throws -> String {
            guard let shape = types[v]?.shape else { throw AscentError.invalid("the shape of '\(v)' is unknown") }
            let a = axis < 0 ? axis + shape.rank : axis
            if let size = shape.dims[a].value, k >= size {
                throw AscentError.invalid("\(what) \(k) is out of range: '\(v)' has \(size) along axis \(a)")
            }
            return emit(OpDefinition.slice.name, [v, ints([k]), ints([k + 1]), ints([a])])
        }

        switch target {
        case .logit(let k):
            guard graph.outputs.count == 1 else {
                throw AscentError.invalid("logit:K needs a single-output model; this one has \(graph.outputs.map { "'\($0.name)'" }.joined(separator: ", ")) (use output:NAME:K)")
            }
            var v = graph.outputs[0].name
            var note = ""
            let producers = graph.producers
            // Back through a final softmax (and identities), and through the quantize–dequantize
            // pairs a QDQ model puts around it (also in their straight-through form) when a softmax
            // lies behind them.
            var walked = v
            while let p = producers[walked] {
                let node = graph.nodes[p]
                if [OpDefinition.softmax, .identity, .logSoftmax].contains(where: node.is) {
                    if !node.is(.identity) { note = ", before \(node.op) '\(node.name)'" }
                    walked = node.inputs[0]
                    v = walked
                } else if node.is(.dequantizeLinear), let q = producers[node.inputs[0]], graph.nodes[q].is(.quantizeLinear) {
                    walked = graph.nodes[q].inputs[0]
                } else if node.is(.straightThrough) {
                    walked = node.inputs[1]
                } else {
                    break
                }
            }
            let picked = try select(v, axis: -1, k, what: "class")
            value = emit(OpDefinition.reduceSum.name, [picked], ["axes": .ints([-1]), "keepdims": .int(0)])
            source = v
            summary = "\(target) (value '\(v)'\(note))"
        case .output(let name, let k):
            guard graph.outputs.contains(where: { $0.name == name }) else {
                throw Objective.unknown("output", name, among: graph.outputs.map(\.name))
            }
            let picked = try select(name, axis: -1, k, what: "index")
            value = emit(OpDefinition.reduceSum.name, [picked], ["axes": .ints([-1]), "keepdims": .int(0)])
            source = name
            summary = target.description
        case .neuron(let name, let c, let position):
            let v = try Objective.resolveValue(name, in: graph, types: types)
            guard let t = types[v], let shape = t.shape, shape.rank >= 2 else {
                throw AscentError.invalid("layer '\(name)': its output's shape is unknown")
            }
            let channelAxis: Int
            if let layout = t.layout, layout.rank == shape.rank { channelAxis = layout.channelAxis }
            else { throw AscentError.invalid("layer '\(name)': cannot tell the channel axis of \(t) (no layout tag)") }
            let spatial = (1..<shape.rank).filter { $0 != channelAxis }
            guard spatial.count == position.count else {
                throw AscentError.invalid("\(target): '\(v)' is \(shape), so a position has \(spatial.count) coordinate\(spatial.count == 1 ? "" : "s"), not \(position.count)")
            }
            let axes = [channelAxis] + spatial, at = [c] + position
            for (a, i) in zip(axes, at) {
                if let size = shape.dims[a].value, i >= size {
                    throw AscentError.invalid("\(a == channelAxis ? "channel" : "position") \(i) is out of range: '\(v)' has \(size) along axis \(a) (\(shape))")
                }
            }
            let picked = emit(OpDefinition.slice.name, [v, ints(at), ints(at.map { $0 + 1 }), ints(axes)])
            value = emit(OpDefinition.reduceSum.name, [picked], ["axes": .ints(Array(1..<shape.rank)), "keepdims": .int(0)])
            source = v
            summary = "\(target) (value '\(v)', channel axis \(channelAxis))"
        case .layer(let name, let c, let reduction):
            let v = try Objective.resolveValue(name, in: graph, types: types)
            guard let t = types[v], let shape = t.shape, shape.rank >= 2 else {
                throw AscentError.invalid("layer '\(name)': its output's shape is unknown")
            }
            let channelAxis: Int
            if let layout = t.layout, layout.rank == shape.rank { channelAxis = layout.channelAxis }
            else if shape.rank == 2 { channelAxis = 1 }
            else { throw AscentError.invalid("layer '\(name)': cannot tell the channel axis of \(t) (no layout tag)") }
            var picked = try select(v, axis: channelAxis, c, what: "channel")
            let spatial = (1..<shape.rank).filter { $0 != channelAxis }
            if border > 0, !spatial.isEmpty {
                for a in spatial {
                    guard let size = shape.dims[a].value, size > 2 * border else {
                        throw AscentError.invalid("layer '\(name)': a border of \(border) leaves nothing of axis \(a) (\(shape))")
                    }
                }
                picked = emit(OpDefinition.slice.name, [picked, ints(spatial.map { _ in border }), ints(spatial.map { shape.dims[$0].value! - border }), ints(spatial)])
            }
            value = emit(reduction == .mean ? OpDefinition.reduceMean.name : OpDefinition.reduceMax.name, [picked],
                         ["axes": .ints(Array(1..<shape.rank)), "keepdims": .int(0)])
            source = v
            summary = "\(target) (value '\(v)', channel axis \(channelAxis)\(border > 0 && !spatial.isEmpty ? ", border \(border)" : ""))"
        }
        self.graph = b.graph
    }

    /// The graph input named `name`, or the only floating-point input when nil.
    /// - Throws: `.invalidData` naming the closest inputs, or when nil is ambiguous.
    static func input(_ name: String?, of graph: Graph, purpose: String) throws -> ValueInfo {
        if let name {
            guard let info = graph.inputs.first(where: { $0.name == name }) else {
                throw Objective.unknown("input", name, among: graph.inputs.map(\.name))
            }
            return info
        }
        let floating = graph.inputs.filter { $0.type.dtype.isFloatingPoint }
        guard floating.count == 1 else {
            throw AscentError.invalid("the model has \(floating.count) floating-point inputs: name the one to \(purpose)")
        }
        return floating[0]
    }

    /// A value named `name`, else the output of the last node named `name`.
    static func resolveValue(_ name: String, in graph: Graph, types: [String: ValueType]) throws -> String {
        if types[name] != nil { return name }
        if let node = graph.nodes.last(where: { $0.name == name }), let out = node.outputs.first(where: { !$0.isEmpty }) {
            return out
        }
        throw AscentError.invalid("no layer '\(name)'" + NameSuggestions.hint(for: name, among: graph.layerNameCandidates(types: types))
                                  + " (ascent inspect --names lists them)")
    }

    /// `no output 'prob'; closest: 'probs'`.
    static func unknown(_ what: String, _ name: String, among names: [String]) -> AscentError {
        AscentError.invalid("no \(what) '\(name)'" + NameSuggestions.hint(for: name, among: names.map { NameSuggestions.Candidate($0) }))
    }
}

/// Appends objective nodes and constants to a graph under fresh `objective/...` names.
struct ObjectiveBuilder {
    private(set) var graph: Graph
    private var used: Set<String>

    init(_ graph: Graph) {
        self.graph = graph
        used = Set(graph.inputs.map(\.name)).union(graph.initializers.keys)
        for n in graph.nodes { used.formUnion(n.outputs) }
    }

    /// `base`, or `base_1`, `base_2`... when taken.
    mutating func fresh(_ base: String) -> String {
        var name = base, i = 1
        while used.contains(name) { name = "\(base)_\(i)"; i += 1 }
        used.insert(name)
        return name
    }

    /// Adds a node with one output; returns the output's name.
    mutating func emit(_ op: String, _ inputs: [String], _ attrs: [String: Attribute] = [:]) -> String {
        let out = fresh("objective/\(op)")
        graph.nodes.append(Node(name: "objective", op: op, inputs: inputs, outputs: [out], attributes: attrs))
        return out
    }

    /// Adds a constant; returns its name.
    mutating func constant(_ t: Tensor) -> String {
        let name = fresh("objective/const")
        graph.initializers[name] = t
        return name
    }
}
