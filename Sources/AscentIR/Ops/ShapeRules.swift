/// Shape arithmetic shared by the op families' shape rules.
public enum ShapeRules {
    /// NumPy/ONNX multidirectional broadcasting of two shapes.
    public static func broadcast(_ a: Shape, _ b: Shape) throws -> Shape {
        let rank = max(a.rank, b.rank)
        var dims: [Dim] = []
        dims.reserveCapacity(rank)
        for i in 0..<rank {
            let x = i - (rank - a.rank) >= 0 ? a.dims[i - (rank - a.rank)] : .known(1)
            let y = i - (rank - b.rank) >= 0 ? b.dims[i - (rank - b.rank)] : .known(1)
            dims.append(try broadcast(x, y, a, b))
        }
        return Shape(dims)
    }

    private static func broadcast(_ x: Dim, _ y: Dim, _ a: Shape, _ b: Shape) throws -> Dim {
        switch (x, y) {
        case (.known(1), _): return y
        case (_, .known(1)): return x
        case let (.known(p), .known(q)):
            if p == q { return x }
            throw AscentError.invalid("shapes \(a) and \(b) do not broadcast")
        case (.known, _): return x
        case (_, .known): return y
        case let (.symbol(p), .symbol(q)) where p == q: return x
        default: return .unknown
        }
    }

    /// Normalizes a possibly negative `axis` for `rank`; throws when out of range.
    public static func axis(_ axis: Int, rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else {
            throw AscentError.invalid("axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    /// `a + b`, or an error when the sum overflows (hostile attribute values).
    public static func add(_ a: Int, _ b: Int) throws -> Int {
        let (r, o) = a.addingReportingOverflow(b)
        guard !o else { throw AscentError.invalid("a size overflows (\(a) + \(b))") }
        return r
    }

    /// `a × b`, or an error when the product overflows.
    public static func multiply(_ a: Int, _ b: Int) throws -> Int {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        guard !o else { throw AscentError.invalid("a size overflows (\(a) × \(b))") }
        return r
    }

    /// Output size of a sliding window (convolution or pooling) along one axis.
    ///
    /// `out = floor((in + padBegin + padEnd - dilation*(kernel-1) - 1) / stride) + 1`
    /// (ceil instead of floor with `ceilMode`).
    public static func windowOutput(_ size: Dim, kernel: Int, stride: Int, dilation: Int,
                                    padBegin: Int, padEnd: Int, ceilMode: Bool = false) throws -> Dim {
        guard case .known(let n) = size else { return .unknown }
        let span = try add(multiply(dilation, kernel - 1), 1)
        let padded = try add(add(n, padBegin), padEnd) - span
        if padded < 0 { return .known(0) }
        let out = ceilMode ? padded / stride + (padded % stride == 0 ? 0 : 1) + 1 : padded / stride + 1
        if ceilMode, try multiply(out - 1, stride) >= add(n, padBegin) { return .known(out - 1) }
        return .known(out)
    }

    /// `SAME_UPPER`/`SAME_LOWER` output size: `ceil(in / stride)`.
    public static func sameOutput(_ size: Dim, stride: Int) -> Dim {
        guard case .known(let n) = size else { return .unknown }
        return .known((n + stride - 1) / stride)
    }
}
