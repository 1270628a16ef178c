/// Linear resampling of maps with any number of spatial axes, as `scipy.ndimage.zoom(order=1)`
/// does it (tf-keras-vis enlarges its CAMs and Score-CAM masks this way): output index `o` on an
/// axis of `n` → `m` samples reads input coordinate `o·(n−1)/(m−1)` (corners aligned), blending
/// the two neighbouring samples linearly; an axis of size 1 is repeated. Bilinear for 2-D maps.
public enum Resample {
    /// `values` (row-major, shape `from`) resampled to shape `to` (same rank).
    public static func linear(_ values: [Float], from: [Int], to: [Int]) -> [Float] {
        precondition(from.count == to.count && values.count == from.reduce(1, *))
        var current = values.map(Double.init)
        var shape = from
        for axis in 0..<from.count where from[axis] != to[axis] {
            let n = shape[axis], m = to[axis]
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            var out = [Double](repeating: 0, count: outer * m * inner)
            for o in 0..<m {
                let position = m > 1 && n > 1 ? Double(o) * Double(n - 1) / Double(m - 1) : 0
                let lo = min(Int(position), n - 1), hi = min(lo + 1, n - 1)
                let t = position - Double(lo)
                for a in 0..<outer {
                    let src = a * n * inner, dst = (a * m + o) * inner
                    for i in 0..<inner {
                        out[dst + i] = current[src + lo * inner + i] * (1 - t) + current[src + hi * inner + i] * t
                    }
                }
            }
            current = out
            shape[axis] = m
        }
        return current.map { Float($0) }
    }
}
