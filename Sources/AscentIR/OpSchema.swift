/// The definition of one op: its arity, its attributes and its shape rule.
///
/// Each op family defines its schemas in one file under `Ops/` (attributes, shape rule,
/// later the vector-Jacobian product); ``OpRegistry`` lists them all.
public struct OpSchema: Sendable {
    public let name: String
    /// Allowed number of inputs (trailing optional inputs may be omitted).
    public let inputs: ClosedRange<Int>
    /// Allowed number of outputs.
    public let outputs: ClosedRange<Int>
    /// The attributes the op reads, with their defaults.
    public let attributes: [AttributeSpec]
    /// Computes the output types from the input types and attributes.
    /// An output type of nil means "unknown"; throws on inconsistent inputs.
    public let infer: @Sendable (InferenceContext) throws -> [ValueType?]

    public init(_ name: String, inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1,
                attributes: [AttributeSpec] = [],
                infer: @escaping @Sendable (InferenceContext) throws -> [ValueType?]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.infer = infer
    }
}

/// One attribute an op reads: its name, kind and default (nil default = required).
public struct AttributeSpec: Sendable {
    public let name: String
    public let kind: String
    public let defaultValue: Attribute?
    public let required: Bool

    public static func optional(_ name: String, _ defaultValue: Attribute) -> AttributeSpec {
        AttributeSpec(name: name, kind: defaultValue.kind, defaultValue: defaultValue, required: false)
    }
    public static func optional(_ name: String, kind: String) -> AttributeSpec {
        AttributeSpec(name: name, kind: kind, defaultValue: nil, required: false)
    }
    public static func required(_ name: String, kind: String) -> AttributeSpec {
        AttributeSpec(name: name, kind: kind, defaultValue: nil, required: true)
    }
}

/// What a shape rule sees: the node, its input types, and the values of inputs that are
/// constants (initializers), for rules such as Reshape that read a shape tensor.
public struct InferenceContext: Sendable {
    public let node: Node
    public let inputTypes: [ValueType?]
    public let constantInputs: [Tensor?]

    public init(node: Node, inputTypes: [ValueType?], constantInputs: [Tensor?]) {
        self.node = node
        self.inputTypes = inputTypes
        self.constantInputs = constantInputs
    }

    /// The type of input `i`, or nil when the input is omitted or unknown.
    public func input(_ i: Int) -> ValueType? { i < inputTypes.count ? inputTypes[i] : nil }

    /// The shape of input `i` when known.
    public func shape(_ i: Int) -> Shape? { input(i)?.shape }

    /// The constant value of input `i` when it is an initializer.
    public func constant(_ i: Int) -> Tensor? { i < constantInputs.count ? constantInputs[i] : nil }

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

    /// An inconsistency in this node.
    public func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("node \(node.label)")
    }

    private func mismatch(_ name: String, _ kind: String, _ a: Attribute) -> AscentError {
        error("attribute '\(name)' should be \(kind), is \(a.kind)")
    }
}
