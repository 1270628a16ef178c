import AscentIR

/// ConvTranspose over NCHW-style `[N, C, spatial...]` float32 inputs with `[C, M/group, k...]`
/// weights, following the ONNX reference: `pads` (or SAME_UPPER/SAME_LOWER padding worked out from
/// `output_shape`, default `input · stride`), `output_padding`, `output_shape` (the result cropped
/// or zero-extended to it), `strides`, `dilations`, `group` and an optional bias.
struct ConvTransposeKernel: Kernel {
    let autoPad: String
    let group: Int
    let strides: [Int]?, dilations: [Int]?, pads: [Int]?, outputPadding: [Int]?, outputShape: [Int]?, kernelShape: [Int]?

    init(_ a: NodeAttributes) throws {
        autoPad = try a.string("auto_pad", "NOTSET")
        group = try a.int("group", 1)
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
        outputPadding = try a.ints("output_padding")
        outputShape = try a.ints("output_shape")
        kernelShape = try a.ints("kernel_shape")
        guard group >= 1 else { throw AscentError.invalid("group \(group) is not positive") }
    }

    struct Geometry {
        var input: [Int], kernel: [Int], output: [Int]
        var strides: [Int], dilations: [Int], padBegin: [Int]
        var outChannels: Int
    }

    func geometry(_ x: TensorType, _ w: TensorType) throws -> Geometry {
        guard x.rank >= 3, w.rank == x.rank else { throw AscentError.invalid("input \(x) and weights \(w) do not match") }
        let n = x.rank - 2
        let input = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        guard x.shape[1] == w.shape[0], x.shape[1] % group == 0 else {
            throw AscentError.invalid("input channels \(x.shape[1]) do not match weights \(w) with group \(group)")
        }
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        let op = outputPadding ?? Array(repeating: 0, count: n)
        guard s.count == n, d.count == n, op.count >= n else { throw AscentError.invalid("strides, dilations or output_padding do not have \(n) values") }
        func full(_ i: Int) -> Int { s[i] * (input[i] - 1) + op[i] + (kernel[i] - 1) * d[i] + 1 }
        var p = pads
        var out = outputShape
        if p == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            let target = out ?? (0..<n).map { input[$0] * s[$0] }
            var begin: [Int] = [], end: [Int] = []
            for i in 0..<n {
                let total = full(i) - target[i]
                if autoPad == "SAME_UPPER" { begin.append(total / 2); end.append(total - total / 2) } else {
                    begin.append(total - total / 2); end.append(total / 2)
                }
            }
            p = begin + end
            out = target
        }
        let pp = p ?? Array(repeating: 0, count: 2 * n)
        guard pp.count == 2 * n else { throw AscentError.invalid("pads has \(pp.count) values, expected \(2 * n)") }
        let output = out ?? (0..<n).map { full($0) - pp[$0] - pp[$0 + n] }
        guard output.count == n, output.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("output shape \(output) is invalid") }
        return Geometry(input: input, kernel: kernel, output: output, strides: s, dilations: d,
                        padBegin: Array(pp.prefix(n)), outChannels: w.shape[1] * group)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        try requireFloat("ConvTranspose", x)
        let g = try geometry(x, w)
        if inputs.has(2) {
            guard try inputs.type(2).count == g.outChannels else { throw AscentError.invalid("bias does not have \(g.outChannels) values") }
        }
        return [TensorType(.float32, [x.shape[0], g.outChannels] + g.output)]
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

    init(_ a: NodeAttributes) throws {
        group = try a.int("group", 1)
        offsetGroup = try a.int("offset_group", 1)
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1), offset = try inputs.type(2)
        try requireFloat("DeformConv", x)
        guard x.rank == 4, w.rank == 4, offset.rank == 4, x.shape[1] == w.shape[1] * group, w.shape[0] % group == 0,
              x.shape[1] % offsetGroup == 0, offset.shape[1] == offsetGroup * w.shape[2] * w.shape[3] * 2 else {
            throw AscentError.invalid("X \(x), W \(w) and offset \(offset) do not match (2-D DeformConv)")
        }
        return [TensorType(.float32, [x.shape[0], w.shape[0], offset.shape[2], offset.shape[3]])]
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
