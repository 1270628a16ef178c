import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Conv: 1-D, 2-D and 3-D, `NCHW` (ONNX kernel `[O, C/g, k...]`) or `NHWC` (TensorFlow kernel
/// `[k..., C/g, O]`), groups, strides, dilations, pads and `auto_pad`.
///
/// Dense and grouped convolutions lower to im2col + oneDNN sgemm (a 1×1 unit-stride unpadded
/// window uses the input directly as the matrix). Depthwise convolutions (one input channel per
/// group) of 1-D/2-D inputs run a direct loop instead: as GEMMs they would be matrix-vector products.
enum ConvolutionKernels {
    static let factories: [String: KernelFactory] = [
        "Conv": { try ConvKernel($0) },
    ]
}

struct ConvKernel: Kernel {
    let window: WindowAttributes
    let group: Int

    init(_ a: NodeAttributes) throws {
        window = try WindowAttributes(a)
        group = try a.int("group", 1)
        guard group >= 1 else { throw AscentError.invalid("group \(group) must be positive") }
    }

    /// Kernel spatial sizes, input channels per group and output channels of weight shape `w`.
    func weightLayout(_ w: [Int]) -> (spatial: [Int], inPerGroup: Int, out: Int) {
        if window.channelsLast { return (Array(w.prefix(w.count - 2)), w[w.count - 2], w[w.count - 1]) }
        return (Array(w.dropFirst(2)), w[1], w[0])
    }

    func geometry(_ inputs: KernelInputs) throws -> (WindowGeometry, outChannels: Int) {
        let x = try inputs.type(0), w = try inputs.type(1)
        guard x.dtype == .float32, w.dtype == .float32 else { throw KernelError.dtype("Conv", x.dtype == .float32 ? w.dtype : x.dtype) }
        guard w.rank == x.rank else { throw AscentError.invalid("kernel \(w) and input \(x) differ in rank") }
        let (spatial, inPerGroup, out) = try { () throws -> ([Int], Int, Int) in
            guard w.rank >= 3 else { throw AscentError.invalid("kernel \(w) has rank below 3") }
            return weightLayout(w.shape)
        }()
        let g = try window.geometry(input: x.shape, kernel: spatial)
        guard g.channels == inPerGroup * group else {
            throw AscentError.invalid("input has \(g.channels) channels, kernel \(w) expects \(inPerGroup) × group \(group)")
        }
        guard out % group == 0 else { throw AscentError.invalid("\(out) output channels do not split into \(group) groups") }
        if inputs.has(2) {
            let b = try inputs.type(2)
            guard b.dtype == .float32, b.count == out, b.rank == 1 else { throw AscentError.invalid("bias \(b) should be float32[\(out)]") }
        }
        return (g, out)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let (g, out) = try geometry(inputs)
        return [TensorType(.float32, window.outputShape(g, channels: out))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let w = inputs[1] else { throw AscentError.invalid("missing input") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        let types = KernelInputs(types: inputs.map { $0?.type }, values: [])
        let (g, out) = try geometry(types)
        let y = context.allocate(outputs[0])
        let depthwise = group > 1 && g.channels == group && g.kernel[0] == 1 && g.input[0] == 1
        if depthwise {
            if window.channelsLast {
                depthwiseNHWC(g, x.floats, w.floats, bias?.floats, y.mutableFloats, out: out, context: context)
            } else {
                depthwiseNCHW(g, x.floats, w.floats, bias?.floats, y.mutableFloats, out: out, context: context)
            }
        } else if window.channelsLast {
            try gemmNHWC(g, x.floats, w.floats, bias?.floats, y.mutableFloats, out: out, context: context)
        } else {
            try gemmNCHW(g, x.floats, w.floats, bias?.floats, y.mutableFloats, out: out, context: context)
        }
        return [y]
    }

    // MARK: im2col + GEMM

    private func gemmNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                          context: ExecutionContext) throws {
        let cg = g.channels / group, og = out / group
        let k = cg * g.kernelCount, p = g.outputCount
        let pointwise = g.isPointwise
        let col = pointwise ? nil : context.scratch(floats: k * p)
        defer { if let col { context.release(scratch: col) } }
        for n in 0..<g.batch {
            for gi in 0..<group {
                let xg = x + (n * g.channels + gi * cg) * g.inputCount
                let yg = y + (n * out + gi * og) * p
                var matrix = xg
                if let col {
                    let c = col.baseAddress.assumingMemoryBound(to: Float.self)
                    im2colNCHW(g, xg, channels: cg, into: c, context: context)
                    matrix = UnsafePointer(c)
                }
                if let bias {
                    for o in 0..<og {
                        let v = bias[gi * og + o], row = yg + o * p
                        for i in 0..<p { row[i] = v }
                    }
                }
                try DNNL.sgemm(m: og, n: p, k: k, a: w + gi * og * k, lda: k, b: matrix, ldb: p,
                               beta: bias == nil ? 0 : 1, c: yg, ldc: p, threads: context.threads)
            }
        }
    }

    /// `col[(c·K + tap) · P + position]`: one row per (channel, kernel tap), one column per output position.
    private func im2colNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, channels: Int,
                            into col: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        let kvol = g.kernelCount, p = g.outputCount
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (ih, iw) = (g.input[1], g.input[2])
        let sw = g.stride[2]
        context.parallelFor(channels * kvol, costPerItem: p) { rows in
            for r in rows {
                let c = r / kvol, tap = r % kvol
                let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                let dst = col + r * p
                let plane = x + c * g.inputCount
                let wRange = g.validOutputs(axis: 2, tap: e)
                let off = e * g.dilation[2] - g.padBegin[2]
                for zd in 0..<od {
                    let id = g.inputIndex(axis: 0, output: zd, tap: a)
                    for zh in 0..<oh {
                        let hIndex = g.inputIndex(axis: 1, output: zh, tap: b)
                        let row = dst + (zd * oh + zh) * ow
                        if id < 0 || id >= g.input[0] || hIndex < 0 || hIndex >= ih || wRange.isEmpty {
                            row.update(repeating: 0, count: ow)
                            continue
                        }
                        let src = plane + (id * ih + hIndex) * iw
                        if wRange.lowerBound > 0 { row.update(repeating: 0, count: wRange.lowerBound) }
                        if sw == 1 {
                            (row + wRange.lowerBound).update(from: src + wRange.lowerBound + off, count: wRange.count)
                        } else {
                            for i in wRange { row[i] = src[i * sw + off] }
                        }
                        if wRange.upperBound < ow { (row + wRange.upperBound).update(repeating: 0, count: ow - wRange.upperBound) }
                    }
                }
            }
        }
    }

    private func gemmNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                          _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                          context: ExecutionContext) throws {
        let c = g.channels, cg = c / group, og = out / group
        let k = cg * g.kernelCount, p = g.outputCount
        if let bias {
            let rows = g.batch * p
            context.parallelFor(rows, costPerItem: out) { r in
                for i in r { (y + i * out).update(from: bias, count: out) }
            }
        }
        let beta: Float = bias == nil ? 0 : 1
        if g.isPointwise {
            // The input rows are the matrix: [N·P, C] × [C, O], one GEMM per group over the whole batch.
            for gi in 0..<group {
                try DNNL.sgemm(m: g.batch * p, n: og, k: cg, a: x + gi * cg, lda: c, b: w + gi * og, ldb: out,
                               beta: beta, c: y + gi * og, ldc: out, threads: context.threads)
            }
            return
        }
        let col = context.scratch(floats: k * p)
        defer { context.release(scratch: col) }
        let cm = col.baseAddress.assumingMemoryBound(to: Float.self)
        for n in 0..<g.batch {
            for gi in 0..<group {
                im2colNHWC(g, x + n * g.inputCount * c + gi * cg, channels: cg, into: cm, context: context)
                try DNNL.sgemm(m: p, n: og, k: k, a: cm, lda: k, b: w + gi * og, ldb: out,
                               beta: beta, c: y + n * p * out + gi * og, ldc: out, threads: context.threads)
            }
        }
    }

    /// `col[position · (K·Cg) + tap · Cg + c]`: one row per output position, matching the
    /// `[k..., C/g, O]` kernel read as a `(K·Cg) × O` matrix. `x` points at the group's first channel.
    private func im2colNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, channels cg: Int,
                            into col: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        let c = g.channels, kvol = g.kernelCount, k = kvol * cg
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        context.parallelFor(od * oh, costPerItem: ow * k) { rows in
            for r in rows {
                let zd = r / oh, zh = r % oh
                for zw in 0..<ow {
                    let dst = col + ((zd * oh + zh) * ow + zw) * k
                    for tap in 0..<kvol {
                        let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                        let pw = g.inputIndex(axis: 2, output: zw, tap: e)
                        let t = dst + tap * cg
                        if pd < 0 || pd >= id || ph < 0 || ph >= ih || pw < 0 || pw >= iw {
                            t.update(repeating: 0, count: cg)
                        } else {
                            t.update(from: x + ((pd * ih + ph) * iw + pw) * c, count: cg)
                        }
                    }
                }
            }
        }
    }

    // MARK: Depthwise (direct)

    /// Channels-last depthwise: `y[n,h,w,o] = Σ x[n,h',w',o/m] · k[i,j,0,o]` with multiplier `m = O/C`;
    /// vectorized over the contiguous channel axis.
    private func depthwiseNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                               _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                               context: ExecutionContext) {
        let c = g.channels, m = out / c
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2]), kw = g.kernel[2]
        context.parallelFor(g.batch * oh, costPerItem: ow * out * g.kernelCount) { rows in
            for r in rows {
                let n = r / oh, zh = r % oh
                let hTaps = g.taps(axis: 1, at: zh)
                for zw in 0..<ow {
                    let acc = y + (r * ow + zw) * out
                    if let bias { acc.update(from: bias, count: out) } else { acc.update(repeating: 0, count: out) }
                    let wTaps = g.taps(axis: 2, at: zw)
                    for a in hTaps {
                        let row = g.inputIndex(axis: 1, output: zh, tap: a)
                        for b in wTaps {
                            let column = g.inputIndex(axis: 2, output: zw, tap: b)
                            let xr = x + ((n * ih + row) * iw + column) * c
                            let wr = w + (a * kw + b) * out
                            if m == 1 {
                                for o in 0..<out { acc[o] += xr[o] * wr[o] }
                            } else {
                                for ci in 0..<c {
                                    let v = xr[ci], base = ci * m
                                    for j in 0..<m { acc[base + j] += v * wr[base + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Channels-first depthwise: each output plane `o` filters input plane `o/m` with `k[o,0,:,:]`.
    private func depthwiseNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                               _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                               context: ExecutionContext) {
        let c = g.channels, m = out / c
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2]), sw = g.stride[2]
        let wRanges = (0..<kw).map { g.validOutputs(axis: 2, tap: $0) }
        let offsets = (0..<kw).map { $0 * g.dilation[2] - g.padBegin[2] }
        context.parallelFor(g.batch * out, costPerItem: oh * ow * kh * kw) { planes in
            for p in planes {
                let n = p / out, o = p % out
                let yp = y + p * oh * ow
                let xp = x + (n * c + o / m) * ih * iw
                let wp = w + o * kh * kw
                yp.update(repeating: bias?[o] ?? 0, count: oh * ow)
                for zh in 0..<oh {
                    let yr = yp + zh * ow
                    for a in g.taps(axis: 1, at: zh) {
                        let xr = xp + g.inputIndex(axis: 1, output: zh, tap: a) * iw
                        for b in 0..<kw {
                            let v = wp[a * kw + b], off = offsets[b], range = wRanges[b]
                            if sw == 1 {
                                let src = xr + off
                                for i in range { yr[i] += v * src[i] }
                            } else {
                                for i in range { yr[i] += v * xr[i * sw + off] }
                            }
                        }
                    }
                }
            }
        }
    }
}
