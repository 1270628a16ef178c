import AscentIR

/// Cast between float32/float16/float64/int8/int16/int32/int64/uint8/bool, ConstantOfShape and Range.
enum CastKernels {
    static let factories: [String: KernelFactory] = [
        "Cast": { try CastKernel($0) },
        "ConstantOfShape": { try ConstantOfShapeKernel($0) },
        "Range": { _ in RangeKernel() },
    ]
}

/// Cast to the `to` type (ONNX type code). Floats to integers truncate toward zero (saturating;
/// NaN gives 0); integers to narrower integers wrap, as C casts do; anything to bool is `x != 0`.
struct CastKernel: Kernel {
    let to: DType

    static let supported: Set<DType> = [.float32, .float16, .float64, .int8, .int16, .int32, .int64, .uint8, .bool]

    init(_ a: NodeAttributes) throws {
        let code = try a.int("to", 0)
        guard let t = DType(onnxCode: code), CastKernel.supported.contains(t) else {
            throw AscentError.invalid("cast to unsupported type code \(code)")
        }
        to = t
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard CastKernel.supported.contains(x.dtype) else { throw KernelError.dtype("Cast", x.dtype) }
        return [TensorType(to, x.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        if x.dtype == to { return [x] }
        let y = context.allocate(outputs[0])
        let n = x.count, src = x.rawPointer, dst = y.rawPointer
        if to == .bool {
            let out = dst.assumingMemoryBound(to: UInt8.self)
            switch x.dtype {
            case .float32: each(src, Float.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            case .float64: each(src, Double.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            case .float16: each(src, Float16.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            default: readIntegers(src, x.dtype, n) { out[$0] = $1 != 0 ? 1 : 0 }
            }
        } else if to.isFloatingPoint {
            switch x.dtype {
            case .float32: each(src, Float.self, n) { write(dst, to, $0, Double($1)) }
            case .float64: each(src, Double.self, n) { write(dst, to, $0, $1) }
            case .float16: each(src, Float16.self, n) { write(dst, to, $0, Double($1)) }
            default: readIntegers(src, x.dtype, n) { write(dst, to, $0, Double($1)) }
            }
        } else {
            switch x.dtype {
            case .float32: each(src, Float.self, n) { writeInteger(dst, to, $0, CastKernel.truncate(Double($1))) }
            case .float64: each(src, Double.self, n) { writeInteger(dst, to, $0, CastKernel.truncate($1)) }
            case .float16: each(src, Float16.self, n) { writeInteger(dst, to, $0, CastKernel.truncate(Double($1))) }
            default: readIntegers(src, x.dtype, n) { writeInteger(dst, to, $0, $1) }
            }
        }
        return [y]
    }

    static func truncate(_ v: Double) -> Int64 {
        guard v.isFinite else { return 0 }
        if v >= 9.2e18 { return .max }
        if v <= -9.2e18 { return .min }
        return Int64(v.rounded(.towardZero))
    }
}

@inline(__always)
private func each<T>(_ p: UnsafeMutableRawPointer, _: T.Type, _ n: Int, _ body: (Int, T) -> Void) {
    let s = p.assumingMemoryBound(to: T.self)
    for i in 0..<n { body(i, s[i]) }
}

/// Reads integer or bool elements as Int64.
private func readIntegers(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ n: Int, _ body: (Int, Int64) -> Void) {
    switch dtype {
    case .int64: each(p, Int64.self, n) { body($0, $1) }
    case .int32: each(p, Int32.self, n) { body($0, Int64($1)) }
    case .int16: each(p, Int16.self, n) { body($0, Int64($1)) }
    case .int8: each(p, Int8.self, n) { body($0, Int64($1)) }
    default: each(p, UInt8.self, n) { body($0, Int64($1)) }
    }
}

@inline(__always)
private func write(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ i: Int, _ v: Double) {
    switch dtype {
    case .float32: p.assumingMemoryBound(to: Float.self)[i] = Float(v)
    case .float64: p.assumingMemoryBound(to: Double.self)[i] = v
    default: p.assumingMemoryBound(to: Float16.self)[i] = Float16(Float(v))
    }
}

@inline(__always)
private func writeInteger(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ i: Int, _ v: Int64) {
    switch dtype {
    case .int64: p.assumingMemoryBound(to: Int64.self)[i] = v
    case .int32: p.assumingMemoryBound(to: Int32.self)[i] = Int32(truncatingIfNeeded: v)
    case .int16: p.assumingMemoryBound(to: Int16.self)[i] = Int16(truncatingIfNeeded: v)
    case .int8: p.assumingMemoryBound(to: Int8.self)[i] = Int8(truncatingIfNeeded: v)
    default: p.assumingMemoryBound(to: UInt8.self)[i] = UInt8(truncatingIfNeeded: v)
    }
}

/// ConstantOfShape: a tensor of the shape given by the input, filled with the one-element `value`
/// attribute (default float32 0).
struct ConstantOfShapeKernel: Kernel {
    let value: Tensor

    init(_ a: NodeAttributes) throws {
        let v = try a.tensor("value") ?? Tensor(shape: [1], scalars: [Float(0)])
        guard v.count == 1 else { throw AscentError.invalid("attribute 'value' must hold one element, holds \(v.count)") }
        value = v
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let shape = try inputs.ints(0) else { return nil }
        guard shape.allSatisfy({ $0 >= 0 }), Shape.product(shape) != nil else {
            throw AscentError.invalid("shape \(shape) has a negative size or overflows")
        }
        return [TensorType(value.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let y = context.allocate(outputs[0])
        let e = value.dtype.byteSize, n = y.count
        value.withUnsafeBytes { v in
            guard let base = v.baseAddress else { return }
            for i in 0..<n { (y.rawPointer + i * e).copyMemory(from: base, byteCount: e) }
        }
        return [y]
    }
}

/// Range(start, limit, delta): `start, start+delta, ...` below `limit` (above, for a negative
/// delta). float32, int64, int32; floats accumulate the delta as onnxruntime does.
struct RangeKernel: Kernel {
    func count(_ inputs: KernelInputs) throws -> Int? {
        let t = try inputs.type(0)
        guard [.float32, .int64, .int32].contains(t.dtype) else { throw KernelError.dtype("Range", t.dtype) }
        for i in 0..<3 {
            let u = try inputs.type(i)
            guard u.dtype == t.dtype, u.count == 1 else { throw AscentError.invalid("start, limit and delta must be \(t.dtype.rawValue) scalars") }
        }
        guard let a = inputs.value(0), let b = inputs.value(1), let c = inputs.value(2) else { return nil }
        let n = t.dtype == .float32
            ? ShapeRules.rangeCount(start: a.doubles()[0], limit: b.doubles()[0], delta: c.doubles()[0])
            : ShapeRules.rangeCount(start: a.int64s()[0], limit: b.int64s()[0], delta: c.int64s()[0])
        guard let n else { throw AscentError.invalid("range has a zero, infinite or too small delta") }
        return n
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let n = try count(inputs) else { return nil }
        return [TensorType(try inputs.type(0).dtype, [n])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let c = inputs[2] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = y.count
        switch a.dtype {
        case .float32:
            let p = y.mutableFloats, d = c.floats[0]
            var v = a.floats[0]
            for i in 0..<n { p[i] = v; v += d }
        case .int64:
            let p = y.mutablePointer(Int64.self), s = a.pointer(Int64.self)[0], d = c.pointer(Int64.self)[0]
            for i in 0..<n { p[i] = s &+ Int64(i) &* d }
        default:
            let p = y.mutablePointer(Int32.self), s = a.pointer(Int32.self)[0], d = c.pointer(Int32.self)[0]
            for i in 0..<n { p[i] = s &+ Int32(truncatingIfNeeded: i) &* d }
        }
        return [y]
    }
}
