/// One dimension of a value's shape: a known size or a named symbol (`batch`, `N`, `unk__3`).
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case known(Int)
    case symbol(String)
    /// A dimension nothing is known about (printed `?`).
    case unknown

    /// The size when known.
    public var value: Int? {
        if case .known(let v) = self { return v }
        return nil
    }

    public var description: String {
        switch self {
        case .known(let v): return String(v)
        case .symbol(let s): return s
        case .unknown: return "?"
        }
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
