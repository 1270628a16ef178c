import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the convolution ops (Ops/Convolution.swift): Conv (oneDNN primitives, im2col + sgemm,
// direct depthwise loops), ConvTranspose, DeformConv, Col2Im.

/// Conv: 1-D, 2-D and 3-D, `NCHW` (ONNX kernel `[O, C/g, k...]`) or `NHWC` (TensorFlow kernel
/// `[k..., C/g, O]`), groups, strides, dilations, pads and `auto_pad`; optionally a fused
/// Relu/Clip (see ``Fusion``).
///
/// With a constant kernel (the usual case) each plan makes a oneDNN convolution primitive,
/// JIT-compiled for this CPU (``PrimitiveConvKernel``). Otherwise, or when oneDNN has only its
/// reference implementation, the built-in kernels run: dense and grouped convolutions lower to
/// im2col + oneDNN sgemm (a 1×1 unit-stride unpadded window uses the input directly as the
/// matrix); depthwise convolutions (one input channel per group) of 1-D/2-D inputs run a direct
/// loop (below): as GEMMs they would be matrix-vector products.
struct ConvKernel: Kernel {
    let window: Window
    let group: Int
    /// A fused activation clamping the output to `[lo, hi]` (see ``Fusion``), or nil.
    let clamp: (lo: Float, hi: Float)?

    init(_ a: ConvAttributes, clamp: (lo: Float, hi: Float)?) {
        window = a.window
        group = a.group
        self.clamp = clamp
    }

    /// Kernel spatial sizes, input channels per group and output channels of weight shape `w`.
    func weightLayout(_ w: [Int]) -> (spatial: [Int], inPerGroup: Int, out: Int) {
        if window.channelsLast { return (Array(w.prefix(w.count - 2)), w[w.count - 2], w[w.count - 1]) }
        return (Array(w.dropFirst(2)), w[1], w[0])
    }

    func geometry(_ inputs: KernelInputs) throws -> (WindowGeometry, outChannels: Int) {
        let x = try inputs.type(0), w = try inputs.type(1)
        guard x.dtype == .float32, w.dtype == .float32 else { throw KernelError.dtype(x.dtype == .float32 ? w.dtype : x.dtype) }
        guard w.rank == x.rank else { throw AscentError.invalid("kernel \(w) and input \(x) differ in rank") }
        guard w.rank >= 3 else { throw AscentError.invalid("kernel \(w) has rank below 3") }
        let (spatial, inPerGroup, out) = weightLayout(w.shape)
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try geometry(inputs)
        return nil
    }

    /// Convolutions with a constant kernel run as a oneDNN primitive (JIT-compiled for this CPU,
    /// kernel reordered once) when oneDNN has a non-reference implementation.
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? {
        guard let w = inputs.value(1) else { return nil }
        let (g, out) = try geometry(inputs)
        let shape = DNNL.ConvolutionShape(g, outChannels: out, groups: group, channelsLast: window.channelsLast, clamp: clamp)
        guard let primitive = DNNL.Convolution.make(shape, kernel: w.floats, hasBias: inputs.has(2), threads: threads) else { return nil }
        return PrimitiveConvKernel(primitive: primitive, base: self)
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
        if let (lo, hi) = clamp {
            let p = y.mutableFloats
            context.parallelFor(y.count) { r in
                for i in r { p[i] = Swift.min(Swift.max(p[i], lo), hi) }
            }
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
        // Images are unrolled together, as many as fit in the scratch budget, for one larger GEMM each.
        let perImage = k * p
        let chunk = max(1, min(g.batch, ConvKernel.scratchBudget / max(perImage, 1)))
        let col = context.scratch(floats: chunk * perImage)
        defer { context.release(scratch: col) }
        let cm = col.baseAddress.assumingMemoryBound(to: Float.self)
        // Few output channels make a tall, narrow GEMM that runs at a third of the speed of its
        // transpose: then unroll to [K, positions], compute [O, positions] and transpose back.
        let narrow = og < 32
        let product = narrow ? context.scratch(floats: chunk * p * og + og * k) : nil
        defer { if let product { context.release(scratch: product) } }
        for gi in 0..<group {
            var n = 0
            while n < g.batch {
                let images = min(chunk, g.batch - n), rows = images * p
                let xg = x + n * g.inputCount * c + gi * cg, yg = y + n * p * out + gi * og
                if let product {
                    let t = product.baseAddress.assumingMemoryBound(to: Float.self), wt = t + chunk * p * og
                    im2colNHWC(g, xg, images: images, channels: cg, into: cm, context: context)
                    // The group's kernel columns as an [O/g, K] matrix.
                    for o in 0..<og { for i in 0..<k { wt[o * k + i] = w[i * out + gi * og + o] } }
                    try DNNL.sgemm(transB: true, m: og, n: rows, k: k, a: wt, lda: k, b: cm, ldb: k,
                                   c: t, ldc: rows, threads: context.threads)
                    context.parallelFor(rows, costPerItem: og) { range in
                        for q in range {
                            let dst = yg + q * out
                            if beta == 0 {
                                for o in 0..<og { dst[o] = t[o * rows + q] }
                            } else {
                                for o in 0..<og { dst[o] += t[o * rows + q] }
                            }
                        }
                    }
                } else {
                    im2colNHWC(g, xg, images: images, channels: cg, into: cm, context: context)
                    try DNNL.sgemm(m: rows, n: og, k: k, a: cm, lda: k, b: w + gi * og, ldb: out,
                                   beta: beta, c: yg, ldc: out, threads: context.threads)
                }
                n += images
            }
        }
    }

    /// The transpose of ``im2colNHWC(_:_:images:channels:into:context:)``: `col[(tap · Cg + c) · M + position]`
    /// for the `M` output positions of `images` images.
    private func im2colTransposedNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, images: Int, channels cg: Int,
                                      into col: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        let c = g.channels, kvol = g.kernelCount
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        let m = images * g.outputCount
        let sw = g.stride[2]
        context.parallelFor(kvol * cg, costPerItem: m) { lines in
            for line in lines {
                let tap = line / cg, ci = line % cg
                let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                let row = col + line * m
                let wRange = g.validOutputs(axis: 2, tap: e)
                let shift = e * g.dilation[2] - g.padBegin[2]
                var q = 0
                for image in 0..<images {
                    let xi = x + image * g.inputCount * c + ci
                    for zd in 0..<od {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for zh in 0..<oh {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            let dst = row + q
                            q += ow
                            guard pd >= 0 && pd < id && ph >= 0 && ph < ih && !wRange.isEmpty else {
                                dst.update(repeating: 0, count: ow)
                                continue
                            }
                            let src = xi + (pd * ih + ph) * iw * c
                            for zw in 0..<wRange.lowerBound { dst[zw] = 0 }
                            for zw in wRange { dst[zw] = src[(zw * sw + shift) * c] }
                            for zw in wRange.upperBound..<ow { dst[zw] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// Floats of im2col scratch worth unrolling several images into at once (16 MB).
    static let scratchBudget = 4 << 20

    /// `col[position · (K·Cg) + tap · Cg + c]`: one row per output position of each of `images`
    /// images, matching the `[k..., C/g, O]` kernel read as a `(K·Cg) × O` matrix. `x` points at
    /// the first image's first channel of the group.
    private func im2colNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, images: Int, channels cg: Int,
                            into col: UnsafeMutablePointer<Float>, context: ExecutionContext) {
        let c = g.channels, kvol = g.kernelCount, k = kvol * cg
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kd, kh, kw) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sw, dw, padW) = (g.stride[2], g.dilation[2], g.padBegin[2])
        // With unit dilation and one group, a row of kw taps is one contiguous run of kw·C floats.
        let runs = dw == 1 && cg == c
        context.parallelFor(images * od * oh, costPerItem: ow * k) { rows in
            for r in rows {
                let image = r / (od * oh), zd = (r / oh) % od, zh = r % oh
                let xi = x + image * g.inputCount * c
                for zw in 0..<ow {
                    let dst = col + (r * ow + zw) * k
                    let pw0 = zw * sw - padW
                    let wholeRow = runs && pw0 >= 0 && pw0 + kw <= iw
                    var t = dst
                    for a in 0..<kd {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for b in 0..<kh {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            let inside = pd >= 0 && pd < id && ph >= 0 && ph < ih
                            if inside && wholeRow {
                                copy(t, xi + ((pd * ih + ph) * iw + pw0) * c, kw * cg)
                                t += kw * cg
                                continue
                            }
                            for e in 0..<kw {
                                let pw = pw0 + e * dw
                                if inside && pw >= 0 && pw < iw {
                                    copy(t, xi + ((pd * ih + ph) * iw + pw) * c, cg)
                                } else {
                                    t.update(repeating: 0, count: cg)
                                }
                                t += cg
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Copies `n` floats; a plain loop for short runs, where a `memmove` call would dominate.
@inline(__always)
private func copy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    if n < 16 {
        for i in 0..<n { dst[i] = src[i] }
    } else {
        dst.update(from: src, count: n)
    }
}

extension DNNL.ConvolutionShape {
    /// The shape of the convolution over window geometry `g`.
    init(_ g: WindowGeometry, outChannels: Int, groups: Int, channelsLast: Bool, clamp: (lo: Float, hi: Float)?) {
        let n = g.spatialRank
        func last(_ v: SIMD3<Int>) -> [Int] { Array([v[0], v[1], v[2]].suffix(n)) }
        self.init(batch: g.batch, channels: g.channels, outChannels: outChannels, groups: groups,
                  input: last(g.input), output: last(g.output), kernel: last(g.kernel), strides: last(g.stride),
                  dilations: last(g.dilation), padBegin: last(g.padBegin), padEnd: last(g.padEnd),
                  channelsLast: channelsLast, clamp: clamp)
    }
}

/// A convolution running as a oneDNN primitive made for one plan.
struct PrimitiveConvKernel: Kernel {
    let primitive: DNNL.Convolution
    let base: ConvKernel

    func check(_ inputs: KernelInputs) throws -> [TensorType]? { try base.check(inputs) }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let stream = context.stream else { return try base.run(inputs, outputs: outputs, context: context) }
        let bias = inputs.count > 2 ? inputs[2] : nil
        let y = context.allocate(outputs[0])
        let scratch = primitive.scratchBytes > 0 ? context.scratch(bytes: primitive.scratchBytes) : nil
        defer { if let scratch { context.release(scratch: scratch) } }
        try primitive.run(x: x.floats, bias: bias?.floats, y: y.mutableFloats, scratch: scratch?.baseAddress,
                          stream: stream)
        return [y]
    }
}

/// Direct depthwise convolution (one input channel per group, `C·m` outputs for multiplier
/// `m`), used when no oneDNN primitive was made for the node.
extension ConvKernel {
    /// Channels-last depthwise: `y[n,h,w,o] = Σ x[n,h',w',o/m] · k[i,j,0,o]` with multiplier `m = O/C`;
    /// vectorized over the contiguous channel axis.
    func depthwiseNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                       _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                       context: ExecutionContext) {
        let c = g.channels, m = out / c
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2]), kw = g.kernel[2]
        if m == 1 && g.stride[2] == 1 {
            depthwiseRowsNHWC(g, x, w, bias, y, context: context)
            return
        }
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

    /// Channels-last depthwise with multiplier 1 and unit horizontal stride: for each kernel tap,
    /// a run of output pixels reads a contiguous run of input pixels, so the work is long
    /// contiguous multiply-adds against the tap's weights repeated across `t` pixels.
    func depthwiseRowsNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                           _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                           context: ExecutionContext) {
        let c = g.channels
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        let t = max(1, (64 + c - 1) / c), span = t * c
        // Tiled weights (one block of `span` floats per tap) and bias.
        let tiles = context.scratch(floats: (kh * kw + 1) * span)
        defer { context.release(scratch: tiles) }
        let tw = tiles.baseAddress.assumingMemoryBound(to: Float.self)
        for tap in 0..<(kh * kw) {
            for p in 0..<t { (tw + tap * span + p * c).update(from: w + tap * c, count: c) }
        }
        let tb = tw + kh * kw * span
        for p in 0..<t {
            if let bias { (tb + p * c).update(from: bias, count: c) } else { (tb + p * c).update(repeating: 0, count: c) }
        }
        let wRanges = (0..<kw).map { g.validOutputs(axis: 2, tap: $0) }
        let offsets = (0..<kw).map { $0 * g.dilation[2] - g.padBegin[2] }
        context.parallelFor(g.batch * oh, costPerItem: ow * c * kh * kw) { rows in
            for r in rows {
                let n = r / oh, zh = r % oh
                let yr = y + r * ow * c
                var o = 0
                while o < ow {
                    let k = min(t, ow - o) * c
                    let dst = yr + o * c
                    for j in 0..<k { dst[j] = tb[j] }
                    o += t
                }
                for a in g.taps(axis: 1, at: zh) {
                    let xr = x + (n * ih + g.inputIndex(axis: 1, output: zh, tap: a)) * iw * c
                    for b in 0..<kw {
                        let range = wRanges[b], wt = tw + (a * kw + b) * span
                        var o = range.lowerBound
                        while o < range.upperBound {
                            let k = min(t, range.upperBound - o) * c
                            let dst = yr + o * c, src = xr + (o + offsets[b]) * c
                            for j in 0..<k { dst[j] += src[j] * wt[j] }
                            o += t
                        }
                    }
                }
            }
        }
    }

    /// Channels-first depthwise: each output plane `o` filters input plane `o/m` with `k[o,0,:,:]`.
    func depthwiseNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
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

/// ConvTranspose over NCHW-style `[N, C, spatial...]` float32 inputs with `[C, M/group, k...]`
/// weights, following the ONNX reference: `pads` (or SAME_UPPER/SAME_LOWER padding worked out from
/// `output_shape`, default `input · stride`), `output_padding`, `output_shape` (the result cropped
/// or zero-extended to it), `strides`, `dilations`, `group` and an optional bias.
struct ConvTransposeKernel: Kernel {
    let attributes: ConvTransposeAttributes
    var group: Int { attributes.group }

    struct Geometry {
        var input: [Int], kernel: [Int], output: [Int]
        var strides: [Int], dilations: [Int], padBegin: [Int]
        var outChannels: Int
    }

    func geometry(_ x: TensorType, _ w: TensorType) throws -> Geometry {
        guard x.rank >= 3, w.rank == x.rank else { throw AscentError.invalid("input \(x) and weights \(w) do not match") }
        let input = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        guard x.shape[1] == w.shape[0], x.shape[1] % group == 0 else {
            throw AscentError.invalid("input channels \(x.shape[1]) do not match weights \(w) with group \(group)")
        }
        let g = try attributes.geometry(input: input, kernel: kernel)
        return Geometry(input: input, kernel: kernel, output: g.output, strides: g.strides, dilations: g.dilations,
                        padBegin: g.padBegin, outChannels: w.shape[1] * group)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        try requireFloat(x)
        let g = try geometry(x, w)
        if inputs.has(2) {
            guard try inputs.type(2).count == g.outChannels else { throw AscentError.invalid("bias does not have \(g.outChannels) values") }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let w = inputs[1] else { throw AscentError.invalid("missing input") }
        let g = try geometry(x.type, w.type)
        let n = g.input.count
        let inSize = g.input.reduce(1, *), kSize = g.kernel.reduce(1, *), outSize = g.output.reduce(1, *)
        let inStrides = contiguousStrides(g.input), kStrides = contiguousStrides(g.kernel), outStrides = contiguousStrides(g.output)
        // target[p·K + q]: the output position input position p and kernel position q add to, or −1.
        var target = [Int](repeating: -1, count: inSize * kSize)
        for p in 0..<inSize {
            for q in 0..<kSize {
                var t = 0, inside = true
                for i in 0..<n {
                    let ip = (p / inStrides[i]) % g.input[i], kq = (q / kStrides[i]) % g.kernel[i]
                    let o = ip * g.strides[i] + kq * g.dilations[i] - g.padBegin[i]
                    if o < 0 || o >= g.output[i] { inside = false; break }
                    t += o * outStrides[i]
                }
                if inside { target[p * kSize + q] = t }
            }
        }
        let batch = x.shape[0], c = x.shape[1], cg = c / group, mg = w.shape[1]
        let y = context.allocateZeroed(outputs[0])
        let xs = x.floats, ws = w.floats, o = y.mutableFloats
        let planes = batch * g.outChannels
        target.withUnsafeBufferPointer { target in
            // Each (image, output channel) plane is written by one chunk only.
            context.parallelFor(planes, costPerItem: cg * inSize * kSize) { range in
                for plane in range {
                    let b = plane / g.outChannels, cout = plane % g.outChannels
                    let gi = cout / mg, oc = cout % mg, oBase = plane * outSize
                    for ic in 0..<cg {
                        let cin = gi * cg + ic
                        let xBase = (b * c + cin) * inSize, wBase = (cin * mg + oc) * kSize
                        for p in 0..<inSize {
                            let v = xs[xBase + p]
                            for q in 0..<kSize {
                                let t = target[p * kSize + q]
                                if t >= 0 { o[oBase + t] += v * ws[wBase + q] }
                            }
                        }
                    }
                }
            }
        }
        if inputs.count > 2, let bias = inputs[2] {
            let bv = bias.floats()
            for b in 0..<batch { for m in 0..<g.outChannels { for i in 0..<outSize { o[(b * g.outChannels + m) * outSize + i] += bv[m] } } }
        }
        return [y]
    }
}

/// DeformConv (2-D, float32): a convolution whose kernel taps are moved by `offset`
/// `[N, offset_group·kh·kw·2, oh, ow]` and sampled bilinearly (zeros outside), each scaled by the
/// optional `mask`; `group`, `offset_group`, `pads`, `strides`, `dilations`, bias.
struct DeformConvKernel: Kernel {
    let group: Int, offsetGroup: Int
    let strides: [Int]?, dilations: [Int]?, pads: [Int]?

    init(_ a: DeformConvAttributes) {
        group = a.group
        offsetGroup = a.offsetGroup
        strides = a.strides
        dilations = a.dilations
        pads = a.pads
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1), offset = try inputs.type(2)
        try requireFloat(x)
        guard x.rank == 4, w.rank == 4, offset.rank == 4, x.shape[1] == w.shape[1] * group, w.shape[0] % group == 0,
              x.shape[1] % offsetGroup == 0, offset.shape[1] == offsetGroup * w.shape[2] * w.shape[3] * 2 else {
            throw AscentError.invalid("X \(x), W \(w) and offset \(offset) do not match (2-D only)")
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let wt = inputs[1], let ot = inputs[2] else { throw AscentError.invalid("missing input") }
        let bias = inputs.count > 3 ? inputs[3]?.floats() : nil, mask = inputs.count > 4 ? inputs[4]?.doubles() : nil
        let (n, ic, ih, iw) = (xt.shape[0], xt.shape[1], xt.shape[2], xt.shape[3])
        let (oc, kh, kw) = (wt.shape[0], wt.shape[2], wt.shape[3]), (oh, ow) = (ot.shape[2], ot.shape[3])
        let s = strides ?? [1, 1], d = dilations ?? [1, 1], p = pads ?? [0, 0, 0, 0]
        let x = xt.doubles(), w = wt.doubles(), off = ot.doubles()
        let icg = wt.shape[1], ocg = oc / group, icOffset = ic / offsetGroup
        var y = [Float](repeating: 0, count: outputs[0].count)
        func sample(_ plane: Int, _ h: Double, _ v: Double) -> Double {
            let h0 = h.rounded(.down), w0 = v.rounded(.down), fh = h - h0, fw = v - w0
            var acc = 0.0
            for (dy, wy) in [(0, 1 - fh), (1, fh)] {
                for (dx, wx) in [(0, 1 - fw), (1, fw)] {
                    let yy = Int(h0) + dy, xx = Int(w0) + dx
                    if yy >= 0, yy < ih, xx >= 0, xx < iw { acc += wy * wx * x[plane + yy * iw + xx] }
                }
            }
            return acc
        }
        for b in 0..<n {
            for o in 0..<oc {
                let g = o / ocg
                for i in 0..<oh {
                    for j in 0..<ow {
                        var acc = Double(bias?[o] ?? 0)
                        for cl in 0..<icg {
                            let c = g * icg + cl, og = c / icOffset, plane = (b * ic + c) * ih * iw
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let k = ki * kw + kj
                                    let base = ((b * offsetGroup + og) * kh * kw + k) * 2
                                    let dh = off[(base * oh + i) * ow + j], dw = off[((base + 1) * oh + i) * ow + j]
                                    let h = Double(i * s[0] - p[0] + ki * d[0]) + dh, v = Double(j * s[1] - p[1] + kj * d[1]) + dw
                                    let m = mask.map { $0[(((b * offsetGroup + og) * kh * kw + k) * oh + i) * ow + j] } ?? 1
                                    acc += sample(plane, h, v) * w[((o * icg + cl) * kh + ki) * kw + kj] * m
                                }
                            }
                        }
                        y[((b * oc + o) * oh + i) * ow + j] = Float(acc)
                    }
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// Col2Im(input [N, C·∏block, L], image_shape, block_shape): the columns summed back into
/// `[N, C, image...]` with `dilations`, `pads` and `strides`.
struct Col2ImKernel: Kernel {
    let dilations: [Int]?, pads: [Int]?, strides: [Int]?

    init(_ a: Col2ImAttributes) {
        dilations = a.dilations
        pads = a.pads
        strides = a.strides
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        guard let block = try inputs.ints(2), let image = try inputs.ints(1) else { return nil }
        let k = block.reduce(1, *)
        guard x.rank == 3, image.count == block.count, k > 0, x.shape[1] % k == 0 else {
            throw AscentError.invalid("input \(x) does not match block \(block)")
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let image = inputs[1]?.int64s().map({ Int($0) }), let block = inputs[2]?.int64s().map({ Int($0) }) else {
            throw AscentError.invalid("missing input")
        }
        let r = image.count
        let d = dilations ?? Array(repeating: 1, count: r), s = strides ?? Array(repeating: 1, count: r)
        let p = pads ?? Array(repeating: 0, count: 2 * r)
        var blocks: [Int] = []
        for i in 0..<r {
            let span = d[i] * (block[i] - 1) + 1
            let padded: Int = image[i] + p[i] + p[i + r]
            blocks.append((padded - span) / s[i] + 1)
        }
        let k = block.reduce(1, *), l = blocks.reduce(1, *), imageSize = image.reduce(1, *)
        guard l == x.shape[2] else { throw AscentError.invalid("input has \(x.shape[2]) columns, the geometry gives \(l)") }
        let kStrides = contiguousStrides(block), lStrides = contiguousStrides(blocks), iStrides = contiguousStrides(image)
        let n = x.shape[0], c = x.shape[1] / k, v = x.floats()
        var y = [Float](repeating: 0, count: outputs[0].count)
        for b in 0..<n {
            for ci in 0..<c {
                for kk in 0..<k {
                    for ll in 0..<l {
                        var offset = 0, inside = true
                        for i in 0..<r {
                            let pos = ((ll / lStrides[i]) % blocks[i]) * s[i] - p[i] + ((kk / kStrides[i]) % block[i]) * d[i]
                            if pos < 0 || pos >= image[i] { inside = false; break }
                            offset += pos * iStrides[i]
                        }
                        if inside { y[(b * c + ci) * imageSize + offset] += v[((b * c + ci) * k + kk) * l + ll] }
                    }
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

extension Fusion {
    /// The bounds of the activation ``Fusion`` folded into a Conv node, or nil.
    static func clamp(of node: Node) throws -> (lo: Float, hi: Float)? {
        guard let lo = node.attributes[activationMin] else { return nil }
        let hi = node.attributes[activationMax] ?? .float(.infinity)
        guard let l = lo.float, let h = hi.float else { throw AscentError(.internal, "fused activation bounds are not floats") }
        return (Float(l), Float(h))
    }
}

extension KernelRegistry {
    static let convolution: [(OpDefinition, KernelFactory)] = [
        (.conv, { ConvKernel(try ConvAttributes($0), clamp: try Fusion.clamp(of: $0)) }),
        (.convTranspose, { ConvTransposeKernel(attributes: try ConvTransposeAttributes($0)) }),
        (.deformConv, { DeformConvKernel(try DeformConvAttributes($0)) }),
        (.col2Im, { Col2ImKernel(try Col2ImAttributes($0)) }),
    ]
}
