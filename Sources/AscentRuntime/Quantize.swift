import AscentIR

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

/// The representable range of an integer dtype (int64 for imported unsigned 16/32/64-bit types).
func integerRange(_ dtype: DType) -> (Double, Double) {
    switch dtype {
    case .uint8: return (0, 255)
    case .int8: return (-128, 127)
    case .int16: return (-32768, 32767)
    case .int32: return (Double(Int32.min), Double(Int32.max))
    default: return (-9.2e18, 9.2e18)
    }
}

/// QuantizeLinear(x, y_scale, y_zero_point?): `saturate(round(x / scale) + zero_point)` (ties to
/// even), to the zero point's type (uint8 by default, or `output_dtype`).
struct QuantizeKernel: Kernel {
    let axis: Int, blockSize: Int, outputDType: DType?

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", 1)
        blockSize = try a.int("block_size", 0)
        let code = try a.int("output_dtype", 0)
        if code == 0 { outputDType = nil } else {
            guard let t = DType(onnxCode: code), t.isInteger else { throw AscentError.invalid("unsupported output_dtype \(code)") }
            outputDType = t
        }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("QuantizeLinear", x)
        let dtype = inputs.has(2) ? try inputs.type(2).dtype : (outputDType ?? .uint8)
        guard dtype.isInteger else { throw KernelError.dtype("QuantizeLinear", dtype) }
        return [TensorType(dtype, x.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let zp = inputs.count > 2 ? inputs[2] : nil
        let index = try quantizationIndex(x.shape, parameter: scale.shape, axis: axis, blockSize: blockSize)
        let s = scale.doubles(), z = zp?.doubles(), v = x.doubles()
        let (lo, hi) = integerRange(outputs[0].dtype)
        let q = (0..<v.count).map { i -> Int64 in
            let r = (v[i] / s[index[i]]).rounded(.toNearestOrEven) + (z?[index[i]] ?? 0)
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

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", 1)
        blockSize = try a.int("block_size", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype.isInteger || x.dtype == .float32 else { throw KernelError.dtype("DequantizeLinear", x.dtype) }
        return [TensorType(.float32, x.shape)]
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
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("DynamicQuantizeLinear", x)
        return [TensorType(.uint8, x.shape), TensorType(.float32, []), TensorType(.uint8, [])]
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
