/// One attribute an op reads: its name, kind and default (nil default and not required: absent
/// means "not given", as for `strides`).
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

    public static func int(_ name: String, _ value: Int) -> AttributeSpec { .optional(name, .int(value)) }
    public static func float(_ name: String, _ value: Double) -> AttributeSpec { .optional(name, .float(value)) }
    public static func string(_ name: String, _ value: String) -> AttributeSpec { .optional(name, .string(value)) }
    public static func ints(_ name: String, _ value: [Int]) -> AttributeSpec { .optional(name, .ints(value)) }
}

/// The typed attributes of an op: decoded once from a node by ``init(_:)``, with the ONNX defaults
/// of ``specs`` filled in. Kernels, gradient rules, passes and the exporter read these structs,
/// never raw attributes with their defaults written again.
public protocol OpAttributes: Sendable {
    /// The attributes, their kinds and defaults.
    static var specs: [AttributeSpec] { get }
    /// Reads the attributes through a reader that knows ``specs``.
    init(_ reader: AttributeReader) throws
}

extension OpAttributes {
    /// Decodes `node`'s attributes. Throws naming the attribute when one has the wrong kind, a
    /// required one is missing, or a value is out of range.
    public init(_ node: Node) throws {
        try self.init(AttributeReader(node, specs: Self.specs))
    }

    /// Decodes `node`'s attributes only to check them.
    public static func decode(_ node: Node) throws { _ = try Self(node) }
}

/// Reads a node's attributes by name, filling in the defaults of the op's specification. An
/// attribute read without a spec is a programming error (reported as `.internal`).
public struct AttributeReader {
    public let node: Node
    private let specs: [AttributeSpec]

    public init(_ node: Node, specs: [AttributeSpec]) {
        self.node = node
        self.specs = specs
    }

    /// The attribute as given, or its default; nil when absent with no default.
    public func raw(_ name: String) throws -> Attribute? {
        guard let spec = specs.first(where: { $0.name == name }) else {
            throw AscentError(.internal, "attribute '\(name)' is read but not specified for \(node.op)")
        }
        if let a = node.attributes[name] { return a }
        if spec.required { throw AscentError.invalid("missing attribute '\(name)'") }
        return spec.defaultValue
    }

    /// True when the node gives the attribute itself (not the default).
    public func given(_ name: String) -> Bool { node.attributes[name] != nil }

    public func int(_ name: String) throws -> Int {
        guard let v = try optionalInt(name) else { throw missing(name) }
        return v
    }
    public func optionalInt(_ name: String) throws -> Int? {
        guard let a = try raw(name) else { return nil }
        guard let v = a.int else { throw mismatch(name, "int", a) }
        return v
    }
    public func bool(_ name: String) throws -> Bool { try int(name) != 0 }
    public func float(_ name: String) throws -> Float { Float(try double(name)) }
    public func double(_ name: String) throws -> Double {
        guard let v = try optionalDouble(name) else { throw missing(name) }
        return v
    }
    public func optionalDouble(_ name: String) throws -> Double? {
        guard let a = try raw(name) else { return nil }
        guard let v = a.float else { throw mismatch(name, "float", a) }
        return v
    }
    public func string(_ name: String) throws -> String {
        guard let v = try optionalString(name) else { throw missing(name) }
        return v
    }
    public func optionalString(_ name: String) throws -> String? {
        guard let a = try raw(name) else { return nil }
        guard let v = a.string else { throw mismatch(name, "string", a) }
        return v
    }
    /// An ints attribute (a single int reads as a one-element list).
    public func ints(_ name: String) throws -> [Int]? {
        guard let a = try raw(name) else { return nil }
        if let v = a.ints { return v }
        if let v = a.int { return [v] }
        throw mismatch(name, "ints", a)
    }
    public func floats(_ name: String) throws -> [Double]? {
        guard let a = try raw(name) else { return nil }
        if let v = a.floats { return v }
        if let v = a.float { return [v] }
        throw mismatch(name, "floats", a)
    }
    public func strings(_ name: String) throws -> [String]? {
        guard let a = try raw(name) else { return nil }
        if let v = a.strings { return v }
        if let v = a.string { return [v] }
        throw mismatch(name, "strings", a)
    }
    public func tensor(_ name: String) throws -> Tensor? {
        guard let a = try raw(name) else { return nil }
        guard let v = a.tensor else { throw mismatch(name, "tensor", a) }
        return v
    }
    /// A string attribute that must be one of `allowed`.
    public func choice(_ name: String, _ allowed: [String]) throws -> String {
        let v = try string(name)
        guard allowed.contains(v) else {
            throw AscentError.invalid("attribute '\(name)' is '\(v)', expected " + allowed.map { "'\($0)'" }.joined(separator: ", "))
        }
        return v
    }

    private func missing(_ name: String) -> AscentError { AscentError.invalid("missing attribute '\(name)'") }

    private func mismatch(_ name: String, _ kind: String, _ a: Attribute) -> AscentError {
        AscentError.invalid("attribute '\(name)' should be \(kind), is \(a.kind)")
    }
}

/// For ops without attributes.
public struct NoAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = []
    public init(_ reader: AttributeReader) throws {}
}
