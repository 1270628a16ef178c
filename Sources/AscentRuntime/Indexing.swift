import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Gather, Slice, Split, Pad, Tile, Expand on any dtype (copies by element size).
///
/// Index lists that are inputs (Slice's starts, Pad's pads, Tile's repeats, Expand's shape...)
/// are usually constants, folded at plan time; when they are computed, the output type is
/// worked out when the step runs.
enum IndexingKernels {
    static let factories: [String: KernelFactory] = [
        "Gather": { try GatherKernel($0) },
        "Slice": { _ in SliceKernel() },
        "Split": { try SplitKernel($0) },
        "Pad": { try PadKernel($0) },
        "Tile": { _ in TileKernel() },
        "Expand": { _ in ExpandKernel() },
    ]
}

/// Gather along `axis`: `out[a, idx..., b] = data[a, indices[idx...], b]`; negative indices count from the end.
struct GatherKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", 0) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw AscentError.invalid("indices must be int64 or int32, are \(indices.dtype.rawValue)")
        }
        guard data.rank >= 1 else { throw AscentError.invalid("cannot gather from a scalar") }
        let a = try ShapeRules.axis(axis, rank: data.rank)
        return [TensorType(data.dtype, Array(data.shape[..<a]) + indices.shape + Array(data.shape[(a + 1)...]))]
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

/// Slice (opset 13): `starts`, `ends`, optional `axes` and `steps` inputs, clamped as ONNX says.
struct SliceKernel: Kernel {
    /// Per output axis: first index and step in the input; and the output shape.
    func plan(_ inputs: KernelInputs) throws -> (first: [Int], step: [Int], shape: [Int])? {
        let x = try inputs.type(0)
        guard let starts = try inputs.ints(1), let ends = try inputs.ints(2) else { return nil }
        var axes = Array(0..<starts.count), steps = Array(repeating: 1, count: starts.count)
        if inputs.has(3) {
            guard let v = try inputs.ints(3) else { return nil }
            axes = try ShapeRules.normalizedAxes(v, rank: x.rank)
        }
        if inputs.has(4) {
            guard let v = try inputs.ints(4) else { return nil }
            steps = v
        }
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw AscentError.invalid("starts, ends, axes and steps have different lengths")
        }
        var first = Array(repeating: 0, count: x.rank), step = Array(repeating: 1, count: x.rank), shape = x.shape
        for i in 0..<axes.count {
            guard steps[i] != 0 else { throw AscentError.invalid("slice step is 0") }
            let r = ShapeRules.sliceRange(start: starts[i], end: ends[i], step: steps[i], size: x.shape[axes[i]])
            first[axes[i]] = r.first
            step[axes[i]] = steps[i]
            shape[axes[i]] = r.count
        }
        return (first, step, shape)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let p = try plan(inputs) else { return nil }
        return [TensorType(try inputs.type(0).dtype, p.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let p = try plan(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "slice bounds unknown at run time")
        }
        let y = context.allocate(outputs[0])
        guard y.count > 0 else { return [y] }
        let s = contiguousStrides(x.shape)
        let offset = zip(p.first, s).reduce(0) { $0 + $1.0 * $1.1 }
        StridedCopy(shape: p.shape, strides: zip(p.step, s).map { $0 * $1 }, offset: offset)
            .run(source: x.rawPointer, destination: y.rawPointer, elementSize: x.dtype.byteSize, context: context)
        return [y]
    }
}

/// Split along `axis` into the sizes of the `split` input, or into equal parts (`num_outputs`
/// or the number of outputs), the last one smaller when the size does not divide.
struct SplitKernel: Kernel {
    let axis: Int
    let parts: Int

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", 0)
        parts = try a.int("num_outputs", a.outputCount)
        guard parts == a.outputCount else { throw AscentError.invalid("num_outputs \(parts) differs from \(a.outputCount) outputs") }
    }

    func sizes(_ inputs: KernelInputs) throws -> (axis: Int, sizes: [Int])? {
        let x = try inputs.type(0)
        let a = try ShapeRules.axis(axis, rank: x.rank)
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            guard v.count == parts, v.allSatisfy({ $0 >= 0 }), v.reduce(0, +) == x.shape[a] else {
                throw AscentError.invalid("split \(v) does not cut axis \(a) of \(x) into \(parts) parts")
            }
            return (a, v)
        }
        return (a, ShapeRules.equalSplit(size: x.shape[a], parts: parts))
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let (a, sizes) = try sizes(inputs) else { return nil }
        return sizes.map { var s = x.shape; s[a] = $0; return TensorType(x.dtype, s) }
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let outer = product(x.shape[..<a])
        let innerBytes = product(x.shape[(a + 1)...]) * x.dtype.byteSize
        let rowBytes = x.shape[a] * innerBytes
        var offset = 0
        var ys: [Tensor] = []
        for t in outputs {
            let y = context.allocate(t)
            let chunk = t.shape[a] * innerBytes
            let src = x.rawPointer + offset, dst = y.rawPointer
            for r in 0..<outer { memcpy(dst + r * chunk, src + r * rowBytes, chunk) }
            offset += chunk
            ys.append(y)
        }
        return ys
    }
}

/// Pad (opset 18/19): `pads` input `[begin..., end...]` (negative values crop), optional
/// `constant_value` and `axes` inputs; modes constant, reflect, edge, wrap.
struct PadKernel: Kernel {
    let mode: String

    init(_ a: NodeAttributes) throws {
        mode = try a.string("mode", "constant")
        guard ["constant", "reflect", "edge", "wrap"].contains(mode) else {
            throw AscentError.invalid("pad mode '\(mode)' is not constant, reflect, edge or wrap")
        }
    }

    /// Begin padding per axis and the output shape.
    func plan(_ inputs: KernelInputs) throws -> (begin: [Int], shape: [Int])? {
        let x = try inputs.type(0)
        guard let pads = try inputs.ints(1) else { return nil }
        var axes = Array(0..<x.rank)
        if inputs.has(3) {
            guard let v = try inputs.ints(3) else { return nil }
            axes = try ShapeRules.normalizedAxes(v, rank: x.rank)
        }
        guard pads.count == 2 * axes.count else { throw AscentError.invalid("pads has \(pads.count) values, expected \(2 * axes.count)") }
        var begin = Array(repeating: 0, count: x.rank), shape = x.shape
        for (i, a) in axes.enumerated() {
            begin[a] = pads[i]
            shape[a] = x.shape[a] + pads[i] + pads[i + axes.count]
            guard shape[a] >= 0 else { throw AscentError.invalid("pads \(pads) crop axis \(a) of \(x) below zero") }
            if mode != "constant", x.shape[a] == 0, shape[a] > 0 {
                throw AscentError.invalid("\(mode) padding of an empty axis \(a)")
            }
        }
        if inputs.has(2) {
            let c = try inputs.type(2)
            guard c.dtype == x.dtype, c.count == 1 else { throw AscentError.invalid("constant_value \(c) should be a \(x.dtype.rawValue) scalar") }
        }
        return (begin, shape)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let p = try plan(inputs) else { return nil }
        return [TensorType(try inputs.type(0).dtype, p.shape)]
    }

    /// The source index for output index `o` along an axis of `size` padded by `begin` (-1 = fill).
    func source(_ o: Int, begin: Int, size: Int) -> Int {
        var i = o - begin
        if i >= 0 && i < size { return i }
        switch mode {
        case "edge": return i < 0 ? 0 : size - 1
        case "wrap": i %= size; return i < 0 ? i + size : i
        case "reflect":
            if size == 1 { return 0 }
            let period = 2 * (size - 1)
            i %= period
            if i < 0 { i += period }
            return i < size ? i : period - i
        default: return -1
        }
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let p = try plan(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "pads unknown at run time")
        }
        let y = context.allocate(outputs[0])
        guard y.count > 0 else { return [y] }
        let e = x.dtype.byteSize
        // Per axis, the source index of each output index.
        let maps = (0..<x.rank).map { d in (0..<p.shape[d]).map { source($0, begin: p.begin[d], size: x.shape[d]) } }
        let strides = contiguousStrides(x.shape)
        let fill = inputs.count > 2 ? inputs[2] : nil
        switch e {
        case 1: pad(UInt8.self, x, y, fill, maps: maps, strides: strides, shape: p.shape)
        case 2: pad(UInt16.self, x, y, fill, maps: maps, strides: strides, shape: p.shape)
        case 4: pad(UInt32.self, x, y, fill, maps: maps, strides: strides, shape: p.shape)
        default: pad(UInt64.self, x, y, fill, maps: maps, strides: strides, shape: p.shape)
        }
        return [y]
    }

    /// Fills `y` row by row (rows along the last axis), elements of type `T` (by size).
    private func pad<T: FixedWidthInteger>(_: T.Type, _ x: Tensor, _ y: Tensor, _ fill: Tensor?, maps: [[Int]],
                                           strides: [Int], shape: [Int]) {
        let rank = shape.count
        let value: T = fill.map { $0.pointer(T.self)[0] } ?? 0
        let src = x.pointer(T.self), dst = y.mutablePointer(T.self)
        let inner = rank == 0 ? 1 : shape[rank - 1]
        let last = rank == 0 ? [0] : maps[rank - 1]
        var index = Array(repeating: 0, count: max(rank - 1, 0))
        for r in 0..<(y.count / max(inner, 1)) {
            var base = 0, filled = false
            for d in 0..<max(rank - 1, 0) {
                let s = maps[d][index[d]]
                if s < 0 { filled = true; break }
                base += s * strides[d]
            }
            let out = dst + r * inner
            if filled {
                out.update(repeating: value, count: inner)
            } else {
                for i in 0..<inner { let s = last[i]; out[i] = s < 0 ? value : src[base + s] }
            }
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// Tile: `out.shape[i] = in.shape[i] · repeats[i]`, as a strided copy of `[r0, s0, r1, s1, ...]` with zero strides on the repeats.
struct TileKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let r = try inputs.ints(1) else { return nil }
        guard r.count == x.rank, r.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("repeats \(r) do not match \(x)") }
        return [TensorType(x.dtype, zip(x.shape, r).map { $0 * $1 })]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        guard y.count > 0 else { return [y] }
        let s = contiguousStrides(x.shape)
        var shape: [Int] = [], strides: [Int] = []
        for d in 0..<x.rank {
            shape += [outputs[0].shape[d] / x.shape[d], x.shape[d]]
            strides += [0, s[d]]
        }
        StridedCopy(shape: shape, strides: strides, offset: 0)
            .run(source: x.rawPointer, destination: y.rawPointer, elementSize: x.dtype.byteSize, context: context)
        return [y]
    }
}

/// Expand: broadcast the input to the broadcast of its shape and the `shape` input.
struct ExpandKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let target = try inputs.ints(1) else { return nil }
        guard target.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("shape \(target) has a negative size") }
        return [TensorType(x.dtype, try BroadcastLoop.shape([x.shape, target]))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let out = outputs[0]
        let y = context.allocate(out)
        guard y.count > 0 else { return [y] }
        let aligned = Array(repeating: 1, count: out.rank - x.rank) + x.shape
        let s = contiguousStrides(aligned)
        StridedCopy(shape: out.shape, strides: (0..<out.rank).map { aligned[$0] == 1 ? 0 : s[$0] }, offset: 0)
            .run(source: x.rawPointer, destination: y.rawPointer, elementSize: x.dtype.byteSize, context: context)
        return [y]
    }
}
