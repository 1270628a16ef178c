import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the pooling ops (Ops/Pooling.swift): MaxPool, AveragePool, LpPool, the global pools, MaxUnpool.

/// MaxPool, AveragePool (1-D to 3-D, `NCHW` or `NHWC`, strides, dilations, pads, `auto_pad`,
/// `ceil_mode`, `count_include_pad`; MaxPool's optional `Indices` output for `NCHW`; MaxPool also
/// on int8/uint8), and
/// GlobalAveragePool / GlobalMaxPool.
struct PoolKernel: Kernel {
    let window: Window
    let kernel: [Int]
    let isMax: Bool
    let countIncludePad: Bool
    let wantsIndices: Bool

    /// A max (or average) pool; `wantsIndices` when the node uses MaxPool's second output.
    init(_ a: PoolAttributes, max: Bool, wantsIndices: Bool) throws {
        window = a.window
        kernel = try a.kernel()
        isMax = max
        countIncludePad = a.countIncludePad
        self.wantsIndices = wantsIndices
        if wantsIndices {
            guard a.storageOrder == 0 else { throw AscentError.invalid("storage_order 1 is not supported for the indices") }
            guard !window.channelsLast else { throw AscentError.invalid("the indices need NCHW data") }
        }
    }

    func geometry(_ x: TensorType) throws -> WindowGeometry {
        guard x.dtype == .float32 || (isMax && PoolKernel.viaFloat32.contains(x.dtype)) else { throw KernelError.dtype(x.dtype) }
        return try window.geometry(input: x.shape, kernel: kernel)
    }

    /// Integer types MaxPool computes through float32 (exactly: every value is a float32).
    static let viaFloat32: Set<DType> = [.int8, .uint8]

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try geometry(try inputs.type(0))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        if x.dtype != .float32 {  // int8/uint8 MaxPool (quantized models)
            var types = outputs
            types[0].dtype = .float32
            var results = try run([x.converted(to: .float32)], outputs: types, context: context)
            results[0] = results[0].converted(to: x.dtype)
            return results
        }
        let g = try geometry(x.type)
        let y = context.allocate(outputs[0])
        let indices = wantsIndices ? context.allocate(outputs[1]) : nil
        if window.channelsLast {
            poolNHWC(g, x.floats, y.mutableFloats, context: context)
        } else {
            poolNCHW(g, x.floats, y.mutableFloats, indices?.mutablePointer(Int64.self), context: context)
        }
        return indices.map { [y, $0] } ?? [y]
    }

    /// The averaging divisor of the window at output position (zd, zh, zw).
    @inline(__always)
    private func divisor(_ g: WindowGeometry, _ t: (Range<Int>, Range<Int>, Range<Int>), _ zd: Int, _ zh: Int, _ zw: Int) -> Float {
        Float(g.averagingCount(includePad: countIncludePad, taps: t, at: (zd, zh, zw)))
    }

    /// Per output position along one axis: the taps inside the input, the input index of tap 0,
    /// and the divisor share (taps inside input plus padding, or inside the input).
    private struct AxisWindow {
        var taps: Range<Int>
        var start: Int
        var share: Int
    }

    private func windows(_ g: WindowGeometry, axis: Int) -> [AxisWindow] {
        (0..<g.output[axis]).map { o in
            let taps = g.taps(axis: axis, at: o)
            return AxisWindow(taps: taps, start: o * g.stride[axis] - g.padBegin[axis],
                              share: countIncludePad ? g.paddedTaps(axis: axis, at: o) : taps.count)
        }
    }

    private func poolNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          _ indices: UnsafeMutablePointer<Int64>?, context: ExecutionContext) {
        let (ih, iw) = (g.input[1], g.input[2])
        let (dd, dh, dw) = (g.dilation[0], g.dilation[1], g.dilation[2])
        let isMax = self.isMax
        let (dWin, hWin, wWin) = (windows(g, axis: 0), windows(g, axis: 1), windows(g, axis: 2))
        dWin.withUnsafeBufferPointer { dAxis in
        hWin.withUnsafeBufferPointer { hAxis in
        wWin.withUnsafeBufferPointer { wAxis in
            if indices == nil {
                poolRowsNCHW(g, x, y, dAxis, hAxis, wAxis, context: context)
                return
            }
            context.parallelFor(g.batch * g.channels, costPerItem: g.outputCount * g.kernelCount) { planes in
                for p in planes {
                    let plane = x + p * g.inputCount
                    var out = p * g.outputCount
                    for dz in dAxis {
                        for hz in hAxis {
                            for wz in wAxis {
                                if isMax {
                                    var best = -Float.infinity, at = -1
                                    for a in dz.taps {
                                        for b in hz.taps {
                                            let row = ((dz.start + a * dd) * ih + hz.start + b * dh) * iw + wz.start
                                            for e in wz.taps {
                                                let v = plane[row + e * dw]
                                                if v > best || at < 0 { best = v; at = row + e * dw }
                                            }
                                        }
                                    }
                                    y[out] = best
                                    indices?[out] = Int64(p * g.inputCount + Swift.max(at, 0))
                                } else {
                                    var sum: Float = 0
                                    for a in dz.taps {
                                        for b in hz.taps {
                                            let row = plane + ((dz.start + a * dd) * ih + hz.start + b * dh) * iw + wz.start
                                            for e in wz.taps { sum += row[e * dw] }
                                        }
                                    }
                                    y[out] = sum / Float(dz.share * hz.share * wz.share)
                                }
                                out += 1
                            }
                        }
                    }
                }
            }
        }
        }
        }
    }

    /// Channels-first pooling a whole output row at a time: for each kernel tap, the row takes the
    /// maximum (or sum) with the input row it reads, so there is no chain of dependent operations
    /// per output and no data-dependent branch.
    private func poolRowsNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                              _ dAxis: UnsafeBufferPointer<AxisWindow>, _ hAxis: UnsafeBufferPointer<AxisWindow>,
                              _ wAxis: UnsafeBufferPointer<AxisWindow>, context: ExecutionContext) {
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (ih, iw, kw) = (g.input[1], g.input[2], g.kernel[2])
        let (dd, dh, dw, sw) = (g.dilation[0], g.dilation[1], g.dilation[2], g.stride[2])
        let isMax = self.isMax
        let ranges = (0..<kw).map { g.validOutputs(axis: 2, tap: $0) }
        let offsets = (0..<kw).map { $0 * dw - g.padBegin[2] }
        context.parallelFor(g.batch * g.channels * od * oh, costPerItem: ow * g.kernelCount) { rows in
            let column = UnsafeMutablePointer<Float>.allocate(capacity: ow)
            defer { column.deallocate() }
            for r in rows {
                let p = r / (od * oh), zd = (r / oh) % od, zh = r % oh
                let plane = x + p * g.inputCount, out = y + r * ow
                out.update(repeating: isMax ? -.infinity : 0, count: ow)
                let dz = dAxis[zd], hz = hAxis[zh]
                if isMax {
                    for a in dz.taps {
                        for b in hz.taps {
                            let src = plane + ((dz.start + a * dd) * ih + hz.start + b * dh) * iw
                            for e in 0..<kw {
                                let range = ranges[e], off = offsets[e]
                                for i in range { out[i] = Swift.max(out[i], src[i * sw + off]) }
                            }
                        }
                    }
                    continue
                }
                // Sums in onnxruntime's (MLAS's) order: each kernel column over the window's rows,
                // then the columns in turn, so a float32 sum rounds as onnxruntime's does.
                for e in 0..<kw {
                    let range = ranges[e], off = offsets[e]
                    for i in range { column[i] = 0 }
                    for a in dz.taps {
                        for b in hz.taps {
                            let src = plane + ((dz.start + a * dd) * ih + hz.start + b * dh) * iw
                            for i in range { column[i] += src[i * sw + off] }
                        }
                    }
                    for i in range { out[i] += column[i] }
                }
                let rowShare = dz.share * hz.share
                for i in 0..<ow { out[i] /= Float(rowShare * wAxis[i].share) }
            }
        }
    }

    /// Channels-last: each output pixel is a vector over the contiguous channel axis.
    private func poolNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          context: ExecutionContext) {
        let c = g.channels
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let isMax = self.isMax
        context.parallelFor(g.batch * od * oh, costPerItem: ow * c * g.kernelCount) { rows in
            for r in rows {
                let n = r / (od * oh), zd = (r / oh) % od, zh = r % oh
                let dT = g.taps(axis: 0, at: zd), hT = g.taps(axis: 1, at: zh)
                for zw in 0..<ow {
                    let wT = g.taps(axis: 2, at: zw)
                    let acc = y + (r * ow + zw) * c
                    acc.update(repeating: isMax ? -.infinity : 0, count: c)
                    for a in dT {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for b in hT {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            for e in wT {
                                let pw = g.inputIndex(axis: 2, output: zw, tap: e)
                                let src = x + (((n * id + pd) * ih + ph) * iw + pw) * c
                                if isMax {
                                    for i in 0..<c { acc[i] = Swift.max(acc[i], src[i]) }
                                } else {
                                    for i in 0..<c { acc[i] += src[i] }
                                }
                            }
                        }
                    }
                    if !isMax {
                        let scale = 1 / divisor(g, (dT, hT, wT), zd, zh, zw)
                        for i in 0..<c { acc[i] *= scale }
                    }
                }
            }
        }
    }
}

/// GlobalAveragePool / GlobalMaxPool: one value per (batch, channel) over all spatial positions.
struct GlobalPoolKernel: Kernel {
    let channelsLast: Bool
    let isMax: Bool

    init(_ a: GlobalPoolAttributes, max: Bool) {
        channelsLast = a.format == .channelsLast
        isMax = max
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(x.dtype) }
        guard x.rank >= 3 else { throw AscentError.invalid("input \(x) has rank below 3") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.shape[0], c = channelsLast ? x.shape[x.rank - 1] : x.shape[1]
        let spatial = n * c == 0 ? 0 : x.count / (n * c)
        let src = x.floats, dst = y.mutableFloats
        let isMax = self.isMax
        if channelsLast {
            for b in 0..<n {
                let acc = dst + b * c
                acc.update(repeating: isMax ? -.infinity : 0, count: c)
                for s in 0..<spatial {
                    let row = src + (b * spatial + s) * c
                    if isMax {
                        for i in 0..<c where row[i] > acc[i] { acc[i] = row[i] }
                    } else {
                        for i in 0..<c { acc[i] += row[i] }
                    }
                }
                if !isMax && spatial > 0 {
                    let scale = 1 / Float(spatial)
                    for i in 0..<c { acc[i] *= scale }
                }
            }
        } else {
            context.parallelFor(n * c, costPerItem: spatial) { planes in
                for p in planes {
                    let plane = src + p * spatial
                    if isMax {
                        var best = -Float.infinity
                        for i in 0..<spatial where plane[i] > best { best = plane[i] }
                        dst[p] = best
                    } else {
                        var sum: Double = 0
                        for i in 0..<spatial { sum += Double(plane[i]) }
                        dst[p] = Float(sum / Double(spatial))
                    }
                }
            }
        }
        return [y]
    }
}

/// LpPool over `[N, C, spatial...]` float32: `(Σ |x|ᵖ)^(1/p)` over each window (padding counts as
/// zeros); `pads`, `auto_pad`, `strides`, `dilations`, `ceil_mode`.
struct LpPoolKernel: Kernel {
    let p: Int
    let window: Window
    let kernel: [Int]

    init(_ a: PoolAttributes) throws {
        p = a.p
        window = a.window
        kernel = try a.kernel()
    }

    /// Per spatial axis: output size, begin padding, stride and dilation (the IR's window geometry).
    func geometry(_ x: TensorType) throws -> (out: [Int], begin: [Int], s: [Int], d: [Int]) {
        guard x.rank >= 3 else { throw AscentError.invalid("input \(x) has rank below 3") }
        let g = try window.spatialGeometry(input: Array(x.shape[2...]), kernel: kernel)
        return (g.output, g.padBegin, g.strides, g.dilations)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        _ = try geometry(x)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let g = try geometry(x.type)
        let dims = Array(x.shape[2...]), n = dims.count
        let inSize = dims.reduce(1, *), outSize = g.out.reduce(1, *), kSize = kernel.reduce(1, *)
        let inStrides = contiguousStrides(dims), outStrides = contiguousStrides(g.out), kStrides = contiguousStrides(kernel)
        let xs = x.floats()
        var y = [Float](repeating: 0, count: outputs[0].count)
        for plane in 0..<(x.shape[0] * x.shape[1]) {
            for o in 0..<outSize {
                var sum = 0.0
                for k in 0..<kSize {
                    var offset = 0, inside = true
                    for i in 0..<n {
                        let oi = (o / outStrides[i]) % g.out[i], ki = (k / kStrides[i]) % kernel[i]
                        let c = oi * g.s[i] + ki * g.d[i] - g.begin[i]
                        if c < 0 || c >= dims[i] { inside = false; break }
                        offset += c * inStrides[i]
                    }
                    if inside {
                        sum += pow(abs(Double(xs[plane * inSize + offset])), Double(p))
                    }
                }
                y[plane * outSize + o] = Float(pow(sum, 1 / Double(p)))
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// MaxUnpool(X, I, output_shape?): X's values placed at the flat indices I of a zero tensor of the
/// unpooled shape (`(in − 1)·stride + kernel − pads`, or `output_shape`).
struct MaxUnpoolKernel: Kernel {
    let attributes: MaxUnpoolAttributes

    /// The unpooled shape of input `x` (before `output_shape`).
    func inferred(_ x: TensorType) throws -> [Int] {
        try attributes.output(x.shape.map(Dim.known)).map { $0.value ?? 0 }
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        let shape = try inferred(x)
        if inputs.has(2), let given = try inputs.ints(2) {
            guard given.count == shape.count, zip(given, shape).allSatisfy({ $0 >= $1 }) else {
                throw AscentError.invalid("output_shape \(given) is smaller than \(shape)")
            }
        }
        return nil
    }

    /// The values are placed in the inferred shape, which then sits at the start of `output_shape`.
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let shape = try inferred(x.type), out = outputs[0].shape
        let v = x.floats(), idx = indices.int64s(), count = shape.reduce(1, *)
        let inStrides = contiguousStrides(shape), outStrides = contiguousStrides(out)
        var y = [Float](repeating: 0, count: outputs[0].count)
        for i in 0..<min(v.count, idx.count) {
            let j = Int(idx[i])
            guard j >= 0, j < count else { throw AscentError.invalid("index \(j) is out of range") }
            var offset = 0
            for d in 0..<shape.count { offset += ((j / inStrides[d]) % shape[d]) * outStrides[d] }
            y[offset] = v[i]
        }
        return [Tensor(shape: out, scalars: y)]
    }
}

extension KernelRegistry {
    static let pooling: [(OpDefinition, KernelFactory)] = [
        (.maxPool, { try PoolKernel(try PoolAttributes($0), max: true, wantsIndices: $0.usesOutput(1)) }),
        (.averagePool, { try PoolKernel(try PoolAttributes($0), max: false, wantsIndices: false) }),
        (.lpPool, { try LpPoolKernel(try PoolAttributes($0)) }),
        (.globalAveragePool, { GlobalPoolKernel(try GlobalPoolAttributes($0), max: false) }),
        (.globalMaxPool, { GlobalPoolKernel(try GlobalPoolAttributes($0), max: true) }),
        (.maxUnpool, { MaxUnpoolKernel(attributes: try MaxUnpoolAttributes($0)) }),
    ]
}
