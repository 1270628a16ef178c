/// One operation in a graph.
///
/// Values are named: a node reads the values named by `inputs` (an empty string is an
/// omitted optional input) and defines the values named by `outputs`. Every value has
/// exactly one definition (a graph input, an initializer or one node output).
public struct Node: Sendable, Equatable {
    /// The node's own name (from the source file; may repeat across nodes).
    public var name: String
    /// The op type, e.g. `Conv`; looked up in ``OpRegistry``.
    public var op: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [String: Attribute]

    public init(name: String, op: String, inputs: [String], outputs: [String], attributes: [String: Attribute] = [:]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    /// An explicit placeholder for an op Ascent cannot run: import keeps going, `inspect`
    /// still shows it, and running fails up front listing every such node.
    ///
    /// - Parameters:
    ///   - sourceOp: the op type or layer class in the source file (`NonMaxSuppression`, `Lambda`).
    ///   - source: where it comes from, e.g. `ai.onnx opset 17`, `com.microsoft opset 1`, `Keras`.
    public static func unsupported(name: String, sourceOp: String, source: String,
                                   inputs: [String], outputs: [String]) -> Node {
        Node(name: name, op: Node.unsupportedOp, inputs: inputs, outputs: outputs,
             attributes: ["source_op": .string(sourceOp), "source": .string(source)])
    }

    /// The op name of unsupported placeholders.
    public static let unsupportedOp = "Unsupported"

    /// True for an ``unsupported(name:sourceOp:source:inputs:outputs:)`` placeholder.
    public var isUnsupported: Bool { op == Node.unsupportedOp }

    /// `conv1 (Conv)`, or `lambda_1 (Lambda, Keras)` for an unsupported node.
    public var label: String {
        if isUnsupported {
            let what = attributes["source_op"]?.string ?? "?"
            let from = attributes["source"]?.string ?? "?"
            return "'\(name)' (\(what), \(from))"
        }
        return "'\(name)' (\(op))"
    }
}
