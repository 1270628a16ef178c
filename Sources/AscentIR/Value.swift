/// What kind of value a graph value is: a tensor, a sequence of tensors (ONNX `sequence_type`), or
/// an optional of either (ONNX `optional_type`), which may hold nothing.
public enum ValueKind: String, Hashable, Sendable, Codable {
    case tensor
    case sequence
    case optionalTensor = "optional"
    case optionalSequence = "optional-sequence"

    /// True for the optional kinds.
    public var isOptional: Bool { self == .optionalTensor || self == .optionalSequence }
    /// True for a sequence, optional or not.
    public var isSequence: Bool { self == .sequence || self == .optionalSequence }
    /// The kind an optional holds (`self` when not optional).
    public var unwrapped: ValueKind { self == .optionalTensor ? .tensor : self == .optionalSequence ? .sequence : self }
    /// The optional of this kind (`self` when already optional).
    public var wrapped: ValueKind { self == .tensor ? .optionalTensor : self == .sequence ? .optionalSequence : self }
}

/// The static type of a value in a graph: element type, shape (possibly partly symbolic,
/// or unknown) and a layout tag where one is known; for a sequence or optional value (``kind``),
/// the type of its tensors (a sequence's elements may differ in size: unknown sizes then).
public struct ValueType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    /// nil when even the rank is unknown.
    public var shape: Shape?
    public var layout: Layout?
    public var kind: ValueKind

    public init(_ dtype: DType, _ shape: Shape?, layout: Layout? = nil, kind: ValueKind = .tensor) {
        self.dtype = dtype
        self.shape = shape
        self.layout = layout
        self.kind = kind
    }

    /// The type of the tensors this value holds (itself for a tensor).
    public var tensorType: ValueType { ValueType(dtype, shape, layout: layout) }

    /// This type with another kind.
    public func with(kind: ValueKind) -> ValueType { ValueType(dtype, shape, layout: layout, kind: kind) }

    /// True for a plain tensor.
    public var isTensor: Bool { kind == .tensor }

    /// `float32[N,8,8,1] NHWC`, `int64[?]` for an unknown shape, `seq(float32[?,3])`,
    /// `optional(float32[2])`, `optional(seq(int64[?]))`.
    public var description: String {
        var s = dtype.rawValue + (shape?.description ?? "[?]")
        if let layout { s += " " + layout.rawValue }
        switch kind {
        case .tensor: return s
        case .sequence: return "seq(\(s))"
        case .optionalTensor: return "optional(\(s))"
        case .optionalSequence: return "optional(seq(\(s)))"
        }
    }
}

/// A named value declared by a graph: a graph input or output, or an annotated intermediate.
public struct ValueInfo: Hashable, Sendable {
    public var name: String
    public var type: ValueType

    public init(name: String, type: ValueType) {
        self.name = name
        self.type = type
    }
}

/// A value as it is fed to, flows through and comes out of a graph: a tensor, a sequence of tensors,
/// or an optional holding nothing (an optional holding a value is that value).
public enum GraphValue: Sendable {
    case tensor(Tensor)
    case sequence([Tensor])
    case none

    /// The tensor, when this is one.
    public var tensor: Tensor? { if case .tensor(let t) = self { t } else { nil } }
    /// The tensors of a sequence, when this is one.
    public var sequence: [Tensor]? { if case .sequence(let s) = self { s } else { nil } }

    /// `float32[2,3]`, `seq(3 × float32[2])`, `none`.
    public var summary: String {
        switch self {
        case .tensor(let t): return t.dtype.rawValue + Shape(t.shape).description
        case .sequence(let s): return "seq(\(s.count) tensors)"
        case .none: return "none"
        }
    }

    /// True when this value can be of `kind`.
    public func fits(_ kind: ValueKind) -> Bool {
        switch self {
        case .tensor: return kind == .tensor || kind == .optionalTensor
        case .sequence: return kind.isSequence
        case .none: return kind.isOptional
        }
    }
}

extension ValueType {
    /// The dtype and kind of a type's text as ``description`` writes it (`float32[2,3]`,
    /// `seq(float32[?])`, `optional(seq(int64[?]))`); the shape is not read (nil). nil when the
    /// text is not such a type.
    public init?(parsing text: String) {
        var body = Substring(text)
        var wrappers: [String] = []
        while let open = body.firstIndex(of: "("), body.hasSuffix(")") {
            wrappers.append(String(body[..<open]))
            body = body[body.index(after: open)..<body.index(before: body.endIndex)]
        }
        let kind: ValueKind
        switch wrappers {
        case []: kind = .tensor
        case ["seq"]: kind = .sequence
        case ["optional"]: kind = .optionalTensor
        case ["optional", "seq"]: kind = .optionalSequence
        default: return nil
        }
        let name = body.prefix { $0 != "[" && $0 != " " }
        guard let dtype = DType(rawValue: String(name)) else { return nil }
        self.init(dtype, nil, kind: kind)
    }
}
