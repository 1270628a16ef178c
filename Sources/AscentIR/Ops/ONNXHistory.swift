/// An op's life in the ONNX standard: the opset versions at which its definition changed, and how
/// the forms of older versions differ from the IR's (which follows the latest version). The ONNX
/// importer reads older forms into the IR's with it, and the exporter writes the IR's form back
/// at any opset with it.
public struct ONNXHistory: Sendable {
    /// The `since_version`s of the op's ai.onnx schemas, ascending (from the pinned onnx release).
    public let versions: [Int]
    /// What older versions wrote differently.
    public let changes: [ONNXChange]

    public init(_ versions: [Int], changes: [ONNXChange] = []) {
        self.versions = versions.sorted()
        self.changes = changes
    }

    /// The version of the op an opset holds: the newest `since` ≤ `opset`, or nil before the op existed.
    public func version(atOpset opset: Int) -> Int? { versions.last { $0 <= opset } }

    /// The first opset with the op.
    public var introduced: Int { versions.first ?? 1 }
}

/// One way an older ONNX version of an op differs from the IR's form.
public enum ONNXChange: Sendable {
    /// Before opset `until`, input `input` was the attribute `attribute` (axes, pads, shape...).
    case inputWasAttribute(input: Int, attribute: String, until: Int)
    /// The attribute exists from opset `since`; older versions cannot express a value other than
    /// the default (export refuses it then).
    case attributeAdded(String, since: Int)
    /// Input `input` exists from opset `since` (older versions cannot have it).
    case inputAdded(Int, since: Int)
    /// Older versions meant something else in a way a named conversion of the ONNX module
    /// translates (legacy broadcasting, Softmax's 2-D coercion...).
    case conversion(ONNXConversion, until: Int)
}

/// The named conversions the ONNX module implements for changes no table entry can describe.
public enum ONNXConversion: String, Sendable {
    /// Binary ops before 7: explicit `broadcast`/`axis` attributes instead of NumPy broadcasting.
    case legacyBroadcast
    /// Softmax, LogSoftmax, Hardmax before 13: the input coerced to 2-D at `axis`.
    case flattenedSoftmax
    /// Slice before 10: `starts`, `ends`, `axes` attributes.
    case sliceAttributes
    /// Clip before 11: `min`, `max` attributes.
    case clipAttributes
    /// Pad before 11: `pads` and `value` attributes (and `paddings` in version 1).
    case padAttributes
    /// Resize 10: `scales` as input 1, no `roi`.
    case resize10
    /// Concat before 4: `axis` defaulted to 1.
    case concatDefaultAxis
    /// BatchNormalization before 9 (`spatial`, `is_test`, consumed outputs).
    case batchNormalizationLegacy
    /// Dropout: an identity at inference, any version.
    case dropout
    /// Split before 13 (`split` attribute) and from 18 (`num_outputs`).
    case splitForms
    /// TopK before 10: `k` attribute.
    case topKAttribute
    /// Gemm before 7: `broadcast` attribute.
    case gemmBroadcast
    /// Tile-1: `tiles` and `axis` inputs.
    case tile1
    /// Scan-8: a batch axis and a `sequence_lens` input.
    case scan8
}
