import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Index and selection kernels: ArgMax/ArgMin, GatherElements, Trilu, CumSum/CumProd, EyeLike,
/// OneHot, TopK, Hardmax, DepthToSpace/SpaceToDepth. Registered in ``MoreKernels``.

// MARK: - Arg, GatherElements, Trilu, CumSum, EyeLike, OneHot, TopK, Hardmax

/// ArgMax/ArgMin along `axis` (int64 indices); ties give the first index, or the last with `select_last_index`.
struct ArgKernel: Kernel {
    let max: Bool, axis: Int, keepDims: Bool, last: Bool

    init(_ a: NodeAttributes) throws {
        max = a.op == "ArgMax"
        axis = try a.int("axis", 0)
        keepDims = try a.int("keepdims", 1) != 0
        last = try a.int("select_last_index", 0) != 0
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(max ? "ArgMax" : "ArgMin", x)
        let a = try ShapeRules.axis(axis, rank: x.rank)
        var shape = x.shape
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        return [TensorType(.int64, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let v = x.doubles()
        let y = context.allocate(outputs[0])
        let o = y.mutablePointer(Int64.self)
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0, bv = v.isEmpty ? 0 : v[p * size * inner + q]
                for k in 1..<Swift.max(size, 1) {
                    let c = v[(p * size + k) * inner + q]
                    if bv.isNaN { break }
                    let better = max ? (c > bv || (last && c == bv)) : (c < bv || (last && c == bv))
                    if better || c.isNaN { best = k; bv = c }
                }
                o[p * inner + q] = Int64(best)
            }
        }
        return [y]
    }
}

/// GatherElements: `out[i][j][k] = data[index][j][k]` (for axis 0) with `index = indices[i][j][k]`.
struct GatherElementsKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", 0) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw AscentError.invalid("indices must be int64 or int32, are \(indices.dtype.rawValue)")
        }
        guard data.rank == indices.rank else { throw AscentError.invalid("indices \(indices) and data \(data) differ in rank") }
        _ = try ShapeRules.axis(axis, rank: data.rank)
        return [TensorType(data.dtype, indices.shape)]
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

/// Trilu: the upper (or lower) triangle of the last two axes from diagonal `k`, zeros elsewhere.
struct TriluKernel: Kernel {
    let upper: Bool

    init(_ a: NodeAttributes) throws { upper = try a.int("upper", 1) != 0 }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank >= 2 else { throw AscentError.invalid("Trilu needs rank 2 or more, got \(x)") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let k = inputs.count > 1 ? inputs[1].map { Int($0.int64s().first ?? 0) } ?? 0 : 0
        let y = context.allocateZeroed(outputs[0])
        let rows = x.shape[x.rank - 2], cols = x.shape[x.rank - 1]
        let e = x.dtype.byteSize, batches = rows * cols == 0 ? 0 : x.count / (rows * cols)
        for b in 0..<batches {
            for i in 0..<rows {
                for j in 0..<cols where upper ? j - i >= k : j - i <= k {
                    let off = ((b * rows + i) * cols + j) * e
                    memcpy(y.rawPointer + off, x.rawPointer + off, e)
                }
            }
        }
        return [y]
    }
}

/// CumSum / CumProd along the axis given by input 1 (`exclusive`, `reverse`); float32 and integers
/// (wrapping).
struct CumSumKernel: Kernel {
    let exclusive: Bool, reverse: Bool, multiply: Bool

    init(_ a: NodeAttributes) throws {
        exclusive = try a.int("exclusive", 0) != 0
        reverse = try a.int("reverse", 0) != 0
        multiply = a.op == "CumProd"
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(multiply ? "CumProd" : "CumSum", x)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let axisTensor = inputs[1], let given = axisTensor.int64s().first else {
            throw AscentError.invalid("missing input")
        }
        let a = try ShapeRules.axis(Int(given), rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        func scan<T>(_ v: [T], _ identity: T, _ f: (T, T) -> T) -> [T] {
            var out = [T](repeating: identity, count: v.count)
            for p in 0..<outer {
                for q in 0..<inner {
                    var acc = identity
                    for s in 0..<size {
                        let k = reverse ? size - 1 - s : s
                        let i = (p * size + k) * inner + q
                        if exclusive { out[i] = acc; acc = f(acc, v[i]) } else { acc = f(acc, v[i]); out[i] = acc }
                    }
                }
            }
            return out
        }
        if x.dtype == .float32 {
            let v = x.scalars(as: Float.self)
            return [Tensor(shape: x.shape, scalars: multiply ? scan(v, 1, *) : scan(v, 0, +))]
        }
        let y = context.allocate(outputs[0])
        let v = integerValues(x)
        storeIntegers(multiply ? scan(v, 1, &*) : scan(v, 0, &+), into: y)
        return [y]
    }
}

/// EyeLike: a 2-D tensor shaped like the input with ones on diagonal `k`, of type `dtype`
/// (default: the input's).
struct EyeLikeKernel: Kernel {
    let dtype: DType?, k: Int

    init(_ a: NodeAttributes) throws {
        k = try a.int("k", 0)
        if a.node.attributes["dtype"] != nil {
            let code = try a.int("dtype", 1)
            guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported dtype code \(code)") }
            // Floating types are computed as float32.
            dtype = t.isFloatingPoint ? .float32 : t
        } else {
            dtype = nil
        }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank == 2 else { throw AscentError.invalid("EyeLike needs a 2-D input, got \(x)") }
        return [TensorType(dtype ?? x.dtype, x.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let t = outputs[0], rows = t.shape[0], cols = t.shape[1]
        var v = [Double](repeating: 0, count: t.count)
        for i in 0..<rows where i + k >= 0 && i + k < cols { v[i * cols + i + k] = 1 }
        return [tensor(t, doubles: v)]
    }
}

/// OneHot(indices, depth, values): `values[1]` where the index matches, `values[0]` elsewhere,
/// along a new axis `axis`; negative indices count from `depth`.
struct OneHotKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", -1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let indices = try inputs.type(0), values = try inputs.type(2)
        guard values.count == 2 else { throw AscentError.invalid("values must hold 2 elements, hold \(values.count)") }
        guard let d = inputs.value(1) else { return nil }
        guard d.count == 1 else { throw AscentError.invalid("depth must be a scalar") }
        let depth = d.doubles()[0]
        guard depth >= 1, depth < 1e12 else { throw AscentError.invalid("depth \(depth) is not positive") }
        let a = try ShapeRules.axis(axis, rank: indices.rank + 1)
        var shape = indices.shape
        shape.insert(Int(depth), at: a)
        return [TensorType(values.dtype, shape)]
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

/// TopK(x, k) (or TopK-1's `k` attribute): the `k` largest (or smallest) values along `axis` and their int64 indices, sorted;
/// equal values keep the lower index first.
struct TopKKernel: Kernel {
    let axis: Int, largest: Bool
    /// TopK-1's `k` attribute, used when there is no k input.
    let attributeK: Int?

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        largest = try a.int("largest", 1) != 0
        attributeK = a.node.attributes["k"] == nil ? nil : try a.int("k", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric("TopK", x)
        if !inputs.has(1), attributeK == nil { throw AscentError.invalid("TopK needs k (an input, or the opset-1 attribute)") }
        guard let ks = inputs.has(1) ? try inputs.ints(1) : attributeK.map({ [$0] }) else { return nil }
        guard ks.count == 1 else { throw AscentError.invalid("k must hold one value") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        guard ks[0] >= 0, ks[0] <= x.shape[a] else { throw AscentError.invalid("k \(ks[0]) is out of range for axis size \(x.shape[a])") }
        var shape = x.shape
        shape[a] = ks[0]
        return [TensorType(x.dtype, shape), TensorType(.int64, shape)]
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

/// Hardmax along `axis`: 1 at the first maximum of each slice, 0 elsewhere.
struct HardmaxKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", -1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("Hardmax", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let y = context.allocateZeroed(outputs[0])
        let s = x.floats, o = y.mutableFloats
        guard size > 0 else { return [y] }
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0
                for k in 1..<size where s[(p * size + k) * inner + q] > s[(p * size + best) * inner + q] { best = k }
                o[(p * size + best) * inner + q] = 1
            }
        }
        return [y]
    }
}

// MARK: - DepthToSpace, SpaceToDepth

/// DepthToSpace and SpaceToDepth (`mode` DCR or CRD) on NCHW tensors of any type.
struct BlockKernel: Kernel {
    let toSpace: Bool, b: Int, crd: Bool

    init(_ a: NodeAttributes) throws {
        toSpace = a.op == "DepthToSpace"
        b = try a.int("blocksize", 0)
        guard b > 0 else { throw AscentError.invalid("blocksize \(b) is not positive") }
        let mode = try a.string("mode", "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw AscentError.invalid("mode '\(mode)' is not DCR or CRD") }
        crd = mode == "CRD"
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank == 4 else { throw AscentError.invalid("needs a 4-D input, got \(x)") }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if toSpace {
            guard c % (b * b) == 0 else { throw AscentError.invalid("channels \(c) are not a multiple of \(b * b)") }
            return [TensorType(x.dtype, [n, c / (b * b), h * b, w * b])]
        }
        guard h % b == 0, w % b == 0 else { throw AscentError.invalid("\(x) is not a multiple of blocksize \(b)") }
        return [TensorType(x.dtype, [n, c * b * b, h / b, w / b])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let e = x.dtype.byteSize
        // Iterate over the space-side tensor [n, c, H, W] (H, W the large sizes).
        let space = toSpace ? y.shape : x.shape
        let (n, c, hh, ww) = (space[0], space[1], space[2], space[3])
        let h = hh / b, w = ww / b, depth = c * b * b
        for ni in 0..<n {
            for ci in 0..<c {
                for yi in 0..<hh {
                    for xi in 0..<ww {
                        let i = yi % b, j = xi % b, hi = yi / b, wi = xi / b
                        let d = crd ? ci * b * b + i * b + j : (i * b + j) * c + ci
                        let spaceOffset = ((ni * c + ci) * hh + yi) * ww + xi
                        let depthOffset = ((ni * depth + d) * h + hi) * w + wi
                        if toSpace {
                            memcpy(y.rawPointer + spaceOffset * e, x.rawPointer + depthOffset * e, e)
                        } else {
                            memcpy(y.rawPointer + depthOffset * e, x.rawPointer + spaceOffset * e, e)
                        }
                    }
                }
            }
        }
        return [y]
    }
}

