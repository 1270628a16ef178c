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
        default: return x == y ? x : .unknown
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

    /// The product of `dims`: exact (throwing on overflow, as for hostile sizes) when all are
    /// known, else symbolic.
    public static func product<S: Sequence>(_ dims: S) throws -> Dim where S.Element == Dim {
        var known = 1
        var symbolic: [Dim] = []
        for d in dims {
            if let v = d.value { known = try multiply(known, v) } else { symbolic.append(d) }
        }
        return symbolic.isEmpty ? .known(known) : Dim.product(symbolic) * .known(known)
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

    /// Normalizes `axes` (negative counts from the end) for `rank`; throws on out-of-range or repeated axes.
    public static func normalizedAxes(_ axes: [Int], rank: Int) throws -> [Int] {
        var out: [Int] = []
        for a in axes {
            let n = try axis(a, rank: rank)
            guard !out.contains(n) else { throw AscentError.invalid("axis \(a) is repeated in \(axes)") }
            out.append(n)
        }
        return out
    }

    /// The reduced axes (normalized, sorted) for `rank`, from the given list: nil or empty means
    /// all axes, or none when `noopWithEmptyAxes`.
    public static func reducedAxes(_ axes: [Int]?, rank: Int, noopWithEmptyAxes: Bool) throws -> [Int] {
        guard let axes, !axes.isEmpty else { return noopWithEmptyAxes ? [] : Array(0..<rank) }
        return try normalizedAxes(axes, rank: rank).sorted()
    }

    /// The inverse of a permutation.
    public static func inverse(_ perm: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() where p >= 0 && p < perm.count { out[p] = i }
        return out
    }

    /// ONNX `Slice` along one axis of `size` elements: clamps `start`/`end` as the spec says
    /// (negative values count from the end; with a negative `step`, `start` clamps to
    /// `[0, size-1]` and `end` to `[-1, size-1]`) and returns the first index and the number of elements taken.
    public static func sliceRange(start: Int, end: Int, step: Int, size: Int) -> (first: Int, count: Int) {
        precondition(step != 0, "slice step 0")
        var s = start < 0 ? start &+ size : start
        var e = end < 0 ? end &+ size : end
        if step > 0 {
            s = min(max(s, 0), size)
            e = min(max(e, 0), size)
            return (s, e > s ? (e - s + step - 1) / step : 0)
        }
        let back = step == Int.min ? Int.max : -step
        s = min(max(s, 0), size - 1)
        e = min(max(e, -1), size - 1)
        return (s, s > e ? (s - e + back - 1) / back : 0)
    }

    /// The sizes `Split` gives along an axis of `size` when no split input is given:
    /// `parts` near-equal chunks, the last one smaller when `size` does not divide evenly.
    public static func equalSplit(size: Int, parts: Int) -> [Int] {
        guard parts > 0 else { return [] }
        let chunk = (size + parts - 1) / parts
        return (0..<parts).map { max(0, min(chunk, size - $0 * chunk)) }
    }

    /// The number of elements of `Range(start, limit, delta)`: `max(ceil((limit - start) / delta), 0)`.
    public static func rangeCount(start: Double, limit: Double, delta: Double) -> Int? {
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else { return nil }
        let n = ((limit - start) / delta).rounded(.up)
        guard n < 1e15 else { return nil }
        return max(Int(n), 0)
    }

    /// `rangeCount` for integers, exact.
    public static func rangeCount(start: Int64, limit: Int64, delta: Int64) -> Int? {
        guard delta != 0 else { return nil }
        let span = Double(limit) - Double(start)
        guard abs(span) < 9e18, abs(span / Double(delta)) < 1e15 else { return nil }
        let (d, step) = (limit &- start, delta)
        let n = step > 0 ? (d + step - 1) / step : (d + step + 1) / step
        return max(Int(n), 0)
    }
}
