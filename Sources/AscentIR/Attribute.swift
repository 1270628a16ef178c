/// A typed node attribute. Integers are `Int` (64-bit), reals `Double`; `graph` is a nested graph
/// (the branches of `If`, the body of `Loop` and `Scan`).
public enum Attribute: Sendable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case string(String)
    case ints([Int])
    case floats([Double])
    case strings([String])
    case tensor(Tensor)
    case graph(Graph)

    public var int: Int? { if case .int(let v) = self { return v }; return nil }
    public var float: Double? {
        switch self {
        case .float(let v): return v
        case .int(let v): return Double(v)
        default: return nil
        }
    }
    public var string: String? { if case .string(let v) = self { return v }; return nil }
    public var ints: [Int]? { if case .ints(let v) = self { return v }; return nil }
    public var floats: [Double]? { if case .floats(let v) = self { return v }; return nil }
    public var strings: [String]? { if case .strings(let v) = self { return v }; return nil }
    public var tensor: Tensor? { if case .tensor(let v) = self { return v }; return nil }
    public var graph: Graph? { if case .graph(let v) = self { return v }; return nil }

    /// The kind name used by the printer and the `.ascent` JSON.
    public var kind: String {
        switch self {
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .ints: return "ints"
        case .floats: return "floats"
        case .strings: return "strings"
        case .tensor: return "tensor"
        case .graph: return "graph"
        }
    }

    /// Stable text: `3`, `0.5`, `"same"`, `[1,1]`, `float32[3]`.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v): return Attribute.format(v)
        case .string(let v): return Attribute.quote(v)
        case .ints(let v): return "[" + v.map(String.init).joined(separator: ",") + "]"
        case .floats(let v): return "[" + v.map(Attribute.format).joined(separator: ",") + "]"
        case .strings(let v): return "[" + v.map(Attribute.quote).joined(separator: ",") + "]"
        case .tensor(let t): return t.description
        case .graph(let g): return "graph \(Attribute.quote(g.name)) (\(g.nodes.count) nodes)"
        }
    }

    /// Shortest text that reads back as the same `Double`.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        return v.description
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}

extension Attribute: Equatable {
    public static func == (a: Attribute, b: Attribute) -> Bool {
        switch (a, b) {
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x.bitPattern == y.bitPattern
        case let (.string(x), .string(y)): return x == y
        case let (.ints(x), .ints(y)): return x == y
        case let (.floats(x), .floats(y)): return x.map(\.bitPattern) == y.map(\.bitPattern)
        case let (.strings(x), .strings(y)): return x == y
        case let (.tensor(x), .tensor(y)): return x.bitwiseEqual(y)
        case let (.graph(x), .graph(y)): return x == y
        default: return false
        }
    }
}
