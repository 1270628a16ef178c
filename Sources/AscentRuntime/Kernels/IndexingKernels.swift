import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the indexing ops (Ops/Indexing.swift): the gathers and scatters, TensorScatter, Compress,
// NonZero, TopK, Unique, OneHot.

/// Gather along `axis`: `out[a, idx..., b] = data[a, indices[idx...], b]`; negative indices count from the end.
struct GatherKernel: Kernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw AscentError.invalid("indices must be int64 or int32, are \(indices.dtype.rawValue)")
        }
        guard data.rank >= 1 else { throw AscentError.invalid("cannot gather from a scalar") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: data.rank)
        let (outer, size, inner) = around(data.shape, axis: a)
        let idx = indices.int64s()
        var resolved = [Int](repeating: 0, count: idx.count)
        for (i, v) in idx.enumerated() {
            let j = v < 0 ? Int(v) + size : Int(v)
            guard j >= 0, j < size else { throw AscentError.invalid("index \(v) is out of range for axis \(a) of size \(size)") }
            resolved[i] = j
        }
        let y = context.allocate(outputs[0])
        let e = data.dtype.byteSize, chunk = inner * e
        let src = data.rawPointer, dst = y.rawPointer
        let count = resolved.count
        resolved.withUnsafeBufferPointer { r in
            context.parallelFor(outer, costPerItem: count * (inner + 8)) { rows in
                for o in rows {
                    for (k, j) in r.enumerated() {
                        memcpy(dst + (o * count + k) * chunk, src + (o * size + j) * chunk, chunk)
                    }
                }
            }
        }
        return [y]
    }
}

/// GatherElements: `out[i][j][k] = data[index][j][k]` (for axis 0) with `index = indices[i][j][k]`.
struct GatherElementsKernel: Kernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw AscentError.invalid("indices must be int64 or int32, are \(indices.dtype.rawValue)")
        }
        guard data.rank == indices.rank else { throw AscentError.invalid("indices \(indices) and data \(data) differ in rank") }
        _ = try ShapeRules.axis(axis, rank: data.rank)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: data.rank)
        let idx = indices.int64s()
        let y = context.allocate(outputs[0])
        let ds = contiguousStrides(data.shape), os = contiguousStrides(indices.shape)
        let e = data.dtype.byteSize, size = data.shape[a]
        for i in 0..<idx.count {
            var rest = i, offset = 0
            for d in 0..<indices.rank {
                let c = rest / os[d]
                rest %= os[d]
                if d == a {
                    let j = idx[i] < 0 ? Int(idx[i]) + size : Int(idx[i])
                    guard j >= 0, j < size else { throw AscentError.invalid("index \(idx[i]) is out of range for axis \(a) of size \(size)") }
                    offset += j * ds[d]
                } else {
                    offset += c * ds[d]
                }
            }
            memcpy(y.rawPointer + i * e, data.rawPointer + offset * e, e)
        }
        return [y]
    }
}

/// GatherND(data, indices) with `batch_dims`.
struct GatherNDKernel: Kernel {
    let batchDims: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        let b = batchDims
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.rank >= 1, let k = indices.shape.last,
              b < indices.rank, b + k <= data.rank, Array(data.shape[..<b]) == Array(indices.shape[..<b]) else {
            throw AscentError.invalid("indices \(indices) do not fit data \(data) with batch_dims \(b)")
        }
        return nil
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

/// Elementwise reductions used by the scatter ops (`reduction` none, add, mul, max, min).
enum ScatterReduction: String {
    case none, add, mul, max, min

    /// The reduction of scatter attributes `a`.
    init(_ a: ScatterAttributes) throws {
        guard let v = ScatterReduction(rawValue: a.reduction) else { throw AscentError.invalid("reduction '\(a.reduction)' is not supported") }
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

/// ScatterElements(data, indices, updates): `out[... indices[i] ...] = updates[i]` along `axis`.
struct ScatterElementsKernel: Kernel {
    let axis: Int, reduction: ScatterReduction

    init(_ a: ScatterAttributes) throws {
        axis = a.axis
        reduction = try ScatterReduction(a)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1), updates = try inputs.type(2)
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.shape == updates.shape, indices.rank == data.rank,
              updates.dtype == data.dtype else {
            throw AscentError.invalid("indices \(indices) and updates \(updates) do not fit data \(data)")
        }
        _ = try ShapeRules.axis(axis, rank: data.rank)
        return nil
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

    init(_ a: ScatterAttributes) throws { reduction = try ScatterReduction(a) }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1), updates = try inputs.type(2)
        guard indices.dtype == .int64 || indices.dtype == .int32, indices.rank >= 1, let k = indices.shape.last, k <= data.rank,
              updates.shape == Array(indices.shape.dropLast()) + Array(data.shape[k...]), updates.dtype == data.dtype else {
            throw AscentError.invalid("indices \(indices) and updates \(updates) do not fit data \(data)")
        }
        return nil
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

/// TensorScatter(past_cache, update, write_indices?): `update` written into the cache along `axis`
/// from each batch entry's write index (wrapping around in `circular` mode).
struct TensorScatterKernel: Kernel {
    let circular: Bool, axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let cache = try inputs.type(0), update = try inputs.type(1)
        let a = try ShapeRules.axis(axis, rank: cache.rank)
        guard update.rank == cache.rank, update.dtype == cache.dtype,
              (0..<cache.rank).allSatisfy({ $0 == a ? update.shape[$0] <= cache.shape[$0] : update.shape[$0] == cache.shape[$0] }) else {
            throw AscentError.invalid("update \(update) does not fit cache \(cache) along axis \(a)")
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let cache = inputs[0], let update = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: cache.rank)
        let writes = inputs.count > 2 ? inputs[2]?.int64s().map { Int($0) } : nil
        let y = context.allocate(outputs[0])
        y.rawPointer.copyMemory(from: cache.rawPointer, byteCount: cache.byteCount)
        let (outer, size, inner) = around(cache.shape, axis: a)
        let length = update.shape[a], e = cache.dtype.byteSize
        let perBatch = cache.shape[0] == 0 ? 0 : outer / cache.shape[0]
        for p in 0..<outer {
            let start = writes?[a == 0 ? 0 : p / max(perBatch, 1)] ?? 0
            for s in 0..<length {
                var t = start + s
                if circular { t = ((t % size) + size) % size }
                guard t >= 0, t < size else { throw AscentError.invalid("write position \(t) is outside the cache") }
                (y.rawPointer + (p * size + t) * inner * e).copyMemory(from: update.rawPointer + (p * length + s) * inner * e, byteCount: inner * e)
            }
        }
        return [y]
    }
}

/// Compress(input, condition): the slices along `axis` (or elements of the flattened input) where
/// the condition is true.
struct CompressKernel: Kernel {
    let axis: Int?

    /// The output's size along the axis (or of the flattened input) is the number of true conditions.
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
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

/// NonZero: the int64 coordinates `[rank, count]` of the non-zero elements, in row-major order.
struct NonZeroKernel: Kernel {
    /// The output size is the number of non-zero elements.
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
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

/// TopK(x, k) (or TopK-1's `k` attribute): the `k` largest (or smallest) values along `axis` and their int64 indices, sorted;
/// equal values keep the lower index first.
struct TopKKernel: Kernel {
    let axis: Int, largest: Bool
    /// TopK-1's `k` attribute, used when there is no k input.
    let attributeK: Int?

    init(_ a: TopKAttributes) {
        axis = a.axis
        largest = a.largest
        attributeK = a.k
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(x)
        if !inputs.has(1), attributeK == nil { throw AscentError.invalid("k is missing (an input, or the opset-1 attribute)") }
        guard let ks = inputs.has(1) ? try inputs.ints(1) : attributeK.map({ [$0] }) else { return nil }
        guard ks.count == 1 else { throw AscentError.invalid("k must hold one value") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        guard ks[0] >= 0, ks[0] <= x.shape[a] else { throw AscentError.invalid("k \(ks[0]) is out of range for axis size \(x.shape[a])") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let k = outputs[0].shape[a]
        let v = x.doubles()
        let values = context.allocate(outputs[0]), indices = context.allocate(outputs[1])
        let e = x.dtype.byteSize, ip = indices.mutablePointer(Int64.self)
        var order = [Int](repeating: 0, count: size)
        for p in 0..<outer {
            for q in 0..<inner {
                for s in 0..<size { order[s] = s }
                let base = p * size * inner + q
                order.sort { i, j in
                    let x = v[base + i * inner], y = v[base + j * inner]
                    if x == y || (x.isNaN && y.isNaN) { return i < j }
                    if x.isNaN { return largest }
                    if y.isNaN { return !largest }
                    return largest ? x > y : x < y
                }
                for s in 0..<k {
                    let o = (p * k + s) * inner + q
                    ip[o] = Int64(order[s])
                    memcpy(values.rawPointer + o * e, x.rawPointer + (base + order[s] * inner) * e, e)
                }
            }
        }
        return [values, indices]
    }
}

/// Unique: the distinct elements (or slices along `axis`), sorted or in first-occurrence order,
/// with the int64 first indices, inverse indices and counts.
struct UniqueKernel: Kernel {
    let axis: Int?, sorted: Bool, outputCount: Int

    init(_ a: UniqueAttributes, outputCount: Int) {
        axis = a.axis
        sorted = a.sorted
        self.outputCount = max(1, outputCount)
    }

    struct Result { var order: [Int]; var inverse: [Int]; var counts: [Int]; var sliceCount: Int; var axis: Int? }

    func compute(_ x: Tensor) throws -> Result {
        let v = x.doubles()
        let a = try axis.map { try ShapeRules.axis($0, rank: x.rank) }
        let (outer, size, inner) = a.map { around(x.shape, axis: $0) } ?? (1, x.count, 1)
        let slices: [[Double]] = (0..<size).map { s in
            var out: [Double] = []
            out.reserveCapacity(outer * inner)
            for p in 0..<outer { for q in 0..<inner { out.append(v[(p * size + s) * inner + q]) } }
            return out
        }
        var firsts: [Int] = []  // the first slice index of each group, in first-occurrence order
        var group = [Int](repeating: 0, count: size)
        var counts: [Int] = []
        var seen: [[Double]: Int] = [:]
        for s in 0..<size {
            if let g = seen[slices[s]] {
                group[s] = g
                counts[g] += 1
            } else {
                seen[slices[s]] = firsts.count
                group[s] = firsts.count
                firsts.append(s)
                counts.append(1)
            }
        }
        var order = Array(firsts.indices)
        if sorted {
            order.sort { i, j in slices[firsts[i]].lexicographicallyPrecedes(slices[firsts[j]]) }
        }
        var rank = [Int](repeating: 0, count: firsts.count)
        for (r, g) in order.enumerated() { rank[g] = r }
        return Result(order: order.map { firsts[$0] }, inverse: group.map { rank[$0] },
                      counts: order.map { counts[$0] }, sliceCount: size, axis: a)
    }

    /// The output sizes are the number of distinct elements (or slices).
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard let x = inputs.value(0) else { return nil }
        let r = try compute(x)
        let k = r.order.count
        var shape = [k]
        if let a = r.axis { shape = t.shape; shape[a] = k }
        return Array([TensorType(t.dtype, shape), TensorType(.int64, [k]), TensorType(.int64, [r.sliceCount]),
                      TensorType(.int64, [k])].prefix(outputCount))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let r = try compute(x)
        let y = context.allocate(outputs[0])
        let e = x.dtype.byteSize
        let (outer, size, inner) = r.axis.map { around(x.shape, axis: $0) } ?? (1, x.count, 1)
        let k = r.order.count
        for p in 0..<outer {
            for (j, s) in r.order.enumerated() {
                memcpy(y.rawPointer + (p * k + j) * inner * e, x.rawPointer + (p * size + s) * inner * e, inner * e)
            }
        }
        let all = [y, Tensor(shape: [k], scalars: r.order.map { Int64($0) }),
                   Tensor(shape: [r.sliceCount], scalars: r.inverse.map { Int64($0) }),
                   Tensor(shape: [k], scalars: r.counts.map { Int64($0) })]
        return Array(all.prefix(outputCount))
    }
}

/// OneHot(indices, depth, values): `values[1]` where the index matches, `values[0]` elsewhere,
/// along a new axis `axis`; negative indices count from `depth`.
struct OneHotKernel: Kernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let values = try inputs.type(2)
        guard values.count == 2 else { throw AscentError.invalid("values must hold 2 elements, hold \(values.count)") }
        if let d = inputs.value(1), d.count != 1 { throw AscentError.invalid("depth must be a scalar") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let indices = inputs[0], let values = inputs[2] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: indices.rank + 1)
        let depth = outputs[0].shape[a]
        let idx = indices.doubles()
        let y = context.allocate(outputs[0])
        let e = values.dtype.byteSize
        let outer = product(indices.shape[..<a]), inner = product(indices.shape[a...])
        for p in 0..<outer {
            for d in 0..<depth {
                for q in 0..<inner {
                    var i = Int(idx[p * inner + q])
                    if i < 0 { i += depth }
                    let src = values.rawPointer + (i == d ? e : 0)
                    memcpy(y.rawPointer + ((p * depth + d) * inner + q) * e, src, e)
                }
            }
        }
        return [y]
    }
}

extension KernelRegistry {
    static let indexing: [(OpDefinition, KernelFactory)] = [
        (.gather, { GatherKernel(axis: try GatherAttributes($0).axis) }),
        (.gatherElements, { GatherElementsKernel(axis: try GatherAttributes($0).axis) }),
        (.gatherND, { GatherNDKernel(batchDims: try GatherNDAttributes($0).batchDims) }),
        (.scatterElements, { try ScatterElementsKernel(try ScatterAttributes($0)) }),
        (.scatterND, { try ScatterNDKernel(try ScatterAttributes($0)) }),
        (.tensorScatter, { node in
            let a = try TensorScatterAttributes(node)
            return TensorScatterKernel(circular: a.circular, axis: a.axis)
        }),
        (.compress, { CompressKernel(axis: try CompressAttributes($0).axis) }),
        (.nonZero, { _ in NonZeroKernel() }),
        (.topK, { TopKKernel(try TopKAttributes($0)) }),
        (.unique, { UniqueKernel(try UniqueAttributes($0), outputCount: $0.outputs.count) }),
        (.oneHot, { OneHotKernel(axis: try OneHotAttributes($0).axis) }),
    ]
}
