import AscentIR

/// Converts one ONNX node (default domain) into IR nodes added to the builder.
///
/// Converters translate; they never compute values. A converter that meets a form Ascent cannot
/// express adds ``ONNXNodeContext/unsupported()`` rather than failing, and throws only for a node
/// that is malformed.
typealias ONNXConverter = @Sendable (ONNXNodeContext, inout ONNXGraphBuilder) throws -> Void

/// The converters of one ONNX op, by the opset version each starts at.
struct ONNXOpHandler: Sendable {
    /// `(since, converter)`, ascending.
    let versions: [(since: Int, convert: ONNXConverter)]

    init(_ versions: (since: Int, convert: ONNXConverter)...) {
        self.versions = versions.sorted { $0.since < $1.since }
    }

    /// The converter for a model of `opset`: the one with the highest `since` ≤ `opset`.
    func converter(opset: Int) -> ONNXConverter? {
        versions.last { $0.since <= opset }?.convert
    }
}

/// The registration table of the ONNX importer: op type (domain `""` / `ai.onnx`) → handler.
///
/// IR ops carry ONNX names with the latest opset's semantics, so an op whose name is in
/// ``OpRegistry`` and that is not listed here passes through unchanged (``passThrough``). The
/// table lists the ops whose older versions differ from the latest (attributes that became inputs,
/// changed semantics), the ones that need translating at every version, and ONNX ops the IR
/// writes differently. The conversions themselves are in `ONNXOpsetConversions.swift`.
enum ONNXOps {
    static let table: [String: ONNXOpHandler] = [
        "Constant": ONNXOpHandler((1, constant)),
        "Cast": ONNXOpHandler((1, cast)),
        "Dropout": ONNXOpHandler((1, dropout)),
        "BatchNormalization": ONNXOpHandler((1, batchNormalization)),

        // Softmax family: flatten to 2-D at `axis` before 13, along `axis` from 13.
        "Softmax": ONNXOpHandler((1, flattenedSoftmax), (13, passThrough)),
        "LogSoftmax": ONNXOpHandler((1, flattenedSoftmax), (13, passThrough)),

        // Attributes that became inputs.
        "Reshape": ONNXOpHandler((1, attributeToInput("shape")), (5, passThrough)),
        "Slice": ONNXOpHandler((1, sliceAttributes), (10, passThrough)),
        "Clip": ONNXOpHandler((1, clipAttributes), (11, passThrough)),
        "Pad": ONNXOpHandler((1, padAttributes), (11, passThrough)),
        "Squeeze": ONNXOpHandler((1, attributeToInput("axes")), (13, passThrough)),
        "Unsqueeze": ONNXOpHandler((1, attributeToInput("axes")), (13, passThrough)),
        "Split": ONNXOpHandler((1, attributeToInput("split")), (13, passThrough)),
        "ReduceSum": ONNXOpHandler((1, attributeToInput("axes")), (13, passThrough)),
        "ReduceMean": ONNXOpHandler((1, attributeToInput("axes")), (18, passThrough)),
        "ReduceMax": ONNXOpHandler((1, attributeToInput("axes")), (18, passThrough)),
        "ReduceMin": ONNXOpHandler((1, attributeToInput("axes")), (18, passThrough)),
        "ReduceProd": ONNXOpHandler((1, attributeToInput("axes")), (18, passThrough)),

        // Defaults and forms that changed.
        "Concat": ONNXOpHandler((1, concatDefaultAxis), (4, passThrough)),
        "Gemm": ONNXOpHandler((1, removing("broadcast")), (7, passThrough)),
        "Tile": ONNXOpHandler((1, unsupported), (6, passThrough)),
        "Resize": ONNXOpHandler((10, resize10), (11, passThrough)),
        "Upsample": ONNXOpHandler((7, upsample)),
        "Scatter": ONNXOpHandler((9, renamed("ScatterElements"))),

        // Broadcasting: explicit (`broadcast`, `axis`) before 7, NumPy-style from 7.
        "Add": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Sub": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Mul": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Div": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Pow": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Equal": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Less": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Greater": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "And": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Or": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
        "Xor": ONNXOpHandler((1, legacyBroadcast), (7, passThrough)),
    ]

    /// The node as it is: same op, inputs, outputs and (translated) attributes.
    static let passThrough: ONNXConverter = { ctx, b in b.add(ctx.node()) }

    /// A form Ascent does not express (e.g. Tile-1's `tiles`/`axis` inputs).
    static let unsupported: ONNXConverter = { ctx, b in b.add(ctx.unsupported()) }

    /// The node without the given attributes (ones that mean nothing in the IR's semantics).
    static func removing(_ names: String...) -> ONNXConverter {
        { ctx, b in b.add(ctx.node(attributes: ctx.attributes.filter { !names.contains($0.key) })) }
    }

    /// How a node of `domain` converts for a model of the given opsets: the handler's converter,
    /// ``passThrough`` for other IR ops, or nil when Ascent has no such op.
    static func converter(op: String, domain: String, opset: Int) -> ONNXConverter? {
        guard domain.isEmpty || domain == "ai.onnx" else { return nil }
        if let handler = table[op] { return handler.converter(opset: opset) }
        guard op != Node.unsupportedOp, OpRegistry.definition(op) != nil else { return nil }
        return passThrough
    }
}
