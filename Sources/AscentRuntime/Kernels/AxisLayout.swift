import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Index arithmetic the kernels share: a shape split around an axis, broadcast element offsets.

/// Splits `shape` around `axis` into (outer, size, inner) element counts.
func around(_ shape: [Int], axis: Int) -> (outer: Int, size: Int, inner: Int) {
    (product(shape[..<axis]), shape[axis], product(shape[(axis + 1)...]))
}

/// For each element of `output` (row-major), the offset of the element of an input of `shape`
/// that broadcasts to it.
func broadcastOffsets(_ shape: [Int], to output: [Int]) -> [Int] {
    let n = output.reduce(1, *)
    var out = [Int](repeating: 0, count: n)
    guard n > 0 else { return out }
    let loop = BroadcastLoop(output: output, inputs: [shape])
    let inner = loop.inner, s = loop.innerStride(0)
    loop.forEachRow(0..<loop.rows) { r, off in
        for i in 0..<inner { out[r * inner + i] = off[0] + i * s }
    }
    return out
}
