/// What a shape rule sees: the node, its input types, the values of inputs that are constants,
/// and the symbolic values of small integer inputs (sizes computed from shapes, such as the
/// `[N, S*64]` a `Concat` of `Shape` slices builds).
///
/// The same rule serves `inspect` (symbolic sizes, few constants) and the planner (concrete sizes,
/// every folded value a constant); with concrete input sizes a rule must give concrete outputs.
public struct ShapeContext: Sendable {
    public let node: Node
    public let inputTypes: [ValueType?]
    public let constantInputs: [Tensor?]
    /// Symbolic values of integer inputs of rank ≤ 1 (nil where unknown).
    public let symbolicInputs: [[Dim]?]

    public init(node: Node, inputTypes: [ValueType?], constantInputs: [Tensor?], symbolicInputs: [[Dim]?] = []) {
        self.node = node
        self.inputTypes = inputTypes
        self.constantInputs = constantInputs
        self.symbolicInputs = symbolicInputs
    }

    /// The number of inputs the node lists (omitted optional ones included).
    public var inputCount: Int { node.inputs.count }
    /// The number of outputs the node lists.
    public var outputCount: Int { node.outputs.count }

    /// True when input `i` is given (listed and not omitted).
    public func has(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }

    /// The type of input `i`, or nil when the input is omitted or unknown.
    public func input(_ i: Int) -> ValueType? { i < inputTypes.count ? inputTypes[i] : nil }

    /// The shape of input `i` when known.
    public func shape(_ i: Int) -> Shape? { input(i)?.shape }

    /// The constant value of input `i` when known.
    public func constant(_ i: Int) -> Tensor? { i < constantInputs.count ? constantInputs[i] : nil }

    /// Input `i` read as integers when it is a constant integer tensor, else nil.
    public func ints(_ i: Int) -> [Int]? {
        guard let t = constant(i), t.dtype.isInteger else { return nil }
        return t.int64s().map { Int($0) }
    }

    /// Input `i` read as reals when it is a constant, else nil.
    public func doubles(_ i: Int) -> [Double]? { constant(i)?.doubles() }

    /// The elements of integer input `i` (rank ≤ 1) as sizes: exact from a constant, symbolic from
    /// shape arithmetic, nil when unknown.
    public func dims(_ i: Int) -> [Dim]? {
        if let v = ints(i), let t = constant(i), t.shape.count <= 1 { return v.map(Dim.known) }
        return i < symbolicInputs.count ? symbolicInputs[i] : nil
    }

    /// The node's attributes decoded as `T`, naming the node on failure.
    public func attributes<T: OpAttributes>(_ type: T.Type) throws -> T {
        do { return try T(node) } catch let e as AscentError { throw e.context.isEmpty ? e.within("node \(node.label)") : e }
    }

    /// One unknown (or rank-only) output type per node output, of `dtype`.
    public func unknownOutputs(_ dtype: DType?, rank: Int? = nil) -> [ValueType?] {
        node.outputs.map { _ in dtype.map { ValueType($0, rank.map { Shape(Array(repeating: Dim.unknown, count: $0)) }) } }
    }

    /// An inconsistency in this node.
    public func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("node \(node.label)")
    }

    // The raw attribute readers below serve rules not yet moved to typed attributes.

    public func int(_ name: String, default value: Int) throws -> Int {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.int else { throw mismatch(name, "int", a) }
        return v
    }
    public func float(_ name: String, default value: Double) throws -> Double {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.float else { throw mismatch(name, "float", a) }
        return v
    }
    public func string(_ name: String, default value: String) throws -> String {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.string else { throw mismatch(name, "string", a) }
        return v
    }
    public func ints(_ name: String) throws -> [Int]? {
        guard let a = node.attributes[name] else { return nil }
        guard let v = a.ints else { throw mismatch(name, "ints", a) }
        return v
    }

    private func mismatch(_ name: String, _ kind: String, _ a: Attribute) -> AscentError {
        error("attribute '\(name)' should be \(kind), is \(a.kind)")
    }
}

/// The former name of ``ShapeContext``.
public typealias InferenceContext = ShapeContext
