import AscentIR

/// A NumPy matmul of Double matrices (batch axes broadcast, 1-D operands promoted), for the
/// quantized products.
func batchedMatMul(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int]) throws -> (values: [Double], shape: [Int]) {
    guard !sa.isEmpty, !sb.isEmpty else { throw AscentError.invalid("MatMul of a scalar") }
    let left = sa.count == 1 ? [1] + sa : sa, right = sb.count == 1 ? sb + [1] : sb
    let m = left[left.count - 2], k = left[left.count - 1], n = right[right.count - 1]
    guard right[right.count - 2] == k else { throw AscentError.invalid("inner dimensions differ: \(Shape(sa)) × \(Shape(sb))") }
    let batch = try BroadcastLoop.shape([Array(left.dropLast(2)), Array(right.dropLast(2))])
    let batches = batch.reduce(1, *)
    let ia = broadcastOffsets(Array(left.dropLast(2)), to: batch), ib = broadcastOffsets(Array(right.dropLast(2)), to: batch)
    var out = [Double](repeating: 0, count: batches * m * n)
    for bi in 0..<batches {
        let ao = ia[bi] * m * k, bo = ib[bi] * k * n, oo = bi * m * n
        for i in 0..<m { for j in 0..<n {
            var acc = 0.0
            for t in 0..<k { acc += a[ao + i * k + t] * b[bo + t * n + j] }
            out[oo + i * n + j] = acc
        } }
    }
    var shape = batch
    if sa.count > 1 { shape.append(m) }
    if sb.count > 1 { shape.append(n) }
    return (out, shape)
}

/// A per-tensor quantization parameter (the first element; per-axis forms are refused).
private func scalarParameter(_ t: Tensor?, _ name: String) throws -> Double {
    guard let t else { return 0 }
    guard t.count == 1 else { throw AscentError.invalid("\(name) must be a scalar (per-axis quantization is not supported)") }
    return t.doubles()[0]
}

/// QLinearMatMul(a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point) with
/// per-tensor parameters: the float product requantized (ties to even, saturating) to y's type.
struct QLinearMatMulKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(3), zp = try inputs.type(7)
        guard a.dtype.isInteger, b.dtype.isInteger, zp.dtype.isInteger else { throw AscentError.invalid("QLinearMatMul needs integer inputs") }
        let left = a.rank == 1 ? [1] + a.shape : a.shape, right = b.rank == 1 ? b.shape + [1] : b.shape
        var shape = try BroadcastLoop.shape([Array(left.dropLast(2)), Array(right.dropLast(2))])
        if a.rank > 1 { shape.append(left[left.count - 2]) }
        if b.rank > 1 { shape.append(right[right.count - 1]) }
        return [TensorType(zp.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[3] else { throw AscentError.invalid("missing input") }
        let sa = try scalarParameter(inputs[1], "a_scale"), za = try scalarParameter(inputs[2], "a_zero_point")
        let sb = try scalarParameter(inputs[4], "b_scale"), zb = try scalarParameter(inputs[5], "b_zero_point")
        let sy = try scalarParameter(inputs[6], "y_scale"), zy = try scalarParameter(inputs[7], "y_zero_point")
        let (p, _) = try batchedMatMul(a.doubles().map { $0 - za }, a.shape, b.doubles().map { $0 - zb }, b.shape)
        let (lo, hi) = integerRange(outputs[0].dtype)
        let scale = Double(Float(sa) * Float(sb) / Float(sy))
        let q = p.map { Int64(min(max(($0 * scale).rounded(.toNearestOrEven) + zy, lo), hi)) }
        let y = context.allocate(outputs[0])
        storeIntegers(q, into: y)
        return [y]
    }
}

/// MatMulInteger(a, b, a_zero_point?, b_zero_point?): `(a − a_zp) · (b − b_zp)` in int32
/// (per-tensor zero points).
struct MatMulIntegerKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype.isInteger, b.dtype.isInteger else { throw AscentError.invalid("MatMulInteger needs integer inputs") }
        let left = a.rank == 1 ? [1] + a.shape : a.shape, right = b.rank == 1 ? b.shape + [1] : b.shape
        var shape = try BroadcastLoop.shape([Array(left.dropLast(2)), Array(right.dropLast(2))])
        if a.rank > 1 { shape.append(left[left.count - 2]) }
        if b.rank > 1 { shape.append(right[right.count - 1]) }
        return [TensorType(.int32, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let za = try scalarParameter(inputs.count > 2 ? inputs[2] : nil, "a_zero_point")
        let zb = try scalarParameter(inputs.count > 3 ? inputs[3] : nil, "b_zero_point")
        let (p, _) = try batchedMatMul(a.doubles().map { $0 - za }, a.shape, b.doubles().map { $0 - zb }, b.shape)
        return [Tensor(shape: outputs[0].shape, scalars: p.map { Int32(truncatingIfNeeded: Int64($0)) })]
    }
}
