/// A vector-Jacobian product: given a node and the cotangents of its outputs, emits IR
/// nodes computing the cotangents of its inputs, and returns their value names (nil for an
/// input that gets no gradient or was not asked for).
///
/// Rules write what the op means for one call; the engine (``GradientBuilder``) does the
/// bookkeeping: it unbroadcasts each returned cotangent to its input's shape, sums the
/// cotangents of values used several times, and prunes what the request does not need.
public typealias VJPRule = @Sendable (inout VJPContext) throws -> [String?]

/// What a ``VJPRule`` sees and the emitter it writes backward nodes with.
public struct VJPContext {
    public let node: Node
    /// Inferred types of every forward value (shapes may be symbolic).
    public let types: [String: ValueType]
    /// Cotangent value of each output (nil when nothing flows back into that output).
    public let cotangents: [String?]
    /// Which inputs need a cotangent.
    public let needed: [Bool]
    /// Values known before anything runs: initializers and `Constant` outputs.
    let constants: [String: Tensor]
    var emitter: GradientEmitter

    init(node: Node, types: [String: ValueType], cotangents: [String?], needed: [Bool],
         constants: [String: Tensor] = [:], emitter: GradientEmitter) {
        self.node = node
        self.types = types
        self.cotangents = cotangents
        self.needed = needed
        self.constants = constants
        self.emitter = emitter
    }

    /// Input `i`'s value name.
    public func input(_ i: Int) -> String { node.inputs[i] }
    /// Output `i`'s value name.
    public func output(_ i: Int) -> String { node.outputs[i] }
    /// True when input `i` needs a cotangent.
    public func needs(_ i: Int) -> Bool { i < needed.count && needed[i] }
    /// The cotangent of output 0 (rules for single-output ops).
    public var dy: String { cotangents[0]! }
    /// Rank of a forward value when known.
    public func rank(_ value: String) -> Int? { types[value]?.shape?.rank }

    /// Emits one backward node; returns its (single) output's value name.
    public mutating func emit(_ op: String, _ inputs: [String], _ attributes: [String: Attribute] = [:]) -> String {
        emitter.emit(op, inputs, attributes, forward: node.name)
    }

    /// Adds a float32 scalar constant.
    public mutating func scalar(_ value: Float) -> String {
        emitter.constant(Tensor(scalar: value), forward: node.name)
    }

    /// Adds an int64 vector constant (axes, shapes).
    public mutating func int64s(_ values: [Int]) -> String {
        emitter.constant(Tensor(shape: [values.count], scalars: values.map(Int64.init)), forward: node.name)
    }

    /// Input `i` read as integers when it is given and a constant (axes, repeats...), else nil.
    public func constantInts(_ i: Int) -> [Int]? {
        guard i < node.inputs.count, !node.inputs[i].isEmpty, let t = constants[node.inputs[i]], !t.dtype.isFloatingPoint else {
            return nil
        }
        return t.int64s().map { Int($0) }
    }

    /// A float32 zero tensor shaped like `value`.
    public mutating func zeros(like value: String) -> String {
        emit("ConstantOfShape", [emit("Shape", [value])], ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))])
    }

    /// The attribute `name` of the forward node.
    public func attribute(_ name: String) -> Attribute? { node.attributes[name] }

    /// An error naming the forward node.
    public func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("gradient of node \(node.label)")
    }
}

/// Collects the backward nodes and constants, with fresh value names.
final class GradientEmitter {
    var nodes: [Node] = []
    var constants: [String: Tensor] = [:]
    private var used: Set<String>
    private var counter = 0

    init(used: Set<String>) { self.used = used }

    func fresh(_ base: String) -> String {
        var name = base
        while used.contains(name) {
            counter += 1
            name = "\(base)_\(counter)"
        }
        used.insert(name)
        return name
    }

    func emit(_ op: String, _ inputs: [String], _ attributes: [String: Attribute], forward: String) -> String {
        let out = fresh("grad/\(forward)/\(op)")
        nodes.append(Node(name: "grad/\(forward)", op: op, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    func constant(_ tensor: Tensor, forward: String) -> String {
        let name = fresh("grad/\(forward)/const")
        constants[name] = tensor
        return name
    }
}
