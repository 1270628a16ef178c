/// A value of a graph being built, for writing new nodes as expressions: `dy * (1 - y * y)`
/// adds a `Mul`, a `Sub` and a `Mul` to the builder and names the result.
///
/// Real numbers in expressions become float32 scalar constants. Comparisons give booleans;
/// ``select(_:_:_:)`` is ONNX's `Where`.
public struct ValueRef: CustomStringConvertible {
    /// The value's name in the graph.
    public let name: String
    public let builder: GraphBuilder

    public init(_ name: String, _ builder: GraphBuilder) {
        self.name = name
        self.builder = builder
    }

    public var description: String { name }
    /// The value's type when known.
    public var type: ValueType? { builder.type(name) }
    public var shape: Shape? { type?.shape }
    public var rank: Int? { shape?.rank }

    /// A node of `op` with this value as input 0 and `others` after it.
    public func apply(_ op: OpDefinition, _ others: [ValueRef] = [], _ attributes: [String: Attribute] = [:]) -> ValueRef {
        builder.value(builder.emit(op, [name] + others.map(\.name), attributes))
    }

    /// A float32 scalar constant.
    public func scalar(_ v: Float) -> ValueRef { builder.value(builder.constant(scalar: v, name: constantName)) }
    /// A 1-D int64 constant.
    public func ints(_ v: [Int]) -> ValueRef { builder.value(builder.constant(ints: v, name: constantName)) }

    private var constantName: String { builder.nodeName.isEmpty ? "const" : "\(builder.nodeName)/const" }

    // MARK: Maps

    public func exp() -> ValueRef { apply(.exp) }
    public func log() -> ValueRef { apply(.log) }
    public func sqrt() -> ValueRef { apply(.sqrt) }
    public func reciprocal() -> ValueRef { apply(.reciprocal) }
    public func tanh() -> ValueRef { apply(.tanh) }
    public func sigmoid() -> ValueRef { apply(.sigmoid) }
    public func abs() -> ValueRef { apply(.abs) }
    public func sign() -> ValueRef { apply(.sign) }
    public func erf() -> ValueRef { apply(.erf) }
    public func sin() -> ValueRef { apply(.sin) }
    public func cos() -> ValueRef { apply(.cos) }
    public func softplus() -> ValueRef { apply(.softplus) }
    public func squared() -> ValueRef { self * self }
    /// `Cast` to `dtype`.
    public func cast(to dtype: DType) -> ValueRef { apply(.cast, [], ["to": .int(dtype.onnxCode)]) }

    // MARK: Shapes and movement

    /// `Shape(self)`.
    public func shapeOf() -> ValueRef { apply(.shape) }
    /// `Reshape(self, shape)`.
    public func reshaped(_ shape: ValueRef) -> ValueRef { apply(.reshape, [shape]) }
    /// `Reshape(self, Shape(like))`.
    public func reshaped(like: ValueRef) -> ValueRef { reshaped(like.shapeOf()) }
    /// `Expand(self, shape)`.
    public func expanded(_ shape: ValueRef) -> ValueRef { apply(.expand, [shape]) }
    public func transposed(_ perm: [Int]) -> ValueRef { apply(.transpose, [], ["perm": .ints(perm)]) }
    public func unsqueezed(_ axes: [Int]) -> ValueRef { apply(.unsqueeze, [ints(axes)]) }
    public func squeezed(_ axes: [Int]) -> ValueRef { apply(.squeeze, [ints(axes)]) }
    /// `Slice` along `axes`.
    public func sliced(starts: [Int], ends: [Int], axes: [Int]) -> ValueRef {
        apply(.slice, [ints(starts), ints(ends), ints(axes)])
    }
    /// Sums over the axes broadcasting added, down to `like`'s shape (the engine's unbroadcast).
    public func summed(to like: ValueRef) -> ValueRef { apply(.sumTo, [like]) }
    public func matmul(_ other: ValueRef) -> ValueRef { apply(.matMul, [other]) }

    // MARK: Reductions

    public func sum(axes: [Int], keepDims: Bool = true) -> ValueRef {
        apply(.reduceSum, [ints(axes)], ["keepdims": .int(keepDims ? 1 : 0)])
    }
    public func mean(axes: [Int], keepDims: Bool = true) -> ValueRef {
        apply(.reduceMean, [ints(axes)], ["keepdims": .int(keepDims ? 1 : 0)])
    }
}

// MARK: - Operators

public func + (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.add, [b]) }
public func - (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.sub, [b]) }
public func * (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.mul, [b]) }
public func / (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.div, [b]) }
public prefix func - (a: ValueRef) -> ValueRef { a.apply(.neg) }

public func + (a: ValueRef, b: Float) -> ValueRef { a + a.scalar(b) }
public func + (a: Float, b: ValueRef) -> ValueRef { b.scalar(a) + b }
public func - (a: ValueRef, b: Float) -> ValueRef { a - a.scalar(b) }
public func - (a: Float, b: ValueRef) -> ValueRef { b.scalar(a) - b }
public func * (a: ValueRef, b: Float) -> ValueRef { a * a.scalar(b) }
public func * (a: Float, b: ValueRef) -> ValueRef { b.scalar(a) * b }
public func / (a: ValueRef, b: Float) -> ValueRef { a / a.scalar(b) }
public func / (a: Float, b: ValueRef) -> ValueRef { b.scalar(a) / b }

public func > (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.greater, [b]) }
public func < (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.less, [b]) }
public func >= (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.greaterOrEqual, [b]) }
public func <= (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.lessOrEqual, [b]) }
public func > (a: ValueRef, b: Float) -> ValueRef { a > a.scalar(b) }
public func < (a: ValueRef, b: Float) -> ValueRef { a < a.scalar(b) }
public func >= (a: ValueRef, b: Float) -> ValueRef { a >= a.scalar(b) }
public func <= (a: ValueRef, b: Float) -> ValueRef { a <= a.scalar(b) }
/// Elementwise `And` of two booleans.
public func && (a: ValueRef, b: ValueRef) -> ValueRef { a.apply(.and, [b]) }

/// `Where(condition, a, b)`: `a` where the condition holds, else `b`.
public func select(_ condition: ValueRef, _ a: ValueRef, _ b: ValueRef) -> ValueRef {
    condition.apply(.where, [a, b])
}
public func select(_ condition: ValueRef, _ a: ValueRef, _ b: Float) -> ValueRef { select(condition, a, condition.scalar(b)) }
public func select(_ condition: ValueRef, _ a: Float, _ b: ValueRef) -> ValueRef { select(condition, condition.scalar(a), b) }
public func select(_ condition: ValueRef, _ a: Float, _ b: Float) -> ValueRef {
    select(condition, condition.scalar(a), condition.scalar(b))
}
