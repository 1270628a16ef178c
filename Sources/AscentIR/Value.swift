/// The static type of a value in a graph: element type, shape (possibly partly symbolic,
/// or unknown) and a layout tag where one is known.
public struct ValueType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    /// nil when even the rank is unknown.
    public var shape: Shape?
    public var layout: Layout?

    public init(_ dtype: DType, _ shape: Shape?, layout: Layout? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.layout = layout
    }

    /// `float32[N,8,8,1] NHWC`, `int64[?]` for an unknown shape.
    public var description: String {
        var s = dtype.rawValue + (shape?.description ?? "[?]")
        if let layout { s += " " + layout.rawValue }
        return s
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
