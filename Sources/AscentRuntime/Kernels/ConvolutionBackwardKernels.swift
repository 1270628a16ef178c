import AscentIR

// Kernels of the convolution backward primitives (Ops/Convolution.swift): ConvGradInput (with the
// oneDNN backward-data primitive) and ConvGradFilter.

/// `ConvGradInput(dy, w, x)` — the transposed convolution giving d(Conv)/d(x) applied to `dy`,
/// shaped like `x` — and `ConvGradFilter(x, dy, w)` — d(Conv)/d(w) applied to `dy`, shaped
/// like `w`. Both take the forward Conv's attributes: `data_format` (`NCHW` with an
/// `[O, C/g, k...]` kernel, `NHWC` with a `[k..., C/g, O]` kernel), `group`, `strides`,
/// `dilations`, `pads` and `auto_pad` (1-D to 3-D windows).
///
/// Both lower to oneDNN sgemm per group: the input gradient is `Wᵀ · dy` followed by col2im
/// (summing each column back onto the input pixels it came from), the filter gradient is
/// `dy · im2col(x)ᵀ` summed over the batch. A 1×1 unit-stride unpadded window needs neither
/// im2col nor col2im: the GEMMs read and write the tensors in place. Depthwise convolutions (one
/// input channel per group; channels-last also one output channel per group) run direct loops
/// instead, where GEMMs would be matrix-vector products. col2im and the depthwise loops work per
/// input row, plane or output channel, so threads never write the same element.
struct ConvGradKernel: Kernel {
    let window: Window
    let group: Int
    /// True for ConvGradFilter, false for ConvGradInput.
    let filter: Bool

    init(_ a: ConvAttributes, filter: Bool) {
        window = a.window
        group = a.group
        self.filter = filter
    }

    /// The input positions of x, w and dy for this op.
    var positions: (x: Int, w: Int, dy: Int) { filter ? (0, 2, 1) : (2, 1, 0) }

    /// The forward geometry and output channel count, after checking that `dy` has the shape
    /// the forward Conv of `x` and `w` produces.
    func geometry(x: TensorType, w: TensorType, dy: TensorType) throws -> (WindowGeometry, out: Int) {
        for t in [x, w, dy] where t.dtype != .float32 { throw KernelError.dtype(t.dtype) }
        guard w.rank == x.rank, w.rank >= 3 else { throw AscentError.invalid("kernel \(w) and input \(x) differ in rank") }
        let r = w.rank
        let (spatial, inPerGroup, out) = window.channelsLast
            ? (Array(w.shape.prefix(r - 2)), w.shape[r - 2], w.shape[r - 1])
            : (Array(w.shape.dropFirst(2)), w.shape[1], w.shape[0])
        let g = try window.geometry(input: x.shape, kernel: spatial)
        guard g.channels == inPerGroup * group else {
            throw AscentError.invalid("input has \(g.channels) channels, kernel \(w) expects \(inPerGroup) × group \(group)")
        }
        guard out % group == 0 else { throw AscentError.invalid("\(out) output channels do not split into \(group) groups") }
        let expected = window.outputShape(g, channels: out)
        guard dy.shape == expected else {
            throw AscentError.invalid("output gradient \(dy) does not match the convolution's output \(Shape(expected))")
        }
        return (g, out)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let p = positions
        _ = try geometry(x: try inputs.type(p.x), w: try inputs.type(p.w), dy: try inputs.type(p.dy))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let p = positions
        guard inputs.count == 3, let x = inputs[p.x], let w = inputs[p.w], let dy = inputs[p.dy] else {
            throw AscentError.invalid("missing input")
        }
        let (g, out) = try geometry(x: x.type, w: w.type, dy: dy.type)
        let result = context.allocateZeroed(outputs[0])
        let shape = GEMMShape(g: g, group: group, out: out)
        switch (filter, window.channelsLast) {
        case (false, false): try inputNCHW(shape, dy.floats, w.floats, result.mutableFloats, context)
        case (false, true): try inputNHWC(shape, dy.floats, w.floats, result.mutableFloats, context)
        case (true, false): try filterNCHW(shape, x.floats, dy.floats, result.mutableFloats, context)
        case (true, true): try filterNHWC(shape, x.floats, dy.floats, result.mutableFloats, context)
        }
        return [result]
    }

    /// The per-group matrix sizes of a convolution.
    struct GEMMShape {
        let g: WindowGeometry
        let group: Int
        /// Channels: all, per group; output channels: all, per group.
        let c: Int, cg: Int, out: Int, og: Int
        /// Kernel taps, rows of the unrolled input (`cg · taps`), output positions per image.
        let taps: Int, k: Int, p: Int

        init(g: WindowGeometry, group: Int, out: Int) {
            self.g = g
            self.group = group
            c = g.channels
            cg = c / group
            self.out = out
            og = out / group
            taps = g.kernelCount
            k = cg * taps
            p = g.outputCount
        }

        /// Images unrolled together so that `images · p · k` floats fit the scratch budget.
        var chunk: Int { max(1, min(g.batch, ConvKernel.scratchBudget / max(p * k, 1))) }
    }

    // MARK: Channels first

    /// `dx_g = col2im(W_gᵀ · dy_g)` per image and group; `W_g` is `[og, k]`, `dy_g` is `[og, p]`.
    private func inputNCHW(_ s: GEMMShape, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                           _ dx: UnsafeMutablePointer<Float>, _ context: ExecutionContext) throws {
        let g = s.g, pointwise = g.isPointwise
        if s.cg == 1 && !pointwise {
            depthwiseInputNCHW(s, dy, w, dx, context)
            return
        }
        let col = pointwise ? nil : context.scratch(floats: s.k * s.p)
        defer { if let col { context.release(scratch: col) } }
        for n in 0..<g.batch {
            for gi in 0..<group {
                let dyg = dy + (n * s.out + gi * s.og) * s.p
                let dxg = dx + (n * s.c + gi * s.cg) * g.inputCount
                let wg = w + gi * s.og * s.k
                guard let col else {
                    try DNNL.sgemm(transA: true, m: s.cg, n: s.p, k: s.og, a: wg, lda: s.k, b: dyg, ldb: s.p,
                                   c: dxg, ldc: s.p, threads: context.threads)
                    continue
                }
                let cm = col.baseAddress.assumingMemoryBound(to: Float.self)
                try DNNL.sgemm(transA: true, m: s.k, n: s.p, k: s.og, a: wg, lda: s.k, b: dyg, ldb: s.p,
                               c: cm, ldc: s.p, threads: context.threads)
                col2imNCHW(s, UnsafePointer(cm), into: dxg, context)
            }
        }
    }

    /// `dW_g += dy_g · im2col(x_g)ᵀ` over the images; `dW_g` is `[og, k]`.
    private func filterNCHW(_ s: GEMMShape, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                            _ dw: UnsafeMutablePointer<Float>, _ context: ExecutionContext) throws {
        let g = s.g, pointwise = g.isPointwise
        if s.cg == 1 && !pointwise {
            depthwiseFilterNCHW(s, x, dy, dw, context)
            return
        }
        let col = pointwise ? nil : context.scratch(floats: s.k * s.p)
        defer { if let col { context.release(scratch: col) } }
        for n in 0..<g.batch {
            for gi in 0..<group {
                let xg = x + (n * s.c + gi * s.cg) * g.inputCount
                var matrix = xg
                if let col {
                    let cm = col.baseAddress.assumingMemoryBound(to: Float.self)
                    im2colNCHW(s, xg, into: cm, context)
                    matrix = UnsafePointer(cm)
                }
                try DNNL.sgemm(transB: true, m: s.og, n: s.k, k: s.p, a: dy + (n * s.out + gi * s.og) * s.p, lda: s.p,
                               b: matrix, ldb: s.p, beta: 1, c: dw + gi * s.og * s.k, ldc: s.k, threads: context.threads)
            }
        }
    }

    /// `col[(c · taps + tap) · p + position]` = the input pixel that tap reads for that output
    /// position (0 in the padding), for the `cg` channels at `x`.
    private func im2colNCHW(_ s: GEMMShape, _ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>,
                            _ context: ExecutionContext) {
        let g = s.g
        let (kh, kw) = (g.kernel[1], g.kernel[2]), (oh, ow) = (g.output[1], g.output[2])
        let (ih, iw) = (g.input[1], g.input[2]), sw = g.stride[2]
        context.parallelFor(s.k, costPerItem: s.p) { rows in
            for r in rows {
                let c = r / s.taps, tap = r % s.taps
                let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                let dst = col + r * s.p, plane = x + c * g.inputCount
                dst.update(repeating: 0, count: s.p)
                let off = e * g.dilation[2] - g.padBegin[2]
                let wRange = g.validOutputs(axis: 2, tap: e)
                for zd in g.validOutputs(axis: 0, tap: a) {
                    let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                    for zh in g.validOutputs(axis: 1, tap: b) {
                        let src = plane + (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw + off
                        let row = dst + (zd * oh + zh) * ow
                        for zw in wRange { row[zw] = src[zw * sw] }
                    }
                }
            }
        }
    }

    /// The adjoint of ``im2colNCHW(_:_:into:_:)``: adds each column entry onto its input pixel.
    /// Parallel over input rows, each gathering from the output rows that read it.
    private func col2imNCHW(_ s: GEMMShape, _ col: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                            _ context: ExecutionContext) {
        let g = s.g
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kd, kh, kw) = (g.kernel[0], g.kernel[1], g.kernel[2]), (oh, ow) = (g.output[1], g.output[2])
        let sw = g.stride[2]
        context.parallelFor(s.cg * id * ih, costPerItem: iw * s.taps) { rows in
            for r in rows {
                let c = r / (id * ih), pd = (r / ih) % id, ph = r % ih
                let dst = dx + r * iw
                for a in 0..<kd {
                    guard let zd = outputIndex(g, axis: 0, input: pd, tap: a) else { continue }
                    for b in 0..<kh {
                        guard let zh = outputIndex(g, axis: 1, input: ph, tap: b) else { continue }
                        for e in 0..<kw {
                            let tap = (a * kh + b) * kw + e
                            let src = col + (c * s.taps + tap) * s.p + (zd * oh + zh) * ow
                            let target = dst + e * g.dilation[2] - g.padBegin[2]
                            for zw in g.validOutputs(axis: 2, tap: e) { target[zw * sw] += src[zw] }
                        }
                    }
                }
            }
        }
    }

    // MARK: Channels-first depthwise (one input channel per group)

    /// `dx[n, c] = Σ_{j < m} Σ_taps w[c·m + j, tap] · dy[n, c·m + j]` shifted back onto the input
    /// plane, one input plane per work item (as GEMMs: one tiny product per channel).
    private func depthwiseInputNCHW(_ s: GEMMShape, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, _ context: ExecutionContext) {
        let g = s.g, m = s.og
        let (ih, iw) = (g.input[1], g.input[2]), (kh, kw) = (g.kernel[1], g.kernel[2])
        let (oh, ow) = (g.output[1], g.output[2]), sw = g.stride[2]
        context.parallelFor(g.batch * s.c, costPerItem: m * s.p * s.taps) { planes in
            for plane in planes {
                let n = plane / s.c, ci = plane % s.c
                let dst = dx + plane * g.inputCount
                for j in 0..<m {
                    let o = ci * m + j
                    let src = dy + (n * s.out + o) * s.p
                    for tap in 0..<s.taps {
                        let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                        let v = w[o * s.taps + tap], off = e * g.dilation[2] - g.padBegin[2]
                        let wRange = g.validOutputs(axis: 2, tap: e)
                        for zd in g.validOutputs(axis: 0, tap: a) {
                            let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                            for zh in g.validOutputs(axis: 1, tap: b) {
                                let row = dst + (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw + off
                                let d = src + (zd * oh + zh) * ow
                                for zw in wRange { row[zw * sw] += v * d[zw] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dw[o, 0, tap] = Σ_{n, positions} dy[n, o] · x[n, o/m]` at the tap's offset, one output
    /// channel per work item.
    private func depthwiseFilterNCHW(_ s: GEMMShape, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                     _ dw: UnsafeMutablePointer<Float>, _ context: ExecutionContext) {
        let g = s.g, m = s.og
        let (ih, iw) = (g.input[1], g.input[2]), (kh, kw) = (g.kernel[1], g.kernel[2])
        let (oh, ow) = (g.output[1], g.output[2]), sw = g.stride[2]
        context.parallelFor(s.out, costPerItem: g.batch * s.p * s.taps) { channels in
            for o in channels {
                for tap in 0..<s.taps {
                    let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                    let off = e * g.dilation[2] - g.padBegin[2], wRange = g.validOutputs(axis: 2, tap: e)
                    var sum: Double = 0
                    for n in 0..<g.batch {
                        let xp = x + (n * s.c + o / m) * g.inputCount, d = dy + (n * s.out + o) * s.p
                        for zd in g.validOutputs(axis: 0, tap: a) {
                            let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                            for zh in g.validOutputs(axis: 1, tap: b) {
                                let row = xp + (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw + off
                                let dr = d + (zd * oh + zh) * ow
                                var partial: Float = 0
                                for zw in wRange { partial += dr[zw] * row[zw * sw] }
                                sum += Double(partial)
                            }
                        }
                    }
                    dw[o * s.taps + tap] = Float(sum)
                }
            }
        }
    }

    // MARK: Channels last

    /// `col = dy_g · W_gᵀ` (`[positions, k]`, with `W` read as the `[k, O]` matrix of the
    /// `[k..., C/g, O]` kernel), then col2im; images in chunks that fit the scratch budget.
    private func inputNHWC(_ s: GEMMShape, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                           _ dx: UnsafeMutablePointer<Float>, _ context: ExecutionContext) throws {
        let g = s.g
        if g.isPointwise {
            for gi in 0..<group {
                try DNNL.sgemm(transB: true, m: g.batch * s.p, n: s.cg, k: s.og, a: dy + gi * s.og, lda: s.out,
                               b: w + gi * s.og, ldb: s.out, c: dx + gi * s.cg, ldc: s.c, threads: context.threads)
            }
            return
        }
        if s.cg == 1 && s.og == 1 {
            depthwiseInputNHWC(s, dy, w, dx, context)
            return
        }
        try forEachChunkNHWC(s, context) { gi, n, images, cm in
            try DNNL.sgemm(transB: true, m: images * s.p, n: s.k, k: s.og, a: dy + n * s.p * s.out + gi * s.og, lda: s.out,
                           b: w + gi * s.og, ldb: s.out, c: cm, ldc: s.k, threads: context.threads)
            col2imNHWC(s, UnsafePointer(cm), images: images, into: dx + n * g.inputCount * s.c + gi * s.cg, context)
        }
    }

    /// Calls `body(group, first image, images, col)` for every group and every chunk of images
    /// that fits the scratch budget, with one `[images · positions, k]` scratch matrix `col`.
    private func forEachChunkNHWC(_ s: GEMMShape, _ context: ExecutionContext,
                                  _ body: (Int, Int, Int, UnsafeMutablePointer<Float>) throws -> Void) throws {
        let chunk = s.chunk
        let col = context.scratch(floats: chunk * s.p * s.k)
        defer { context.release(scratch: col) }
        let cm = col.baseAddress.assumingMemoryBound(to: Float.self)
        for gi in 0..<group {
            var n = 0
            while n < s.g.batch {
                let images = min(chunk, s.g.batch - n)
                try body(gi, n, images, cm)
                n += images
            }
        }
    }

    /// `dW_g += im2col(x_g)ᵀ · dy_g` (`[k, og]` columns of the `[k, O]` kernel matrix).
    private func filterNHWC(_ s: GEMMShape, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                            _ dw: UnsafeMutablePointer<Float>, _ context: ExecutionContext) throws {
        let g = s.g
        if g.isPointwise {
            for gi in 0..<group {
                try DNNL.sgemm(transA: true, m: s.cg, n: s.og, k: g.batch * s.p, a: x + gi * s.cg, lda: s.c,
                               b: dy + gi * s.og, ldb: s.out, c: dw + gi * s.og, ldc: s.out, threads: context.threads)
            }
            return
        }
        if s.cg == 1 && s.og == 1 {
            depthwiseFilterNHWC(s, x, dy, dw, context)
            return
        }
        try forEachChunkNHWC(s, context) { gi, n, images, cm in
            im2colNHWC(s, x + n * g.inputCount * s.c + gi * s.cg, images: images, into: cm, context)
            try DNNL.sgemm(transA: true, m: s.k, n: s.og, k: images * s.p, a: cm, lda: s.k,
                           b: dy + n * s.p * s.out + gi * s.og, ldb: s.out, beta: 1, c: dw + gi * s.og, ldc: s.out,
                           threads: context.threads)
        }
    }

    /// `col[position · k + tap · cg + c]` for the output positions of `images` images: the row
    /// layout of the `[k..., C/g, O]` kernel read as a `[k, O]` matrix. `x` points at the
    /// first image's first channel of the group.
    private func im2colNHWC(_ s: GEMMShape, _ x: UnsafePointer<Float>, images: Int, into col: UnsafeMutablePointer<Float>,
                            _ context: ExecutionContext) {
        let g = s.g
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        context.parallelFor(images * od * oh, costPerItem: ow * s.k) { rows in
            for r in rows {
                let image = r / (od * oh), zd = (r / oh) % od, zh = r % oh
                let xi = x + image * g.inputCount * s.c
                let dT = g.taps(axis: 0, at: zd), hT = g.taps(axis: 1, at: zh)
                for zw in 0..<ow {
                    let dst = col + (r * ow + zw) * s.k
                    dst.update(repeating: 0, count: s.k)
                    for a in dT {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for b in hT {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            for e in g.taps(axis: 2, at: zw) {
                                let src = xi + ((pd * ih + ph) * iw + g.inputIndex(axis: 2, output: zw, tap: e)) * s.c
                                let t = dst + ((a * kh + b) * kw + e) * s.cg
                                for c in 0..<s.cg { t[c] = src[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of ``im2colNHWC(_:_:images:into:_:)``, parallel over input rows.
    private func col2imNHWC(_ s: GEMMShape, _ col: UnsafePointer<Float>, images: Int, into dx: UnsafeMutablePointer<Float>,
                            _ context: ExecutionContext) {
        let g = s.g
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kd, kh, kw) = (g.kernel[0], g.kernel[1], g.kernel[2]), (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let sw = g.stride[2]
        context.parallelFor(images * id * ih, costPerItem: iw * s.k) { rows in
            for r in rows {
                let image = r / (id * ih), pd = (r / ih) % id, ph = r % ih
                let dst = dx + r * iw * s.c
                for a in 0..<kd {
                    guard let zd = outputIndex(g, axis: 0, input: pd, tap: a) else { continue }
                    for b in 0..<kh {
                        guard let zh = outputIndex(g, axis: 1, input: ph, tap: b) else { continue }
                        let outRow = col + ((image * od + zd) * oh + zh) * ow * s.k
                        for e in 0..<kw {
                            let off = e * g.dilation[2] - g.padBegin[2], tap = (a * kh + b) * kw + e
                            for zw in g.validOutputs(axis: 2, tap: e) {
                                let t = dst + (zw * sw + off) * s.c, src = outRow + zw * s.k + tap * s.cg
                                for c in 0..<s.cg { t[c] += src[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Channels-last depthwise (one input and one output channel per group)

    /// `dx[n, i, c] = Σ_taps dy[n, o, c] · w[tap, c]`, vectorized over the contiguous channels:
    /// as GEMMs these would be one matrix-vector product per channel.
    private func depthwiseInputNHWC(_ s: GEMMShape, _ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, _ context: ExecutionContext) {
        let g = s.g, c = s.c
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kd, kh, kw) = (g.kernel[0], g.kernel[1], g.kernel[2]), (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let sw = g.stride[2]
        context.parallelFor(g.batch * id * ih, costPerItem: iw * c * s.taps) { rows in
            for r in rows {
                let n = r / (id * ih), pd = (r / ih) % id, ph = r % ih
                let dst = dx + r * iw * c
                for a in 0..<kd {
                    guard let zd = outputIndex(g, axis: 0, input: pd, tap: a) else { continue }
                    for b in 0..<kh {
                        guard let zh = outputIndex(g, axis: 1, input: ph, tap: b) else { continue }
                        let outRow = dy + ((n * od + zd) * oh + zh) * ow * c
                        for e in 0..<kw {
                            let off = e * g.dilation[2] - g.padBegin[2], wt = w + ((a * kh + b) * kw + e) * c
                            for zw in g.validOutputs(axis: 2, tap: e) {
                                let t = dst + (zw * sw + off) * c, src = outRow + zw * c
                                for i in 0..<c { t[i] += src[i] * wt[i] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `dw[tap, c] = Σ_{n, o} dy[n, o, c] · x[n, i(o, tap), c]`, one tap per work item.
    private func depthwiseFilterNHWC(_ s: GEMMShape, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                     _ dw: UnsafeMutablePointer<Float>, _ context: ExecutionContext) {
        let g = s.g, c = s.c
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2]), (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let sw = g.stride[2]
        context.parallelFor(s.taps, costPerItem: g.batch * s.p * c) { taps in
            for tap in taps {
                let a = tap / (kh * kw), b = (tap / kw) % kh, e = tap % kw
                let acc = dw + tap * c
                let wRange = g.validOutputs(axis: 2, tap: e), off = e * g.dilation[2] - g.padBegin[2]
                for n in 0..<g.batch {
                    for zd in g.validOutputs(axis: 0, tap: a) {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for zh in g.validOutputs(axis: 1, tap: b) {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            let inRow = x + ((n * id + pd) * ih + ph) * iw * c
                            let outRow = dy + ((n * od + zd) * oh + zh) * ow * c
                            for zw in wRange {
                                let src = inRow + (zw * sw + off) * c, d = outRow + zw * c
                                for i in 0..<c { acc[i] += d[i] * src[i] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The output position along `axis` whose window reads input index `i` with tap `k`, or nil
/// when no output does (the offset falls between strides or outside the output).
@inline(__always)
private func outputIndex(_ g: WindowGeometry, axis: Int, input i: Int, tap k: Int) -> Int? {
    let q = i + g.padBegin[axis] - k * g.dilation[axis]
    let s = g.stride[axis]
    guard q >= 0, q % s == 0, q / s < g.output[axis] else { return nil }
    return q / s
}

/// `ConvGradInput` with a constant kernel (the usual case in a probe: the weights are fixed,
/// the input moves) runs as oneDNN's backward-data convolution, made once per plan with the
/// kernel reordered into its preferred layout — a direct JIT kernel instead of sgemm + col2im.
/// Depthwise convolutions take oneDNN's depthwise kernel too (`jit_dw`: the direct loops were the
/// largest single cost of Integrated Gradients on the mini-Xception, ~19% of perf's samples); anything
/// oneDNN only has a reference implementation for keeps the built-in kernels.
extension ConvGradKernel {
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? {
        guard !filter, let w = inputs.value(1) else { return nil }
        let p = positions
        let (g, out) = try geometry(x: try inputs.type(p.x), w: try inputs.type(p.w), dy: try inputs.type(p.dy))
        let shape = DNNL.ConvolutionShape(g, outChannels: out, groups: group, channelsLast: window.channelsLast, clamp: nil)
        guard let primitive = DNNL.Convolution.make(shape, kernel: w.floats, hasBias: false, threads: threads, backwardData: true)
        else { return nil }
        return PrimitiveConvGradInputKernel(primitive: primitive, base: self)
    }
}

/// A `ConvGradInput` running as a oneDNN backward-data primitive made for one plan.
struct PrimitiveConvGradInputKernel: Kernel {
    let primitive: DNNL.Convolution
    let base: ConvGradKernel

    func check(_ inputs: KernelInputs) throws -> [TensorType]? { try base.check(inputs) }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let dy = inputs[base.positions.dy], let stream = context.stream else {
            return try base.run(inputs, outputs: outputs, context: context)
        }
        let dx = context.allocate(outputs[0])
        let scratch = primitive.scratchBytes > 0 ? context.scratch(bytes: primitive.scratchBytes) : nil
        defer { if let scratch { context.release(scratch: scratch) } }
        try primitive.run(x: dy.floats, bias: nil, y: dx.mutableFloats, scratch: scratch?.baseAddress,
                          stream: stream)
        return [dx]
    }
}

extension KernelRegistry {
    static let convolutionBackward: [(OpDefinition, KernelFactory)] = [
        (.convGradInput, { ConvGradKernel(try ConvAttributes($0), filter: false) }),
        (.convGradFilter, { ConvGradKernel(try ConvAttributes($0), filter: true) }),
    ]
}
