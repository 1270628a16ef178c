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

/// The ONNX importer's handlers, derived from the op definitions: an ai.onnx node of an op the IR
/// defines passes through as it is, unless its opset predates a change of the op's ONNX history
/// (``ONNXHistory/changes``): an attribute that later became an input is moved to that input, and a
/// named conversion (legacy broadcasting, Softmax's 2-D coercion, Slice/Clip/Pad attributes...)
/// rewrites the node into the IR's form. A few ops need a handler at every version (Constant's value
/// forms, Cast's type names, BatchNormalization's legacy attributes), and a few ONNX ops the IR
/// writes differently are aliases (Dropout is an identity, Upsample a Resize, Scatter a
/// ScatterElements). The conversions themselves are in `ONNXOpsetConversions.swift`.
enum ONNXOps {
    /// ONNX ops the IR does not define under their own name.
    static let aliases: [String: ONNXOpHandler] = [
        "Dropout": ONNXOpHandler((1, dropout)),
        "Upsample": ONNXOpHandler((7, upsample)),
        "Scatter": ONNXOpHandler((9, renamed(OpDefinition.scatterElements.name))),
    ]

    /// onnxruntime's contrib ops (`com.microsoft`) that are ai.onnx ops under the same name and
    /// meaning (Gelu in its exact form; the QDQ pair the quantizer writes for 16-bit types).
    static let microsoftAliases: Set<String> = [
        OpDefinition.gelu.name, OpDefinition.quantizeLinear.name, OpDefinition.dequantizeLinear.name,
    ]

    /// How a `com.microsoft` node converts: as the contrib op the IR defines (by decomposition), or
    /// as the ai.onnx op it aliases; nil for other contrib ops.
    static func microsoft(_ op: String) -> ONNXConverter? {
        if microsoftAliases.contains(op) { return passThrough }
        guard let definition = OpRegistry.definition(op), definition.domain == OpDefinition.microsoftDomain else { return nil }
        return passThrough
    }

    /// IR ops whose ONNX nodes need translating at every version.
    static let everyVersion: [String: ONNXConverter] = [
        OpDefinition.constant.name: constant,
        OpDefinition.cast.name: cast,
        OpDefinition.batchNormalization.name: batchNormalization,
    ]

    /// The node as it is.
    static let passThrough: ONNXConverter = { ctx, b in b.add(ctx.node()) }

    /// A form Ascent does not express (e.g. Tile-1's `tiles`/`axis` inputs).
    static let unsupported: ONNXConverter = { ctx, b in b.add(ctx.unsupported()) }

    /// The node without the given attributes (ones that mean nothing in the IR's semantics).
    static func removing(_ names: String...) -> ONNXConverter {
        { ctx, b in b.add(ctx.node(attributes: ctx.attributes.filter { !names.contains($0.key) })) }
    }

    /// The importer side of a named conversion.
    static func converter(_ conversion: ONNXConversion) -> ONNXConverter {
        switch conversion {
        case .legacyBroadcast: return legacyBroadcast
        case .flattenedSoftmax: return flattenedSoftmax
        case .sliceAttributes: return sliceAttributes
        case .clipAttributes: return clipAttributes
        case .padAttributes: return padAttributes
        case .resize10: return resize10
        case .concatDefaultAxis: return concatDefaultAxis
        case .batchNormalizationLegacy: return batchNormalization
        case .dropout: return dropout
        case .splitForms: return attributeToInput("split")
        case .topKAttribute: return passThrough  // the IR's TopK reads a `k` attribute too
        case .gemmBroadcast: return removing("broadcast")
        case .tile1: return unsupported
        }
    }

    /// How a node of `domain` converts for a model of the given opset, or nil when Ascent has no
    /// such op.
    static func converter(op: String, domain: String, opset: Int) -> ONNXConverter? {
        if domain == OpDefinition.microsoftDomain { return microsoft(op) }
        guard domain.isEmpty || domain == "ai.onnx" else { return nil }
        if let handler = aliases[op] { return handler.converter(opset: opset) }
        guard let definition = OpRegistry.definition(op), !definition.isInternal, let history = definition.onnx else { return nil }
        if let converter = everyVersion[op] { return converter }
        for change in history.changes {
            switch change {
            case let .conversion(conversion, until) where opset < until: return converter(conversion)
            case let .inputWasAttribute(_, attribute, until) where opset < until: return attributeToInput(attribute)
            default: continue
            }
        }
        return passThrough
    }
}
