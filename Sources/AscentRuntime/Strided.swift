import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// NumPy broadcasting of several input shapes against one output shape, reduced to as few
/// dimensions as possible: the last (inner) dimension is a contiguous run of the output, and
/// each input steps by 0 (broadcast) or 1 along it.
///
/// `[N,H,W,C] + [C]` becomes rows of `C` with both inputs stepping 1; `[N,C,H,W] + [C,1,1]`
/// becomes `[N, C, HW]` with the second input constant along each row.
struct BroadcastLoop {
    /// Collapsed dims, outermost first; never empty.
    let dims: [Int]
    /// `strides[k][d]`: input `k`'s element stride along collapsed dim `d` (0 where broadcast).
    let strides: [[Int]]

    /// Elements per row (the inner dimension).
    var inner: Int { dims[dims.count - 1] }
    /// Number of rows (product of the outer dims).
    var rows: Int { dims.dropLast().reduce(1, *) }
    /// Input `k`'s step along a row: 0 or 1.
    func innerStride(_ k: Int) -> Int { strides[k][dims.count - 1] }

    /// The broadcast of `shapes` (NumPy rules). Throws when two sizes differ and neither is 1.
    static func shape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = Array(repeating: 1, count: rank)
        for s in shapes {
            for (i, d) in s.enumerated() {
                let j = i + rank - s.count
                if out[j] == 1 { out[j] = d } else if d != 1 && d != out[j] {
                    throw AscentError.invalid("shapes " + shapes.map { Shape($0).description }.joined(separator: " and ")
                                              + " do not broadcast")
                }
            }
        }
        return out
    }

    /// Plans the iteration of `output` (which every input broadcasts to).
    init(output: [Int], inputs: [[Int]]) {
        let rank = output.count
        let aligned: [[Int]] = inputs.map { Array(repeating: 1, count: rank - $0.count) + $0 }
        let full: [[Int]] = aligned.map { shape in
            let s = contiguousStrides(shape)
            return (0..<rank).map { shape[$0] == 1 ? 0 : s[$0] }
        }
        var dims: [Int] = []
        var strides: [[Int]] = Array(repeating: [], count: inputs.count)
        for d in 0..<rank where output[d] != 1 {
            if let last = dims.last,
               (0..<inputs.count).allSatisfy({ strides[$0][strides[$0].count - 1] == full[$0][d] * output[d] }) {
                dims[dims.count - 1] = last * output[d]
                for k in 0..<inputs.count { strides[k][strides[k].count - 1] = full[k][d] }
            } else {
                dims.append(output[d])
                for k in 0..<inputs.count { strides[k].append(full[k][d]) }
            }
        }
        if dims.isEmpty {
            dims = [output.contains(0) ? 0 : 1]
            strides = strides.map { _ in [0] }
        }
        self.dims = dims
        self.strides = strides
    }

    /// Calls `body(row, offsets)` for each row in `range`, where `offsets[k]` is input `k`'s
    /// element offset at the start of the row (the output's is `row * inner`).
    func forEachRow(_ range: Range<Int>, _ body: (Int, UnsafePointer<Int>) -> Void) {
        let outer = dims.count - 1
        let n = strides.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(outer, n, 1) + n) { buffer in
            guard let counter = buffer.baseAddress else { return }
            let offsets = counter + max(outer, n, 1)
            if outer == 1 {
                // One outer dimension (a tensor and a per-channel vector, channels last): the
                // offsets are multiples of the row (the outer strides kept in `counter`).
                for k in 0..<n { counter[k] = strides[k][0] }
                for row in range {
                    for k in 0..<n { offsets[k] = row * counter[k] }
                    body(row, UnsafePointer(offsets))
                }
                return
            }
            // Decompose the first row index into the outer counter and offsets.
            var r = range.lowerBound
            for k in 0..<n { offsets[k] = 0 }
            for d in stride(from: outer - 1, through: 0, by: -1) {
                counter[d] = r % dims[d]
                r /= dims[d]
                for k in 0..<n { offsets[k] += counter[d] * strides[k][d] }
            }
            strides.withUnsafeBufferPointer { allStrides in
                dims.withUnsafeBufferPointer { dimsBuffer in
                    for row in range {
                        body(row, UnsafePointer(offsets))
                        // Advance the counter, innermost outer dimension first.
                        var d = outer - 1
                        while d >= 0 {
                            counter[d] += 1
                            if counter[d] < dimsBuffer[d] {
                                for k in 0..<n { offsets[k] += allStrides[k][d] }
                                break
                            }
                            for k in 0..<n { offsets[k] -= (dimsBuffer[d] - 1) * allStrides[k][d] }
                            counter[d] = 0
                            d -= 1
                        }
                    }
                }
            }
        }
    }
}

/// Copies a strided view into a dense tensor: output element at index `(i0, i1, ...)` of
/// `shape` comes from source element `offset + Σ i_d · strides[d]` (strides may be 0 or negative).
///
/// Serves Transpose (permuted strides), Slice (offset, scaled strides), Expand (0 strides) and
/// Tile (a doubled-up shape with 0 strides).
struct StridedCopy {
    let dims: [Int]
    let strides: [Int]
    let offset: Int

    init(shape: [Int], strides: [Int], offset: Int) {
        var dims: [Int] = [], st: [Int] = []
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = dims.last, st[st.count - 1] == strides[d] * shape[d] {
                dims[dims.count - 1] = last * shape[d]
                st[st.count - 1] = strides[d]
            } else {
                dims.append(shape[d])
                st.append(strides[d])
            }
        }
        if dims.isEmpty {
            dims = [shape.contains(0) ? 0 : 1]
            st = [0]
        }
        self.dims = dims
        self.strides = st
        self.offset = offset
    }

    /// Copies from `source` into `destination` (dense, `shape`'s element count), element size `size` bytes.
    func run(source: UnsafeRawPointer, destination: UnsafeMutableRawPointer, elementSize size: Int,
             context: ExecutionContext) {
        let loop = BroadcastLoop(dims: dims, strides: [strides])
        let inner = dims[dims.count - 1], step = strides[strides.count - 1]
        let base = source + offset * size
        context.parallelFor(loop.rows, costPerItem: inner) { range in
            loop.forEachRow(range) { row, offsets in
                let src = base + offsets[0] * size
                let dst = destination + row * inner * size
                if step == 1 {
                    memcpy(dst, src, inner * size)
                    return
                }
                switch size {
                case 4: StridedCopy.copy(UInt32.self, src, step, dst, inner)
                case 8: StridedCopy.copy(UInt64.self, src, step, dst, inner)
                case 1: StridedCopy.copy(UInt8.self, src, step, dst, inner)
                case 2: StridedCopy.copy(UInt16.self, src, step, dst, inner)
                default:
                    for i in 0..<inner { memcpy(dst + i * size, src + i * step * size, size) }
                }
            }
        }
    }

    @inline(__always)
    private static func copy<T>(_: T.Type, _ src: UnsafeRawPointer, _ step: Int, _ dst: UnsafeMutableRawPointer, _ n: Int) {
        let s = src.assumingMemoryBound(to: T.self), d = dst.assumingMemoryBound(to: T.self)
        if step == 0 {
            let v = s[0]
            for i in 0..<n { d[i] = v }
        } else {
            for i in 0..<n { d[i] = s[i * step] }
        }
    }
}

extension BroadcastLoop {
    /// A loop over already-collapsed dims (used by ``StridedCopy``).
    init(dims: [Int], strides: [[Int]]) {
        self.dims = dims
        self.strides = strides
    }
}
