import AscentIR

// Kernels of the quantization ops (Ops/Quantization.swift): QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinearMatMul, MatMulInteger, ConvInteger.

/// The scale (and zero point) element of each input element: scalar, per-axis (1-D along `axis`)
/// or blocked (`block_size` elements along `axis` share one).
func quantizationIndex(_ shape: [Int], parameter: [Int], axis: Int, blockSize: Int) throws -> [Int] {
    let count = shape.reduce(1, *)
    if parameter.reduce(1, *) == 1 { return Array(repeating: 0, count: count) }
    let a = try ShapeRules.axis(axis, rank: shape.count)
    if parameter.count == 1 && blockSize == 0 {
        guard parameter[0] == shape[a] else { throw AscentError.invalid("scale \(Shape(parameter)) does not match axis \(a) of \(Shape(shape))") }
        let (_, size, inner) = around(shape, axis: a)
        return (0..<count).map { ($0 / inner) % size }
    }
    guard blockSize > 0, parameter.count == shape.count else { throw AscentError.invalid("scale \(Shape(parameter)) does not fit \(Shape(shape))") }
    let xs = contiguousStrides(shape), ps = contiguousStrides(parameter)
    return (0..<count).map { i in
        var rest = i, offset = 0
        for d in 0..<shape.count {
            var c = rest / xs[d]
            rest %= xs[d]
            if d == a { c /= blockSize }
            offset += min(c, parameter[d] - 1) * ps[d]
        }
        return offset
    }
}

/// The representable range of an integer dtype.
func integerRange(_ dtype: DType) -> (Double, Double) {
    switch dtype {
    case .uint8: return (0, 255)
    case .int8: return (-128, 127)
    case .int16: return (-32768, 32767)
    case .uint16: return (0, 65535)
    case .int32: return (Double(Int32.min), Double(Int32.max))
    case .uint32: return (0, Double(UInt32.max))
    case .uint64: return (0, 1.8e19)
    default: return (-9.2e18, 9.2e18)
    }
}

/// QuantizeLinear(x, y_scale, y_zero_point?): `saturate(round(x / scale) + zero_point)` (ties to
/// even), to the zero point's type (uint8 by default, or `output_dtype`).
struct QuantizeKernel: Kernel {
    let axis: Int, blockSize: Int, outputDType: DType?

    init(_ a: QuantizeAttributes) throws {
        axis = a.axis
        blockSize = a.blockSize
        if let t = a.outputDType, !t.isInteger { throw AscentError.invalid("output_dtype \(t.rawValue) is not an integer type") }
        outputDType = a.outputDType
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        let dtype = inputs.has(2) ? try inputs.type(2).dtype : (outputDType ?? .uint8)
        guard dtype.isInteger else { throw KernelError.dtype(dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let zp = inputs.count > 2 ? inputs[2] : nil
        let index = try quantizationIndex(x.shape, parameter: scale.shape, axis: axis, blockSize: blockSize)
        let s = scale.floats(), z = zp?.doubles(), v = x.floats()
        let (lo, hi) = integerRange(outputs[0].dtype)
        let q = (0..<v.count).map { i -> Int64 in
            // The quotient in float32, as the ONNX reference and onnxruntime divide: a quotient just
            // below a half in exact arithmetic may round to the half in float32, and then to even.
            let r = Double((v[i] / s[index[i]]).rounded(.toNearestOrEven)) + (z?[index[i]] ?? 0)
            return Int64(min(max(r, lo), hi))
        }
        let y = context.allocate(outputs[0])
        storeIntegers(q, into: y)
        return [y]
    }
}

/// DequantizeLinear(x, x_scale, x_zero_point?): `(x − zero_point) · scale` as float32.
struct DequantizeKernel: Kernel {
    let axis: Int, blockSize: Int

    init(_ a: QuantizeAttributes) {
        axis = a.axis
        blockSize = a.blockSize
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype.isInteger || x.dtype == .float32 else { throw KernelError.dtype(x.dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let zp = inputs.count > 2 ? inputs[2] : nil
        let index = try quantizationIndex(x.shape, parameter: scale.shape, axis: axis, blockSize: blockSize)
        let s = scale.floats(), z = zp?.doubles(), v = x.doubles()
        let y = (0..<v.count).map { i in Float(v[i] - (z?[index[i]] ?? 0)) * s[index[i]] }
        return [Tensor(shape: x.shape, scalars: y)]
    }
}

/// DynamicQuantizeLinear(x): uint8 `y`, float32 scale `(max(0,x) − min(0,x)) / 255` and uint8 zero point.
struct DynamicQuantizeKernel: Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let v = x.floats()
        let lo = min(0, v.min() ?? 0), hi = max(0, v.max() ?? 0)
        let scale: Float = (hi - lo) / 255
        let zp = scale == 0 ? 0 : min(max((0 - lo / scale).rounded(.toNearestOrEven), 0), 255)
        let y = v.map { UInt8(min(max((scale == 0 ? 0 : ($0 / scale).rounded(.toNearestOrEven)) + zp, 0), 255)) }
        return [Tensor(shape: x.shape, scalars: y), Tensor(scalar: scale), Tensor(scalar: UInt8(zp))]
    }
}

/// A NumPy matmul of Double matrices (batch axes broadcast, 1-D operands promoted), for the
/// quantized products.
func batchedMatMul(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int]) throws -> (values: [Double], shape: [Int]) {
    guard !sa.isEmpty, !sb.isEmpty else { throw AscentError.invalid("cannot multiply a scalar") }
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
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(3), zp = try inputs.type(7)
        guard a.dtype.isInteger, b.dtype.isInteger, zp.dtype.isInteger else { throw AscentError.invalid("needs integer inputs") }
        return nil
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
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype.isInteger, b.dtype.isInteger else { throw AscentError.invalid("needs integer inputs") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let za = try scalarParameter(inputs.count > 2 ? inputs[2] : nil, "a_zero_point")
        let zb = try scalarParameter(inputs.count > 3 ? inputs[3] : nil, "b_zero_point")
        let (p, _) = try batchedMatMul(a.doubles().map { $0 - za }, a.shape, b.doubles().map { $0 - zb }, b.shape)
        return [Tensor(shape: outputs[0].shape, scalars: p.map { Int32(truncatingIfNeeded: Int64($0)) })]
    }
}

/// ConvInteger(x, w, x_zero_point?, w_zero_point? (per tensor or per output channel)): an integer convolution over `[N, C, spatial...]`
/// with `[M, C/group, k...]` weights and Conv's attributes, accumulated in int32.
struct ConvIntegerKernel: Kernel {
    let window: Window, group: Int

    init(_ a: ConvAttributes) {
        window = a.window
        group = a.group
    }

    /// Per spatial axis: output size, begin padding, stride and dilation (the IR's window geometry).
    func geometry(_ x: TensorType, _ w: TensorType) throws -> (out: [Int], begin: [Int], s: [Int], d: [Int]) {
        guard x.rank >= 3, w.rank == x.rank, x.shape[1] == w.shape[1] * group, w.shape[0] % group == 0 else {
            throw AscentError.invalid("input \(x) and weights \(w) do not match")
        }
        let g = try window.spatialGeometry(input: Array(x.shape[2...]), kernel: Array(w.shape[2...]))
        return (g.output, g.padBegin, g.strides, g.dilations)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        guard x.dtype.isInteger, w.dtype.isInteger else { throw AscentError.invalid("needs integer inputs") }
        _ = try geometry(x, w)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let wt = inputs[1] else { throw AscentError.invalid("missing input") }
        let g = try geometry(xt.type, wt.type)
        let zx = inputs.count > 2 ? inputs[2].map { Int64($0.doubles().first ?? 0) } ?? 0 : 0
        // The weights' zero point: per tensor, or per output channel.
        let zw = (inputs.count > 3 ? inputs[3]?.doubles().map { Int64($0) } : nil) ?? [0]
        let perChannel = product(wt.shape[1...])
        let x = integerValues(xt).map { $0 - zx }
        let w = integerValues(wt).enumerated().map { $1 - (zw.count == 1 ? zw[0] : zw[min($0 / max(perChannel, 1), zw.count - 1)]) }
        let dims = Array(xt.shape[2...]), kernel = Array(wt.shape[2...]), n = dims.count
        let inSize = dims.reduce(1, *), outSize = g.out.reduce(1, *), kSize = kernel.reduce(1, *)
        let inStrides = contiguousStrides(dims), outStrides = contiguousStrides(g.out), kStrides = contiguousStrides(kernel)
        let c = xt.shape[1], m = wt.shape[0], cg = c / group, mg = m / group
        var y = [Int32](repeating: 0, count: outputs[0].count)
        for b in 0..<xt.shape[0] {
            for oc in 0..<m {
                let gi = oc / mg
                for o in 0..<outSize {
                    var acc: Int64 = 0
                    for ic in 0..<cg {
                        let xBase = (b * c + gi * cg + ic) * inSize, wBase = (oc * cg + ic) * kSize
                        for k in 0..<kSize {
                            var offset = 0, inside = true
                            for i in 0..<n {
                                let pos = ((o / outStrides[i]) % g.out[i]) * g.s[i] + ((k / kStrides[i]) % kernel[i]) * g.d[i] - g.begin[i]
                                if pos < 0 || pos >= dims[i] { inside = false; break }
                                offset += pos * inStrides[i]
                            }
                            // Padding holds the zero point, i.e. 0 after the shift.
                            if inside { acc += x[xBase + offset] * w[wBase + k] }
                        }
                    }
                    y[(b * m + oc) * outSize + o] = Int32(truncatingIfNeeded: acc)
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// `StraightThrough(x, y)` = `y` (the gradient graph gives it its meaning).
struct StraightThroughKernel: Kernel {
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let y = inputs[1] else { throw AscentError.invalid("missing input") }
        return [y]
    }
}

extension KernelRegistry {
    static let quantization: [(OpDefinition, KernelFactory)] = [
        (.quantizeLinear, { try QuantizeKernel(try QuantizeAttributes($0)) }),
        (.dequantizeLinear, { DequantizeKernel(try QuantizeAttributes($0)) }),
        (.dynamicQuantizeLinear, { _ in DynamicQuantizeKernel() }),
        (.qLinearMatMul, { _ in QLinearMatMulKernel() }),
        (.matMulInteger, { _ in MatMulIntegerKernel() }),
        (.convInteger, { ConvIntegerKernel(try ConvAttributes($0)) }),
        (.straightThrough, { _ in StraightThroughKernel() }),
    ]
}
