import AscentIR

/// Assembles the IR graph while ONNX nodes are converted: added nodes and constants, value names
/// that clash with nothing in the file, and a running map of the types known so far (what the IR's
/// shape rules infer from the file's declarations), which opset conversions consult for ranks.
struct ONNXGraphBuilder {
    var graph: Graph
    /// Every value some node reads or the graph returns; unread optional outputs can be dropped.
    let consumed: Set<String>
    private(set) var types: [String: ValueType] = [:]
    private var used: Set<String>

    /// - Parameter names: every value name in the file (so that generated names never collide).
    init(graph: Graph, names: Set<String>, consumed: Set<String>) {
        self.graph = graph
        self.used = names
        self.consumed = consumed
        for (name, t) in graph.initializers { types[name] = ValueType(t.dtype, Shape(t.shape)) }
        for (name, t) in graph.valueInfo { types[name] = t }
        for input in graph.inputs { types[input.name] = input.type }
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

    /// Adds a constant (an initializer); returns its value name.
    mutating func constant(_ base: String, _ tensor: Tensor) -> String {
        let name = unique(base)
        graph.initializers[name] = tensor
        types[name] = ValueType(tensor.dtype, Shape(tensor.shape))
        return name
    }

    /// Adds a 1-D int64 constant.
    mutating func constant(_ base: String, ints: [Int]) -> String {
        constant(base, Tensor(shape: [ints.count], scalars: ints.map { Int64($0) }))
    }

    /// Appends `node` and records the output types its shape rule gives (failures are left to
    /// ``Graph/validate(limits:)``, which reports them with the node).
    mutating func add(_ node: Node) {
        for o in node.outputs where !o.isEmpty { used.insert(o) }
        graph.nodes.append(node)
        guard !node.isUnsupported, let schema = OpRegistry.definition(node.op) else { return }
        let ctx = InferenceContext(node: node,
                                   inputTypes: node.inputs.map { $0.isEmpty ? nil : types[$0] },
                                   constantInputs: node.inputs.map { $0.isEmpty ? nil : graph.initializers[$0] })
        guard let inferred = try? schema.shape(ctx) else { return }
        for (i, o) in node.outputs.enumerated() where i < inferred.count && !o.isEmpty {
            if let t = inferred[i] { types[o] = t }
        }
    }

    /// The type of `value` when known.
    func type(_ value: String) -> ValueType? { types[value] }
}

/// What a converter sees of one ONNX node: the proto, its resolved name, the opset of the default
/// domain, and its attributes already translated to the IR's (legacy no-op attributes removed).
struct ONNXNodeContext {
    let proto: ONNXNodeProto
    /// The node's name; `<op>_<index>` when the file leaves it empty.
    let name: String
    /// The model's `ai.onnx` opset version.
    let opset: Int
    var attributes: [String: Attribute]

    var op: String { proto.opType }
    /// The inputs without trailing omitted ones.
    var inputs: [String] { Self.trimmed(proto.inputs) }
    /// The outputs without trailing omitted ones.
    var outputs: [String] { Self.trimmed(proto.outputs) }

    static func trimmed(_ names: [String]) -> [String] {
        var out = names
        while let last = out.last, last.isEmpty { out.removeLast() }
        return out
    }

    /// Input `i`, or "" when omitted.
    func input(_ i: Int) -> String { i < proto.inputs.count ? proto.inputs[i] : "" }

    /// The IR node for this ONNX node: same name, inputs and outputs unless given.
    func node(op: String? = nil, inputs: [String]? = nil, outputs: [String]? = nil,
              attributes: [String: Attribute]? = nil) -> Node {
        Node(name: name, op: op ?? proto.opType, inputs: inputs ?? self.inputs, outputs: outputs ?? self.outputs,
             attributes: attributes ?? self.attributes)
    }

    /// The placeholder for this node when Ascent cannot express it.
    func unsupported() -> Node {
        Node.unsupported(name: name, sourceOp: proto.opType, source: "ai.onnx opset \(opset)",
                         inputs: proto.inputs, outputs: proto.outputs)
    }

    /// The attributes without `names`.
    func attributes(removing names: String...) -> [String: Attribute] {
        attributes.filter { !names.contains($0.key) }
    }

    func int(_ key: String) throws -> Int? {
        guard let a = attributes[key] else { return nil }
        guard let v = a.int else { throw mismatch(key, "int", a) }
        return v
    }

    func float(_ key: String) throws -> Double? {
        guard let a = attributes[key] else { return nil }
        guard let v = a.float else { throw mismatch(key, "float", a) }
        return v
    }

    func string(_ key: String) throws -> String? {
        guard let a = attributes[key] else { return nil }
        guard let v = a.string else { throw mismatch(key, "string", a) }
        return v
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let a = attributes[key] else { return nil }
        guard let v = a.ints else { throw mismatch(key, "ints", a) }
        return v
    }

    /// A required ints attribute.
    func requireInts(_ key: String) throws -> [Int] {
        guard let v = try ints(key) else { throw AscentError.invalid("missing attribute '\(key)'") }
        return v
    }

    private func mismatch(_ key: String, _ kind: String, _ a: Attribute) -> AscentError {
        AscentError.invalid("attribute '\(key)' should be \(kind), is \(a.kind)")
    }
}
