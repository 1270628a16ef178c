import AscentIR

/// RoiAlign(X [N, C, H, W], rois [R, 4], batch_indices [R]): each region (x1, y1, x2, y2, scaled by
/// `spatial_scale`, shifted by half a pixel in `half_pixel` mode) pooled to `output_height` ×
/// `output_width` bins by averaging (or taking the max of) bilinear samples, as the ONNX reference does.
struct RoiAlignKernel: Kernel {
    let halfPixel: Bool, maxMode: Bool, outH: Int, outW: Int, samplingRatio: Int, spatialScale: Double

    init(_ a: NodeAttributes) throws {
        let c = try a.string("coordinate_transformation_mode", "half_pixel")
        guard c == "half_pixel" || c == "output_half_pixel" else { throw AscentError.invalid("coordinate_transformation_mode '\(c)' is not supported") }
        halfPixel = c == "half_pixel"
        let m = try a.string("mode", "avg")
        guard m == "avg" || m == "max" else { throw AscentError.invalid("mode '\(m)' is not avg or max") }
        maxMode = m == "max"
        outH = try a.int("output_height", 1)
        outW = try a.int("output_width", 1)
        samplingRatio = try a.int("sampling_ratio", 0)
        spatialScale = Double(try a.float("spatial_scale", 1))
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), rois = try inputs.type(1), b = try inputs.type(2)
        try requireFloat("RoiAlign", x)
        guard x.rank == 4, rois.rank == 2, rois.shape[1] == 4, b.shape == [rois.shape[0]] else {
            throw AscentError.invalid("X \(x), rois \(rois) and batch_indices \(b) do not match")
        }
        return [TensorType(x.dtype, [rois.shape[0], x.shape[1], outH, outW])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let rt = inputs[1], let bt = inputs[2] else { throw AscentError.invalid("missing input") }
        let (c, h, w) = (xt.shape[1], xt.shape[2], xt.shape[3])
        let x = xt.doubles(), rois = rt.doubles(), batches = bt.int64s().map { Int($0) }
        var y = [Float](repeating: 0, count: outputs[0].count)
        for n in 0..<batches.count {
            let b = batches[n]
            guard b >= 0, b < xt.shape[0] else { throw AscentError.invalid("batch index \(b) is out of range") }
            let offset = halfPixel ? 0.5 : 0
            let sw = rois[n * 4] * spatialScale - offset, sh = rois[n * 4 + 1] * spatialScale - offset
            var rw = rois[n * 4 + 2] * spatialScale - offset - sw, rh = rois[n * 4 + 3] * spatialScale - offset - sh
            if !halfPixel { rw = max(rw, 1); rh = max(rh, 1) }
            let binH = rh / Double(outH), binW = rw / Double(outW)
            let gridH = samplingRatio > 0 ? samplingRatio : Int((rh / Double(outH)).rounded(.up))
            let gridW = samplingRatio > 0 ? samplingRatio : Int((rw / Double(outW)).rounded(.up))
            let count = Double(max(gridH * gridW, 1))
            // Bilinear samples of each bin: four positions and weights.
            var samples: [[(Int, Double)]] = []
            for ph in 0..<outH { for pw in 0..<outW { for iy in 0..<gridH { for ix in 0..<gridW {
                var yy = sh + Double(ph) * binH + (Double(iy) + 0.5) * binH / Double(gridH)
                var xx = sw + Double(pw) * binW + (Double(ix) + 0.5) * binW / Double(gridW)
                if yy < -1 || yy > Double(h) || xx < -1 || xx > Double(w) { samples.append([(0, 0), (0, 0), (0, 0), (0, 0)]); continue }
                yy = max(yy, 0); xx = max(xx, 0)
                var yl = Int(yy), xl = Int(xx), yh: Int, xh: Int
                if yl >= h - 1 { yl = h - 1; yh = yl; yy = Double(yl) } else { yh = yl + 1 }
                if xl >= w - 1 { xl = w - 1; xh = xl; xx = Double(xl) } else { xh = xl + 1 }
                let ly = yy - Double(yl), lx = xx - Double(xl), hy = 1 - ly, hx = 1 - lx
                samples.append([(yl * w + xl, hy * hx), (yl * w + xh, hy * lx), (yh * w + xl, ly * hx), (yh * w + xh, ly * lx)])
            } } } }
            for ci in 0..<c {
                let base = (b * c + ci) * h * w
                var k = 0
                for ph in 0..<outH {
                    for pw in 0..<outW {
                        var value = 0.0, first = true
                        for _ in 0..<(gridH * gridW) {
                            let s = samples[k]
                            k += 1
                            if maxMode {
                                let v = s.map { $0.1 * x[base + $0.0] }.max() ?? 0
                                value = first ? v : max(value, v)
                                first = false
                            } else {
                                for (p, wgt) in s { value += wgt * x[base + p] }
                            }
                        }
                        if !maxMode { value /= count }
                        y[((n * c + ci) * outH + ph) * outW + pw] = Float(value)
                    }
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// ConvInteger(x, w, x_zero_point?, w_zero_point? (per tensor or per output channel)): an integer convolution over `[N, C, spatial...]`
/// with `[M, C/group, k...]` weights and Conv's attributes, accumulated in int32.
struct ConvIntegerKernel: Kernel {
    let autoPad: String, group: Int
    let strides: [Int]?, dilations: [Int]?, pads: [Int]?

    init(_ a: NodeAttributes) throws {
        autoPad = try a.string("auto_pad", "NOTSET")
        group = try a.int("group", 1)
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
    }

    func geometry(_ x: TensorType, _ w: TensorType) throws -> (out: [Int], begin: [Int], s: [Int], d: [Int]) {
        let n = x.rank - 2
        guard n >= 1, w.rank == x.rank, x.shape[1] == w.shape[1] * group, w.shape[0] % group == 0 else {
            throw AscentError.invalid("input \(x) and weights \(w) do not match")
        }
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        var out: [Int] = [], begin: [Int] = []
        for i in 0..<n {
            let size = x.shape[i + 2], span = (w.shape[i + 2] - 1) * d[i] + 1
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                let o = (size + s[i] - 1) / s[i], total = max((o - 1) * s[i] + span - size, 0)
                out.append(o)
                begin.append(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2)
            case "VALID":
                out.append((size - span) / s[i] + 1)
                begin.append(0)
            default:
                let p = pads ?? Array(repeating: 0, count: 2 * n)
                out.append((size + p[i] + p[i + n] - span) / s[i] + 1)
                begin.append(p[i])
            }
        }
        return (out, begin, s, d)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        guard x.dtype.isInteger, w.dtype.isInteger else { throw AscentError.invalid("ConvInteger needs integer inputs") }
        return [TensorType(.int32, [x.shape[0], w.shape[0]] + (try geometry(x, w)).out)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let wt = inputs[1] else { throw AscentError.invalid("missing input") }
        let g = try geometry(xt.type, wt.type)
        let zx = inputs.count > 2 ? inputs[2].map { Int64($0.doubles().first ?? 0) } ?? 0 : 0
        // The weights' zero point: per tensor, or per output channel.
        let zw = (inputs.count > 3 ? inputs[3]?.doubles().map { Int64($0) } : nil) ?? [0]
        let perChannel = product(wt.shape[1...])
        let x = integerValues(xt).map { $0 - zx }
        let w = integerValues(wt).enumerated().map { $1 - (zw.count == 1 ? zw[0] : zw[min($0 / max(perChannel, 1), zw.count - 1)]) }
        let dims = Array(xt.shape[2...]), kernel = Array(wt.shape[2...]), n = dims.count
        let inSize = dims.reduce(1, *), outSize = g.out.reduce(1, *), kSize = kernel.reduce(1, *)
        let inStrides = contiguousStrides(dims), outStrides = contiguousStrides(g.out), kStrides = contiguousStrides(kernel)
        let c = xt.shape[1], m = wt.shape[0], cg = c / group, mg = m / group
        var y = [Int32](repeating: 0, count: outputs[0].count)
        for b in 0..<xt.shape[0] {
            for oc in 0..<m {
                let gi = oc / mg
                for o in 0..<outSize {
                    var acc: Int64 = 0
                    for ic in 0..<cg {
                        let xBase = (b * c + gi * cg + ic) * inSize, wBase = (oc * cg + ic) * kSize
                        for k in 0..<kSize {
                            var offset = 0, inside = true
                            for i in 0..<n {
                                let pos = ((o / outStrides[i]) % g.out[i]) * g.s[i] + ((k / kStrides[i]) % kernel[i]) * g.d[i] - g.begin[i]
                                if pos < 0 || pos >= dims[i] { inside = false; break }
                                offset += pos * inStrides[i]
                            }
                            // Padding holds the zero point, i.e. 0 after the shift.
                            if inside { acc += x[xBase + offset] * w[wBase + k] }
                        }
                    }
                    y[(b * m + oc) * outSize + o] = Int32(truncatingIfNeeded: acc)
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}
