import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Elementwise reductions used by the scatter ops (`reduction` none, add, mul, max, min).
enum ScatterReduction: String {
    case none, add, mul, max, min

    init(_ a: NodeAttributes) throws {
        let r = try a.string("reduction", "none")
        guard let v = ScatterReduction(rawValue: r) else { throw AscentError.invalid("reduction '\(r)' is not none, add, mul, max or min") }
        self = v
    }

    func combine(_ old: Double, _ new: Double) -> Double {
        switch self {
        case .none: return new
        case .add: return old + new
        case .mul: return old * new
        case .max: return Swift.max(old, new)
        case .min: return Swift.min(old, new)
        }
    }
}

/// Copies element `from` of `src` to element `to` of `dst` (same dtype), or combines them.
private func scatter(_ src: Tensor, _ from: Int, _ dst: Tensor, _ to: Int, _ reduction: ScatterReduction,
                     _ values: [Double]?, _ out: inout [Double]?) {
    if reduction == .none {
        let e = src.dtype.byteSize
        memcpy(dst.rawPointer + to * e, src.rawPointer + from * e, e)
    } else if let values {
        out![to] = reduction.combine(out![to], values[from])
    }
}

/// A copy of `data` allocated from the context.
private func copy(_ data: Tensor, _ type: TensorType, _ context: ExecutionContext) -> Tensor {
    let y = context.allocate(type)
    memcpy(y.rawPointer, data.rawPointer, data.byteCount)
    return y
}

/// ScatterElements(data, indices, updates): `out[... indices[i] ...] = updates[i]` along `axis`.
struct ScatterElementsKernel: Kernel {
    let axis: Int, reduction: ScatterReduction

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", 0)
        reduction = try ScatterReduction(a)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1), updates = try inputs.type(2)
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.shape == updates.shape, indices.rank == data.rank,
              updates.dtype == data.dtype else {
            throw AscentError.invalid("indices \(indices) and updates \(updates) do not fit data \(data)")
        }
        _ = try ShapeRules.axis(axis, rank: data.rank)
        return [data]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1], let updates = inputs[2] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: data.rank)
        let y = copy(data, outputs[0], context)
        let idx = indices.int64s(), ds = contiguousStrides(data.shape), us = contiguousStrides(indices.shape)
        let size = data.shape[a]
        let values = reduction == .none ? nil : updates.doubles()
        var out: [Double]? = reduction == .none ? nil : data.doubles()
        for i in 0..<idx.count {
            var rest = i, offset = 0
            for d in 0..<data.rank {
                var c = rest / us[d]
                rest %= us[d]
                if d == a {
                    c = idx[i] < 0 ? Int(idx[i]) + size : Int(idx[i])
                    guard c >= 0, c < size else { throw AscentError.invalid("index \(idx[i]) is out of range for size \(size)") }
                }
                offset += c * ds[d]
            }
            scatter(updates, i, y, offset, reduction, values, &out)
        }
        if let out { return [tensor(outputs[0], doubles: out)] }
        return [y]
    }
}

/// ScatterND(data, indices, updates): slices `data[indices[i]]` replaced (or combined) by `updates[i]`.
struct ScatterNDKernel: Kernel {
    let reduction: ScatterReduction

    init(_ a: NodeAttributes) throws { reduction = try ScatterReduction(a) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1), updates = try inputs.type(2)
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.rank >= 1, let k = indices.shape.last, k <= data.rank,
              updates.shape == Array(indices.shape.dropLast()) + Array(data.shape[k...]), updates.dtype == data.dtype else {
            throw AscentError.invalid("indices \(indices) and updates \(updates) do not fit data \(data)")
        }
        return [data]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1], let updates = inputs[2] else { throw AscentError.invalid("missing input") }
        let y = copy(data, outputs[0], context)
        let k = indices.shape.last!, idx = indices.int64s(), ds = contiguousStrides(data.shape)
        let slice = product(data.shape[k...]), count = k == 0 ? 0 : idx.count / k
        let values = reduction == .none ? nil : updates.doubles()
        var out: [Double]? = reduction == .none ? nil : data.doubles()
        for i in 0..<count {
            var offset = 0
            for d in 0..<k {
                var c = Int(idx[i * k + d])
                if c < 0 { c += data.shape[d] }
                guard c >= 0, c < data.shape[d] else { throw AscentError.invalid("index \(idx[i * k + d]) is out of range") }
                offset += c * ds[d]
            }
            for j in 0..<slice { scatter(updates, i * slice + j, y, offset + j, reduction, values, &out) }
        }
        if let out { return [tensor(outputs[0], doubles: out)] }
        return [y]
    }
}

/// GatherND(data, indices) with `batch_dims`.
struct GatherNDKernel: Kernel {
    let batchDims: Int

    init(_ a: NodeAttributes) throws { batchDims = try a.int("batch_dims", 0) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        let b = batchDims
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.rank >= 1, let k = indices.shape.last,
              b < indices.rank, b + k <= data.rank, Array(data.shape[..<b]) == Array(indices.shape[..<b]) else {
            throw AscentError.invalid("indices \(indices) do not fit data \(data) with batch_dims \(b)")
        }
        return [TensorType(data.dtype, Array(indices.shape.dropLast()) + Array(data.shape[(b + k)...]))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let b = batchDims, k = indices.shape.last!
        let y = context.allocate(outputs[0])
        let idx = indices.int64s(), ds = contiguousStrides(data.shape)
        let batches = product(indices.shape[..<b]), perBatch = product(indices.shape[b..<(indices.rank - 1)])
        let slice = product(data.shape[(b + k)...]), batchStride = product(data.shape[b...])
        let e = data.dtype.byteSize
        for bi in 0..<batches {
            for i in 0..<perBatch {
                let row = bi * perBatch + i
                var offset = bi * batchStride
                for d in 0..<k {
                    let size = data.shape[b + d]
                    var c = Int(idx[row * k + d])
                    if c < 0 { c += size }
                    guard c >= 0, c < size else { throw AscentError.invalid("index \(idx[row * k + d]) is out of range") }
                    offset += c * ds[b + d]
                }
                memcpy(y.rawPointer + row * slice * e, data.rawPointer + offset * e, slice * e)
            }
        }
        return [y]
    }
}

/// Compress(input, condition): the slices along `axis` (or elements of the flattened input) where
/// the condition is true.
struct CompressKernel: Kernel {
    let axis: Int?

    init(_ a: NodeAttributes) throws { axis = a.node.attributes["axis"] == nil ? nil : try a.int("axis", 0) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let c = inputs.value(1) else { return nil }
        let kept = c.doubles().filter { $0 != 0 }.count
        guard let axis else { return [TensorType(x.dtype, [min(kept, x.count)])] }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        var shape = x.shape
        shape[a] = c.doubles().prefix(x.shape[a]).filter { $0 != 0 }.count
        return [TensorType(x.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let c = inputs[1] else { throw AscentError.invalid("missing input") }
        let keep = c.doubles().map { $0 != 0 }
        let y = context.allocate(outputs[0])
        let e = x.dtype.byteSize
        let (outer, size, inner) = axis == nil ? (1, x.count, 1) : around(x.shape, axis: try ShapeRules.axis(axis!, rank: x.rank))
        var o = 0
        for p in 0..<outer {
            for s in 0..<min(size, keep.count) where keep[s] {
                memcpy(y.rawPointer + o * inner * e, x.rawPointer + (p * size + s) * inner * e, inner * e)
                o += 1
            }
        }
        return [y]
    }
}

/// ReverseSequence(input, sequence_lens): the first `sequence_lens[b]` elements along `time_axis`
/// reversed, for each batch entry along `batch_axis`.
struct ReverseSequenceKernel: Kernel {
    let batchAxis: Int, timeAxis: Int

    init(_ a: NodeAttributes) throws {
        batchAxis = try a.int("batch_axis", 1)
        timeAxis = try a.int("time_axis", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank >= 2, Set([batchAxis, timeAxis]) == Set([0, 1]) else { throw AscentError.invalid("batch_axis and time_axis must be 0 and 1") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let lens = inputs[1] else { throw AscentError.invalid("missing input") }
        let y = copy(x, outputs[0], context)
        let l = lens.int64s().map { Int($0) }, s = contiguousStrides(x.shape)
        let inner = product(x.shape[2...]), e = x.dtype.byteSize
        for b in 0..<x.shape[batchAxis] {
            let n = min(max(l[b], 0), x.shape[timeAxis])
            for t in 0..<n {
                let from = b * s[batchAxis] + t * s[timeAxis], to = b * s[batchAxis] + (n - 1 - t) * s[timeAxis]
                memcpy(y.rawPointer + to * e, x.rawPointer + from * e, inner * e)
            }
        }
        return [y]
    }
}

/// NonZero: the int64 coordinates `[rank, count]` of the non-zero elements, in row-major order.
struct NonZeroKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let v = inputs.value(0) else { return nil }
        return [TensorType(.int64, [x.rank, v.doubles().filter { $0 != 0 }.count])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let v = x.doubles(), s = contiguousStrides(x.shape), n = outputs[0].shape[1]
        var out = [Int64](repeating: 0, count: x.rank * n)
        var k = 0
        for i in 0..<v.count where v[i] != 0 {
            var rest = i
            for d in 0..<x.rank { out[d * n + k] = Int64(rest / s[d]); rest %= s[d] }
            k += 1
        }
        return [Tensor(shape: outputs[0].shape, scalars: out)]
    }
}
