import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the data-movement ops (Ops/Movement.swift): Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
// Concat, Split, Slice, Pad, Tile, Expand, DepthToSpace, SpaceToDepth, CenterCropPad, Trilu, ReverseSequence.

/// A kernel whose output is its first input under another shape (same storage).
protocol ViewKernel: Kernel {}

extension ViewKernel {
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [try x.reshaped(outputs[0].shape)]
    }
}

/// Reshape with ONNX's rules: `0` copies the input size (unless `allowzero`), one `-1` is inferred.
struct ReshapeKernel: ViewKernel {
    let allowZero: Bool

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let request = try inputs.ints(1) else { return nil }
        var shape: [Int] = []
        var inferred: Int?
        for (i, r) in request.enumerated() {
            switch r {
            case -1:
                guard inferred == nil else { throw AscentError.invalid("more than one -1 in shape \(request)") }
                inferred = i
                shape.append(1)
            case 0 where !allowZero:
                guard i < x.rank else { throw AscentError.invalid("shape \(request) copies axis \(i) of \(x)") }
                shape.append(x.shape[i])
            case ..<0:
                throw AscentError.invalid("invalid size \(r) in shape \(request)")
            default:
                shape.append(r)
            }
        }
        guard let known = Shape.product(shape) else { throw AscentError.invalid("shape \(request) overflows") }
        if let i = inferred {
            guard known > 0, x.count % known == 0 else { throw AscentError.invalid("cannot reshape \(x) to \(request)") }
            shape[i] = x.count / known
        } else if known != x.count {
            throw AscentError.invalid("cannot reshape \(x) (\(x.count) elements) to \(Shape(shape))")
        }
        return nil
    }
}

/// Flatten to 2-D at `axis`: `[prod(shape[..<axis]), prod(shape[axis...])]`.
struct FlattenKernel: ViewKernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0, a <= x.rank else { throw AscentError.invalid("axis \(axis) is out of range for rank \(x.rank)") }
        return nil
    }
}

/// Squeeze / Unsqueeze with axes from the second input (opset 13) or the `axes` attribute.
struct SqueezeKernel: ViewKernel {
    let unsqueeze: Bool
    let attributeAxes: [Int]?

}

/// Transpose by `perm` (default: reversed axes). A permutation that only moves size-1 axes is a view.
struct TransposeKernel: Kernel {
    let attributes: TransposeAttributes

    func permutation(rank: Int) throws -> [Int] { try attributes.permutation(rank: rank) }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let p = try permutation(rank: x.rank)
        let moved = p.filter { x.shape[$0] != 1 }
        if moved == moved.sorted() { return [try x.reshaped(outputs[0].shape)] }
        let y = context.allocate(outputs[0])
        let s = contiguousStrides(x.shape)
        StridedCopy(shape: outputs[0].shape, strides: p.map { s[$0] }, offset: 0)
            .run(source: x.rawPointer, destination: y.rawPointer, elementSize: x.dtype.byteSize, context: context)
        return [y]
    }
}

/// Concat along `axis`: all inputs share the dtype and every other size.
struct ConcatKernel: Kernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let types = try (0..<inputs.count).map { try inputs.type($0) }
        let first = types[0]
        let a = try ShapeRules.axis(axis, rank: first.rank)
        for t in types {
            guard t.dtype == first.dtype, t.rank == first.rank,
                  (0..<t.rank).allSatisfy({ $0 == a || t.shape[$0] == first.shape[$0] }) else {
                throw AscentError.invalid("cannot concatenate \(t) with \(first) on axis \(a)")
            }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let xs = inputs.compactMap { $0 }
        let out = outputs[0]
        let y = context.allocate(out)
        let a = try ShapeRules.axis(axis, rank: out.rank)
        let outer = product(out.shape[..<a])
        let innerBytes = product(out.shape[(a + 1)...]) * out.dtype.byteSize
        let rowBytes = out.shape[a] * innerBytes
        var offset = 0
        for x in xs {
            let chunk = x.shape[a] * innerBytes
            let src = x.rawPointer, dst = y.rawPointer + offset
            context.parallelFor(outer, costPerItem: chunk / 4 + 1) { rows in
                for r in rows { memcpy(dst + r * rowBytes, src + r * chunk, chunk) }
            }
            offset += chunk
        }
        return [y]
    }
}

/// Split along `axis` into the sizes of the `split` input, or into equal parts (`num_outputs`
/// or the number of outputs), the last one smaller when the size does not divide.
struct SplitKernel: Kernel {
    let axis: Int
    let parts: Int

    /// Splits into `outputs` parts (the node's outputs), which `num_outputs` must match when given.
    init(_ a: SplitAttributes, outputs: Int) throws {
        axis = a.axis
        parts = a.numOutputs ?? outputs
        guard parts == outputs else { throw AscentError.invalid("num_outputs \(parts) differs from \(outputs) outputs") }
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try sizes(inputs)
        return nil
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try plan(inputs)
        return nil
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

/// Pad (opset 18/19): `pads` input `[begin..., end...]` (negative values crop), optional
/// `constant_value` and `axes` inputs; modes constant, reflect, edge, wrap.
struct PadKernel: Kernel {
    let mode: PadAttributes.Mode

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
            if mode != .constant, x.shape[a] == 0, shape[a] > 0 {
                throw AscentError.invalid("\(mode) padding of an empty axis \(a)")
            }
        }
        if inputs.has(2) {
            let c = try inputs.type(2)
            guard c.dtype == x.dtype, c.count == 1 else { throw AscentError.invalid("constant_value \(c) should be a \(x.dtype.rawValue) scalar") }
        }
        return (begin, shape)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try plan(inputs)
        return nil
    }

    /// The source index for output index `o` along an axis of `size` padded by `begin` (-1 = fill).
    func source(_ o: Int, begin: Int, size: Int) -> Int {
        var i = o - begin
        if i >= 0 && i < size { return i }
        switch mode {
        case .edge: return i < 0 ? 0 : size - 1
        case .wrap: i %= size; return i < 0 ? i + size : i
        case .reflect:
            if size == 1 { return 0 }
            let period = 2 * (size - 1)
            i %= period
            if i < 0 { i += period }
            return i < size ? i : period - i
        case .constant: return -1
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
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let r = try inputs.ints(1) else { return nil }
        guard r.count == x.rank, r.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("repeats \(r) do not match \(x)") }
        return nil
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

/// DepthToSpace and SpaceToDepth (`mode` DCR or CRD) on NCHW tensors of any type.
struct BlockKernel: Kernel {
    let toSpace: Bool, b: Int, crd: Bool

    init(_ a: BlockAttributes, toSpace: Bool) {
        self.toSpace = toSpace
        b = a.blockSize
        crd = a.columnRowDepth
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

/// Trilu: the upper (or lower) triangle of the last two axes from diagonal `k`, zeros elsewhere.
struct TriluKernel: Kernel {
    let upper: Bool

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

/// CenterCropPad(input, shape): each listed axis centre-cropped or zero-padded to its new size
/// (the extra element of an odd difference goes to the end).
struct CenterCropPadKernel: Kernel {
    let axes: [Int]?

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let sizes = try inputs.ints(1) else { return nil }
        let list = try ShapeRules.normalizedAxes(axes ?? Array(0..<x.rank), rank: x.rank)
        guard sizes.count == list.count, sizes.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("shape \(sizes) does not fit axes \(list)") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let out = outputs[0].shape
        let y = context.allocateZeroed(outputs[0])
        // Per axis: output index = input index + shift, where shift = (out − in) / 2 rounded toward zero... as the reference:
        let shift = zip(x.shape, out).map { i, o in o >= i ? (o - i) / 2 : -((i - o) / 2) }
        let xs = contiguousStrides(x.shape), ys = contiguousStrides(out), e = x.dtype.byteSize
        for i in 0..<x.count {
            var rest = i, offset = 0, inside = true
            for d in 0..<x.rank {
                let c = rest / xs[d] + shift[d]
                rest %= xs[d]
                if c < 0 || c >= out[d] { inside = false; break }
                offset += c * ys[d]
            }
            if inside { memcpy(y.rawPointer + offset * e, x.rawPointer + i * e, e) }
        }
        return [y]
    }
}

/// ReverseSequence(input, sequence_lens): the first `sequence_lens[b]` elements along `time_axis`
/// reversed, for each batch entry along `batch_axis`.
struct ReverseSequenceKernel: Kernel {
    let batchAxis: Int, timeAxis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank >= 2, Set([batchAxis, timeAxis]) == Set([0, 1]) else { throw AscentError.invalid("batch_axis and time_axis must be 0 and 1") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let lens = inputs[1] else { throw AscentError.invalid("missing input") }
        let y = copy(x, outputs[0], context)
        let l = lens.int64s().map { Int($0) }, s = contiguousStrides(x.shape)
        guard l.count == x.shape[batchAxis] else {
            throw AscentError.invalid("sequence_lens has \(l.count) entries for a batch of \(x.shape[batchAxis])")
        }
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

extension KernelRegistry {
    static let movement: [(OpDefinition, KernelFactory)] = [
        (.reshape, { ReshapeKernel(allowZero: try ReshapeAttributes($0).allowZero) }),
        (.flatten, { FlattenKernel(axis: try AxisAttributes($0).axis) }),
        (.transpose, { TransposeKernel(attributes: try TransposeAttributes($0)) }),
        (.squeeze, { SqueezeKernel(unsqueeze: false, attributeAxes: try AxesAttributes($0).axes) }),
        (.unsqueeze, { SqueezeKernel(unsqueeze: true, attributeAxes: try AxesAttributes($0).axes) }),
        (.concat, { ConcatKernel(axis: try ConcatAttributes($0).axis) }),
        (.split, { try SplitKernel(try SplitAttributes($0), outputs: $0.outputs.count) }),
        (.slice, { _ in SliceKernel() }),
        (.pad, { PadKernel(mode: try PadAttributes($0).mode) }),
        (.tile, { _ in TileKernel() }),
        (.expand, { _ in ExpandKernel() }),
        (.depthToSpace, { BlockKernel(try BlockAttributes($0), toSpace: true) }),
        (.spaceToDepth, { BlockKernel(try BlockAttributes($0), toSpace: false) }),
        (.centerCropPad, { CenterCropPadKernel(axes: try AxesAttributes($0).axes) }),
        (.trilu, { TriluKernel(upper: try TriluAttributes($0).upper) }),
        (.reverseSequence, { node in
            let a = try ReverseSequenceAttributes(node)
            return ReverseSequenceKernel(batchAxis: a.batchAxis, timeAxis: a.timeAxis)
        }),
    ]
}
