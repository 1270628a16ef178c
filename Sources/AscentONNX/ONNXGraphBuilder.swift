import AscentIR

/// Assembles the IR graph while ONNX nodes are converted, over the shared ``GraphBuilder``: value
/// names that clash with nothing in the file, and the types known so far (what the IR's shape rules
/// infer from the file's declarations), which opset conversions consult for ranks.
///
/// A node whose attributes the IR cannot express (an unknown mode, a string pool) is kept as an
/// unsupported placeholder that says why, so import goes on and running lists every such node.
struct ONNXGraphBuilder {
    let builder: GraphBuilder
    /// Every value some node reads or the graph returns; unread optional outputs can be dropped.
    let consumed: Set<String>
    /// Where nodes come from, for placeholders: `ai.onnx opset 17`.
    var source = "ai.onnx"

    /// - Parameter names: every value name in the file (so that generated names never collide).
    init(graph: Graph, names: Set<String>, consumed: Set<String>) {
        builder = GraphBuilder(graph, reserved: names)
        self.consumed = consumed
    }

    var graph: Graph { builder.graph }

    /// A value name not used yet, based on `base`.
    func unique(_ base: String) -> String { builder.fresh(base) }

    /// Adds a constant (an initializer); returns its value name.
    func constant(_ base: String, _ tensor: Tensor) -> String { builder.constant(tensor, name: base) }

    /// Adds a 1-D int64 constant.
    func constant(_ base: String, ints: [Int]) -> String { builder.constant(ints: ints, name: base) }

    /// Appends `node` and records the output types its shape rule gives (failures are left to
    /// ``Graph/validate(limits:)``, which reports them with the node).
    func add(_ node: Node) {
        if !node.isUnsupported, let decode = node.definition?.decodeAttributes {
            do { try decode(node) } catch let e as AscentError {
                return builder.add(Node.unsupported(name: node.name, sourceOp: node.op, source: "\(source), \(e.message)",
                                                    inputs: node.inputs, outputs: node.outputs))
            } catch {}
        }
        builder.add(node)
    }

    /// The type of `value` when known.
    func type(_ value: String) -> ValueType? { builder.type(value) }
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
