import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the ops that make tensors from attributes and sizes (Ops/Constants.swift): Constant, Shape,
// Size, ConstantOfShape, Range, EyeLike.

/// Constant: the `value` tensor attribute.
struct ConstantKernel: Kernel {
    let value: Tensor

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] { [value] }
}

/// Shape: the input's sizes as int64, optionally `[start, end)` (opset 15). Known at plan time.
struct ShapeKernel: Kernel {
    let attributes: ShapeAttributes

    func sizes(_ x: TensorType) -> [Int64] { x.shape[attributes.range(rank: x.rank)].map { Int64($0) } }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let s = sizes(x.type)
        return [Tensor(shape: [s.count], scalars: s)]
    }
}

/// Size: the number of elements, an int64 scalar (known from the type alone).
struct SizeKernel: Kernel {
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [Tensor(scalar: Int64(x.count))]
    }
}

/// ConstantOfShape: a tensor of the shape given by the input, filled with the one-element `value`
/// attribute (default float32 0).
struct ConstantOfShapeKernel: Kernel {
    let value: Tensor

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let shape = try inputs.ints(0) else { return nil }
        guard shape.allSatisfy({ $0 >= 0 }), Shape.product(shape) != nil else {
            throw AscentError.invalid("shape \(shape) has a negative size or overflows")
        }
        return nil
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
        guard [.float32, .int64, .int32].contains(t.dtype) else { throw KernelError.dtype(t.dtype) }
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try count(inputs)
        return nil
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

/// EyeLike: a 2-D tensor shaped like the input with ones on diagonal `k`, of type `dtype`
/// (default: the input's).
struct EyeLikeKernel: Kernel {
    /// The output type (floating types computed as float32), or nil for the input's.
    let dtype: DType?, k: Int

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let t = outputs[0], rows = t.shape[0], cols = t.shape[1]
        var v = [Double](repeating: 0, count: t.count)
        for i in 0..<rows where i + k >= 0 && i + k < cols { v[i * cols + i + k] = 1 }
        return [tensor(t, doubles: v)]
    }
}

extension KernelRegistry {
    static let constants: [(OpDefinition, KernelFactory)] = [
        (.constant, { ConstantKernel(value: try ConstantAttributes($0).value) }),
        (.shape, { ShapeKernel(attributes: try ShapeAttributes($0)) }),
        (.size, { _ in SizeKernel() }),
        (.constantOfShape, { ConstantOfShapeKernel(value: try ConstantOfShapeAttributes($0).value) }),
        (.range, { _ in RangeKernel() }),
        (.eyeLike, { node in
            let a = try EyeLikeAttributes(node)
            return EyeLikeKernel(dtype: a.dtype, k: a.k)
        }),
    ]
}
