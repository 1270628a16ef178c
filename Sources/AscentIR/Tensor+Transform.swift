extension Tensor {
    /// The tensor with its axes permuted: output axis `i` is input axis `perm[i]`.
    public func transposed(_ perm: [Int]) throws -> Tensor {
        let rank = shape.count
        guard perm.count == rank, Set(perm) == Set(0..<rank) else {
            throw AscentError.invalid("perm \(perm) is not a permutation of rank \(rank)")
        }
        let outShape = perm.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let strides = perm.map { inStrides[$0] }
        let size = dtype.byteSize
        var out = try Tensor(zeros: dtype, shape: outShape)
        let n = count
        withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                var index = [Int](repeating: 0, count: rank)
                var offset = 0
                for i in 0..<n {
                    (dst.baseAddress! + i * size).copyMemory(from: src.baseAddress! + offset * size, byteCount: size)
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        offset += strides[axis]
                        if index[axis] < outShape[axis] { break }
                        offset -= strides[axis] * outShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return out
    }
}
