import AscentIR

/// Builds an IR graph node by node, inferring each new value's type as it goes so that
/// layer converters can look at their inputs' shapes.
struct GraphBuilder {
    var graph: Graph
    private(set) var types: [String: ValueType] = [:]
    private var used: Set<String> = []

    init(name: String) {
        graph = Graph(name: name)
    }

    /// A value name not used yet, based on `base`.
    mutating func unique(_ base: String) -> String {
        var name = base
        var i = 1
        while used.contains(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        used.insert(name)
        return name
    }

    mutating func addInput(_ name: String, _ type: ValueType) {
        used.insert(name)
        graph.inputs.append(ValueInfo(name: name, type: type))
        types[name] = type
    }

    /// Adds a constant; returns its value name. A constant equal to one already added under
    /// the same name (a shared layer's weights at its second call site) is reused.
    mutating func constant(_ base: String, _ tensor: Tensor) -> String {
        if let existing = graph.initializers[base], existing.bitwiseEqual(tensor) { return base }
        let name = unique(base)
        graph.initializers[name] = tensor
        types[name] = ValueType(tensor.dtype, Shape(tensor.shape))
        return name
    }

    /// Adds a node with one output named after `output`; returns the output's value name.
    @discardableResult
    mutating func node(_ op: String, name: String, inputs: [String], output: String,
                       attributes: [String: Attribute] = [:]) throws -> String {
        let out = unique(output)
        let node = Node(name: name, op: op, inputs: inputs, outputs: [out], attributes: attributes)
        try add(node)
        return out
    }

    /// Adds a node as given (its outputs must be fresh names from ``unique(_:)``).
    mutating func add(_ node: Node) throws {
        for o in node.outputs { used.insert(o) }
        graph.nodes.append(node)
        guard let schema = OpRegistry.definition(node.op) else { return }
        let ctx = InferenceContext(node: node,
                                   inputTypes: node.inputs.map { types[$0] },
                                   constantInputs: node.inputs.map { graph.initializers[$0] })
        let inferred = try schema.shape(ctx)
        for (i, o) in node.outputs.enumerated() where i < inferred.count {
            if let t = inferred[i] { types[o] = t }
        }
    }

    func type(_ value: String) -> ValueType? { types[value] }

    /// Tags the node outputs among `values` that are floating-point of rank 3 to 5 and carry no
    /// layout as channels-last (`NWC`, `NHWC`, `NDHWC`): Keras keeps the features on the last axis
    /// of every layer's output (a recurrent layer's `[batch, time, units]`, an embedding's
    /// `[batch, time, dim]`, a Dense applied per step), which the shape rules of the ops
    /// underneath (MatMul, Transpose, GRU...) do not say. The tag is declared in `valueInfo` with
    /// the rank only (no sizes, so it never conflicts with computed ones); `maximize` and
    /// `explain` read it to find a layer's channel axis.
    mutating func tagChannelsLast(_ values: [String]) {
        for v in values where graph.initializers[v] == nil && !graph.inputs.contains(where: { $0.name == v }) {
            guard var t = types[v], t.layout == nil, t.dtype.isFloatingPoint, let rank = t.shape?.rank,
                  let layout = DataFormat.channelsLast.layout(rank: rank) else { continue }
            t.layout = layout
            types[v] = t
            graph.valueInfo[v] = ValueType(t.dtype, Shape(Array(repeating: Dim.unknown, count: rank)), layout: layout)
        }
    }
}
