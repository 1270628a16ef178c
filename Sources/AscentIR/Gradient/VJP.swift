/// A vector-Jacobian product: given a node and the cotangents of its outputs, writes backward
/// nodes computing the cotangents of its inputs and returns them (nil for an input that gets no
/// gradient or was not asked for).
///
/// Rules say what the op means for one call, as expressions over ``ValueRef``s
/// (`g.dy * (1 - g.y * g.y)`); the engine (``GradientBuilder``) does the bookkeeping: it
/// unbroadcasts each returned cotangent to its input's shape, sums the cotangents of values used
/// several times, and prunes what the request does not need.
public typealias VJPRule = @Sendable (VJPContext) throws -> [ValueRef?]

/// Writes an op with other ops (its outputs, in order). The context gives the node's inputs as
/// ``ValueRef``s of the builder the decomposition is written into.
public typealias Decomposition = @Sendable (OpContext) throws -> [ValueRef?]

/// What a decomposition sees: the node, its inputs and outputs as values of the builder, and its
/// types.
public class OpContext {
    public let node: Node
    public let builder: GraphBuilder

    public init(node: Node, builder: GraphBuilder) {
        self.node = node
        self.builder = builder
    }

    /// Input `i` (the node's own value).
    public func input(_ i: Int) -> ValueRef { builder.value(node.inputs[i]) }
    /// Input 0.
    public var x: ValueRef { input(0) }
    /// True when input `i` is given (listed and not omitted).
    public func has(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }
    /// The inputs that are given.
    public var inputCount: Int { node.inputs.count }

    /// The node's attributes decoded as `T`.
    public func attributes<T: OpAttributes>(_ type: T.Type) throws -> T { try T(node) }

    /// Rank of input `i` when known.
    public func rank(_ i: Int) -> Int? { builder.type(node.inputs[i])?.shape?.rank }
    /// Shape of input `i` when known.
    public func shape(_ i: Int) -> Shape? { builder.type(node.inputs[i])?.shape }
    /// Input `i` read as integers when it is given and a constant (axes, repeats...), else nil.
    public func constantInts(_ i: Int) -> [Int]? {
        guard has(i), let t = builder.constantValue(node.inputs[i]), t.dtype.isInteger else { return nil }
        return t.int64s().map { Int($0) }
    }

    /// A float32 scalar constant.
    public func scalar(_ v: Float) -> ValueRef { x.scalar(v) }
    /// A 1-D int64 constant.
    public func ints(_ v: [Int]) -> ValueRef { x.ints(v) }
    /// A node of `op` on `inputs`.
    public func emit(_ op: OpDefinition, _ inputs: [ValueRef], _ attributes: [String: Attribute] = [:]) -> ValueRef {
        builder.value(builder.emit(op, inputs.map(\.name), attributes))
    }
    /// A node of `op` on named inputs (`""` for an omitted one).
    public func emit(_ op: OpDefinition, names inputs: [String], _ attributes: [String: Attribute] = [:]) -> ValueRef {
        builder.value(builder.emit(op, inputs, attributes))
    }
    /// A float32 tensor of `value` shaped like `like`.
    public func filled(_ value: Float, like: ValueRef) -> ValueRef {
        emit(.constantOfShape, [like.shapeOf()], ["value": .tensor(Tensor(shape: [1], scalars: [value]))])
    }
    /// Zeros shaped like `like`.
    public func zeros(like: ValueRef) -> ValueRef { filled(0, like: like) }

    /// An error naming the node.
    public func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("node \(node.label)")
    }
}

/// What a ``VJPRule`` sees: the forward node, its values, the cotangents of its outputs and which
/// inputs need one.
public final class VJPContext: OpContext {
    /// Cotangent of each output (nil when nothing flows back into that output).
    public let cotangents: [ValueRef?]
    /// Which inputs need a cotangent.
    public let needed: [Bool]

    init(node: Node, builder: GraphBuilder, cotangents: [ValueRef?], needed: [Bool]) {
        self.cotangents = cotangents
        self.needed = needed
        super.init(node: node, builder: builder)
    }

    /// Output `i` (a forward value).
    public func output(_ i: Int) -> ValueRef { builder.value(node.outputs[i]) }
    /// Output 0.
    public var y: ValueRef { output(0) }
    /// The cotangent of output 0 (rules for single-output ops).
    public var dy: ValueRef { cotangents[0]! }
    /// True when input `i` needs a cotangent.
    public func needs(_ i: Int) -> Bool { i < needed.count && needed[i] }
    /// `make()` when input `i` needs a cotangent, else nil.
    public func when(_ i: Int, _ make: () throws -> ValueRef) rethrows -> ValueRef? { needs(i) ? try make() : nil }

    /// The error for an input whose gradient the rule does not support.
    public override func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("gradient of node \(node.label)")
    }
}
