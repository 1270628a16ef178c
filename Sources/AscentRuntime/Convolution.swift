import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Conv: 1-D, 2-D and 3-D, `NCHW` (ONNX kernel `[O, C/g, k...]`) or `NHWC` (TensorFlow kernel
/// `[k..., C/g, O]`), groups, strides, dilations, pads and `auto_pad`; optionally a fused
/// Relu/Clip (see ``Fusion``).
///
/// With a constant kernel (the usual case) each plan makes a oneDNN convolution primitive,
/// JIT-compiled for this CPU (``PrimitiveConvKernel``). Otherwise, or when oneDNN has only its
/// reference implementation, the built-in kernels run: dense and grouped convolutions lower to
/// im2col + oneDNN sgemm (a 1×1 unit-stride unpadded window uses the input directly as the
/// matrix); depthwise convolutions (one input channel per group) of 1-D/2-D inputs run a direct
/// loop (`DepthwiseConvolution.swift`): as GEMMs they would be matrix-vector products.
enum ConvolutionKernels {
    static let factories: [String: KernelFactory] = [
        "Conv": { try ConvKernel($0) },
    ]
}

struct ConvKernel: Kernel {
    let window: WindowAttributes
    let group: Int
    /// A fused activation clamping the output to `[lo, hi]` (see ``Fusion``), or nil.
    let clamp: (lo: Float, hi: Float)?

    init(_ a: NodeAttributes) throws {
        window = try WindowAttributes(a)
        group = try a.int("group", 1)
        guard group >= 1 else { throw AscentError.invalid("group \(group) must be positive") }
        if a.node.attributes[Fusion.activationMin] != nil {
            clamp = (try a.float(Fusion.activationMin, -.infinity), try a.float(Fusion.activationMax, .infinity))
        } else {
            clamp = nil
        }
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

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let (g, out) = try geometry(inputs)
        return [TensorType(.float32, window.outputShape(g, channels: out))]
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

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? { try base.outputTypes(inputs) }

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
