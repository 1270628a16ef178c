/// One dimension of a value's shape: a known size, a named symbol (`batch`, `N`, `unk__3`), a size
/// computed from symbols (`2*S`, `(H+1)/2`), or nothing known.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case known(Int)
    case symbol(String)
    /// A size written in symbols; never a lone symbol or a constant (those are `.symbol`/`.known`).
    case expression(SymbolicSize)
    /// A dimension nothing is known about (printed `?`).
    case unknown

    /// The dimension for a symbolic size, in its simplest case.
    public init(_ size: SymbolicSize) {
        if let c = size.constant { self = .known(c) } else if let s = size.symbol { self = .symbol(s) } else { self = .expression(size) }
    }

    /// The size when known.
    public var value: Int? {
        if case .known(let v) = self { return v }
        return nil
    }

    /// The size as a polynomial, or nil when unknown.
    public var symbolic: SymbolicSize? {
        switch self {
        case .known(let v): return SymbolicSize(v)
        case .symbol(let s): return SymbolicSize(symbol: s)
        case .expression(let e): return e
        case .unknown: return nil
        }
    }

    /// True for a symbol or an expression of symbols.
    public var isSymbolic: Bool {
        switch self {
        case .symbol, .expression: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .known(let v): return String(v)
        case .symbol(let s): return s
        case .expression(let e): return e.description
        case .unknown: return "?"
        }
    }

    /// `a + b` (unknown when either is, or on overflow).
    public static func + (a: Dim, b: Dim) -> Dim { combine(a, b, +) }
    /// `a - b`.
    public static func - (a: Dim, b: Dim) -> Dim { combine(a, b, -) }
    /// `a × b`.
    public static func * (a: Dim, b: Dim) -> Dim {
        if a == .known(0) || b == .known(0) { return .known(0) }
        return combine(a, b, *)
    }

    /// `floor(a / divisor)` for a positive divisor.
    public func floorDivided(by divisor: Int) -> Dim {
        guard let s = symbolic, let q = s.floorDivided(by: divisor) else { return .unknown }
        return Dim(q)
    }

    /// `a / b` when it divides exactly (a constant or monomial divisor), else unknown.
    public func dividedExactly(by b: Dim) -> Dim {
        guard let x = symbolic, let y = b.symbolic, let q = x.dividedExactly(by: y) else { return .unknown }
        return Dim(q)
    }

    /// The size for concrete symbol values, or nil.
    public func evaluate(_ values: [String: Int]) -> Int? { symbolic?.evaluate(values) }

    private static func combine(_ a: Dim, _ b: Dim, _ f: (SymbolicSize, SymbolicSize) -> SymbolicSize?) -> Dim {
        guard let x = a.symbolic, let y = b.symbolic, let r = f(x, y) else { return .unknown }
        return Dim(r)
    }

    /// The product of `dims` (1 for none).
    public static func product<S: Sequence>(_ dims: S) -> Dim where S.Element == Dim {
        dims.reduce(Dim.known(1), *)
    }
}

extension Dim: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) { self = .known(value) }
    public init(stringLiteral value: String) { self = .symbol(value) }
}

/// The shape of a value: a list of dimensions, some possibly symbolic.
///
/// A rank-0 shape (`[]`) is a scalar.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Dim]

    public init(_ dims: [Dim]) { self.dims = dims }
    public init(_ sizes: [Int]) { self.dims = sizes.map(Dim.known) }
    public init(arrayLiteral elements: Dim...) { self.dims = elements }

    public var rank: Int { dims.count }

    /// The sizes when every dimension is known.
    public var concrete: [Int]? {
        var out: [Int] = []
        out.reserveCapacity(dims.count)
        for d in dims {
            guard let v = d.value else { return nil }
            out.append(v)
        }
        return out
    }

    /// The number of elements when every dimension is known and the product does not overflow.
    public var elementCount: Int? {
        guard let sizes = concrete else { return nil }
        return Shape.product(sizes)
    }

    /// `[N,8,8,1]`.
    public var description: String { "[" + dims.map(\.description).joined(separator: ",") + "]" }

    /// The product of `sizes`, or nil when a size is negative or the product overflows `Int`.
    public static func product(_ sizes: [Int]) -> Int? {
        var n = 1
        for s in sizes {
            guard s >= 0 else { return nil }
            let (r, overflow) = n.multipliedReportingOverflow(by: s)
            if overflow { return nil }
            n = r
        }
        return n
    }
}

/// A memory layout tag for image-like values: where the channel (feature) axis is.
///
/// Keras values are channels-last (`NHWC`, `NWC`, `NDHWC`), ONNX values channels-first.
public enum Layout: String, Hashable, Sendable, CaseIterable, Codable {
    case nc = "NC"
    case nwc = "NWC", ncw = "NCW"
    case nhwc = "NHWC", nchw = "NCHW"
    case ndhwc = "NDHWC", ncdhw = "NCDHW"

    /// The rank of values with this layout.
    public var rank: Int { rawValue.count }

    /// The index of the channel axis.
    public var channelAxis: Int {
        rawValue.firstIndex(of: "C").map { rawValue.distance(from: rawValue.startIndex, to: $0) }!
    }

    /// True when channels come last.
    public var isChannelsLast: Bool { channelAxis == rank - 1 }
}
