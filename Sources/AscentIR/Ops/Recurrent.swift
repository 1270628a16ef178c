/// Recurrent layers with ONNX semantics: `RNN`, `GRU` (gates z, r, h; `linear_before_reset` is
/// Keras's `reset_after`), `LSTM` (gates i, o, f, c; peepholes), forward, reverse or bidirectional,
/// `layout` 0 (`[seq, batch, ...]`) or 1 (`[batch, seq, ...]`), optional sequence lengths and
/// initial states.
///
/// Outputs: Y `[seq, dirs, batch, hidden]` (layout 1: `[batch, seq, dirs, hidden]`) and the final
/// states `[dirs, batch, hidden]` (layout 1: `[batch, dirs, hidden]`).
extension OpDefinition {
    public static let rnn: OpDefinition = recurrent("RNN", inputs: 3...6, outputs: 1...2, onnx: [1, 7, 14, 22])
    public static let gru: OpDefinition = recurrent("GRU", inputs: 3...6, outputs: 1...2, onnx: [1, 3, 7, 14, 22])
    public static let lstm: OpDefinition = recurrent("LSTM", inputs: 3...8, outputs: 1...3, onnx: [1, 7, 14, 22])

    static func recurrent(_ name: String, inputs: ClosedRange<Int>, outputs: ClosedRange<Int>, onnx versions: [Int]) -> OpDefinition {
        OpDefinition(name, inputs: inputs, outputs: outputs, attributes: RecurrentAttributes.self,
                     onnx: ONNXHistory(versions, changes: [.attributeAdded("layout", since: 14)]),
                     shape: { ctx in
                         let n = ctx.outputCount
                         guard let x = ctx.input(0) else { return Array(repeating: nil, count: n) }
                         let a = try ctx.attributes(RecurrentAttributes.self)
                         guard let s = x.shape, s.rank == 3 else { return Array(repeating: ValueType(x.dtype, nil), count: n) }
                         let hidden = Dim.known(a.hiddenSize), dirs = Dim.known(a.directions)
                         let (seq, batch) = a.batchFirst ? (s.dims[1], s.dims[0]) : (s.dims[0], s.dims[1])
                         let y = a.batchFirst ? Shape([batch, seq, dirs, hidden]) : Shape([seq, dirs, batch, hidden])
                         let state = a.batchFirst ? Shape([batch, dirs, hidden]) : Shape([dirs, batch, hidden])
                         return Array([ValueType(x.dtype, y), ValueType(x.dtype, state), ValueType(x.dtype, state)].prefix(n))
                     })
    }
}

public struct RecurrentAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .optional("activation_alpha", kind: "floats"), .optional("activation_beta", kind: "floats"),
        .optional("activations", kind: "strings"), .optional("clip", kind: "float"), .string("direction", "forward"),
        .required("hidden_size", kind: "int"), .int("layout", 0), .int("linear_before_reset", 0), .int("input_forget", 0),
    ]
    public let activationAlpha: [Double]?, activationBeta: [Double]?
    public let activations: [String]?
    public let clip: Float?
    public let direction: String
    public let hiddenSize: Int
    /// `layout` 1: batch first.
    public let batchFirst: Bool
    /// GRU: the reset gate applied after the recurrent product (Keras's `reset_after`).
    public let linearBeforeReset: Bool
    /// LSTM: couple the input and forget gates.
    public let inputForget: Bool

    public init(_ a: AttributeReader) throws {
        activationAlpha = try a.floats("activation_alpha")
        activationBeta = try a.floats("activation_beta")
        activations = try a.strings("activations")
        clip = try a.optionalDouble("clip").map(Float.init)
        direction = try a.choice("direction", ["forward", "reverse", "bidirectional"])
        hiddenSize = try a.int("hidden_size")
        guard hiddenSize > 0 else { throw AscentError.invalid("hidden_size must be positive") }
        batchFirst = try a.int("layout") == 1
        linearBeforeReset = try a.bool("linear_before_reset")
        inputForget = try a.bool("input_forget")
    }

    /// 2 for bidirectional, else 1.
    public var directions: Int { direction == "bidirectional" ? 2 : 1 }
}
