import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the resampling ops (Ops/Resampling.swift): Resize, GridSample, AffineGrid, RoiAlign.

/// Resize (opset 19+): nearest (four rounding modes), linear and cubic interpolation, one axis at a
/// time as the ONNX reference does, with every coordinate transformation mode, `antialias`,
/// `exclude_outside`, `axes`, `keep_aspect_ratio_policy` and tf_crop_and_resize's extrapolation.
/// float32, computed in Double.
struct ResizeKernel: Kernel {
    let attributes: ResizeAttributes
    /// tf_crop_and_resize's value outside the image (`extrapolation_value`, or 0 for ResizeGrad's linear part).
    let extrapolation: Double

    init(_ a: ResizeAttributes, extrapolation: Double? = nil) {
        attributes = a
        self.extrapolation = extrapolation ?? a.extrapolation
    }

    var mode: String { attributes.mode }
    var nearestMode: String { attributes.nearestMode }
    var coordinates: String { attributes.coordinates }
    var antialias: Bool { attributes.antialias }
    var excludeOutside: Bool { attributes.excludeOutside }
    var cubicA: Double { attributes.cubicA }
    var axes: [Int]? { attributes.axes }

    struct Plan {
        var scales: [Double]
        var sizes: [Int]
        /// Per axis (start, end), or nil.
        var roi: [(Double, Double)]?
    }

    /// Input `i` when given and non-empty; `.unknown` when given but its value is not known yet.
    enum Given { case absent, unknown, value(Tensor) }
    func given(_ inputs: KernelInputs, _ i: Int) -> Given {
        guard inputs.has(i), let t = try? inputs.type(i), t.count > 0 else { return .absent }
        guard let v = inputs.value(i) else { return .unknown }
        return .value(v)
    }

    func plan(_ inputs: KernelInputs) throws -> Plan? {
        let x = try inputs.type(0)
        let r = x.rank
        let list = try ShapeRules.normalizedAxes(axes ?? Array(0..<r), rank: r)
        var roi: [(Double, Double)]? = nil
        if coordinates == "tf_crop_and_resize" {
            guard case .value(let t) = given(inputs, 1) else {
                if case .unknown = given(inputs, 1) { return nil }
                throw AscentError.invalid("tf_crop_and_resize needs roi")
            }
            let v = t.doubles()
            guard v.count == 2 * list.count else { throw AscentError.invalid("roi has \(v.count) values, expected \(2 * list.count)") }
            var full = Array(repeating: (0.0, 1.0), count: r)
            for (i, a) in list.enumerated() { full[a] = (v[i], v[list.count + i]) }
            roi = full
        }
        let scales: [Double], sizes: [Int]
        switch (given(inputs, 2), given(inputs, 3)) {
        case (.unknown, _), (_, .unknown): return nil
        case (.value(let s), .absent): (scales, sizes) = try attributes.plan(input: x.shape, scales: s.doubles(), sizes: nil)
        case (.absent, .value(let s)): (scales, sizes) = try attributes.plan(input: x.shape, scales: nil, sizes: s.int64s().map { Int($0) })
        default: throw AscentError.invalid("exactly one of scales and sizes must be given")
        }
        return Plan(scales: scales, sizes: sizes, roi: roi)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        _ = try plan(inputs)
        return nil
    }

    func coefficients(_ ratio: Double, _ scale: Double) -> [Double] {
        switch mode {
        case "nearest":
            if ratio == ratio.rounded(.down) { return [0, 1] }
            switch nearestMode {
            case "round_prefer_floor": return ratio <= 0.5 ? [1, 0] : [0, 1]
            case "round_prefer_ceil": return ratio < 0.5 ? [1, 0] : [0, 1]
            case "floor": return [1, 0]
            default: return [0, 1]
            }
        case "linear":
            guard antialias else { return [1 - ratio, ratio] }
            let s = min(scale, 1)
            let start = Int((-1 / s).rounded(.down)) + 1
            let footprint = 2 - 2 * start
            var c = (0..<footprint).map { k in min(max(1 - abs((Double(start + k) - ratio) * s), 0), 1) }
            let sum = c.reduce(0, +)
            c = c.map { $0 / sum }
            return c
        default:
            let a = cubicA
            guard antialias else {
                let r1 = ratio + 1, q = 1 - ratio, q1 = q + 1
                return [((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a,
                        ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                        ((a + 2) * q - (a + 3)) * q * q + 1,
                        ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a]
            }
            let s = min(scale, 1)
            func coeff(_ v: Double) -> Double {
                let x = abs(v), x2 = x * x, x3 = x2 * x
                if x <= 1 { return (a + 2) * x3 - (a + 3) * x2 + 1 }
                if x < 2 { return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a }
                return 0
            }
            let start = Int((-2 / s).rounded(.down)) + 1, end = 2 - start
            let c = (start..<end).map { coeff(s * (Double($0) - ratio)) }
            let sum = c.reduce(0, +)
            return c.map { $0 / sum }
        }
    }

    /// Resizes `data` (of `shape`) along `axis` to `outWidth`.
    func resize(_ data: [Double], _ shape: [Int], axis: Int, scale: Double, outWidth: Int, roi: (Double, Double)?) -> [Double] {
        let (outer, inWidth, inner) = around(shape, axis: axis)
        var out = [Double](repeating: 0, count: outer * outWidth * inner)
        let width = scale * Double(inWidth)
        for y in 0..<outWidth {
            let yd = Double(y)
            var xo: Double
            var extrapolated = false
            switch coordinates {
            case "align_corners": xo = width == 1 ? 0 : yd * Double(inWidth - 1) / (width - 1)
            case "asymmetric": xo = yd / scale
            case "tf_crop_and_resize":
                let (r0, r1) = roi ?? (0, 1)
                xo = width == 1 ? (r1 - r0) * Double(inWidth - 1) / 2 : yd * (r1 - r0) * Double(inWidth - 1) / (width - 1)
                xo += r0 * Double(inWidth - 1)
                extrapolated = xo < 0 || xo > Double(inWidth - 1)
            case "pytorch_half_pixel": xo = width == 1 ? -0.5 : (yd + 0.5) / scale - 0.5
            case "half_pixel_symmetric":
                let adjustment = Double(outWidth) / width, center = Double(inWidth) / 2
                xo = center * (1 - adjustment) + (yd + 0.5) / scale - 0.5
            default: xo = (yd + 0.5) / scale - 0.5
            }
            if extrapolated {
                for o in 0..<outer { for q in 0..<inner { out[(o * outWidth + y) * inner + q] = extrapolation } }
                continue
            }
            let xi = xo.rounded(.down)
            let ratio = xo == xi ? 1 : xo - xi
            var c = coefficients(ratio, scale)
            let n = c.count, pad = (n + 1) / 2
            let xp = xo + Double(pad), pp = xp.rounded(.down), frac = xp - pp
            let offset: Int
            if n % 2 == 0 { offset = frac == 0 ? -(n / 2) : -(n / 2) + 1 } else {
                let base = -((n - 1) / 2)
                offset = frac <= 0.5 ? base : base + 1
            }
            let start = Int(pp) + offset - pad
            if excludeOutside {
                for k in 0..<n where start + k < 0 || start + k >= inWidth { c[k] = 0 }
                var sum = c.reduce(0, +)
                if sum == 0 { sum = 1 }
                c = c.map { $0 / sum }
            }
            let idx = (0..<n).map { min(max(start + $0, 0), inWidth - 1) }
            for o in 0..<outer {
                for q in 0..<inner {
                    var acc = 0.0
                    for k in 0..<n where c[k] != 0 { acc += c[k] * data[(o * inWidth + idx[k]) * inner + q] }
                    out[(o * outWidth + y) * inner + q] = acc
                }
            }
        }
        return out
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let p = try plan(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "resize sizes unknown at run time")
        }
        var data = x.doubles(), shape = x.shape
        let list = try ShapeRules.normalizedAxes(axes ?? Array(0..<x.rank), rank: x.rank)
        for a in list {
            let roi = p.roi?[a]
            let trivialRoi = roi.map { abs($0.0) < 1e-9 && abs($0.1 - 1) < 1e-9 } ?? true
            if abs(p.scales[a] - 1) < 1e-9, p.sizes[a] == shape[a], trivialRoi { continue }
            if shape.reduce(1, *) == 0 || p.sizes[a] == 0 {
                shape[a] = p.sizes[a]
                data = Array(repeating: 0, count: shape.reduce(1, *))
                continue
            }
            data = resize(data, shape, axis: a, scale: p.scales[a], outWidth: p.sizes[a], roi: roi)
            shape[a] = p.sizes[a]
        }
        return [Tensor(shape: outputs[0].shape, scalars: data.map { Float($0) })]
    }
}

/// GridSample(X [N, C, D...], grid [N, out..., r]) for 2-D and 3-D (any r): nearest, linear or
/// cubic sampling at normalized grid coordinates (`align_corners`), with zeros, border or
/// reflection padding, as the ONNX reference computes it. float32.
struct GridSampleKernel: Kernel {
    let mode: String, padding: String, alignCorners: Bool

    init(_ a: GridSampleAttributes) {
        mode = a.mode == "bilinear" ? "linear" : a.mode == "bicubic" ? "cubic" : a.mode
        padding = a.paddingMode
        alignCorners = a.alignCorners
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), g = try inputs.type(1)
        try requireFloat(x)
        guard x.rank >= 3, g.rank == x.rank, g.shape[0] == x.shape[0], g.shape.last == x.rank - 2 else {
            throw AscentError.invalid("grid \(g) does not match input \(x)")
        }
        return nil
    }

    static func reflect(_ x: Double, _ lo: Double, _ hi: Double) -> Double {
        let range = hi - lo
        if x < lo {
            let dx = lo - x, n = Int(dx / range), r = dx - Double(n) * range
            return n % 2 == 0 ? lo + r : hi - r
        }
        if x > hi {
            let dx = x - hi, n = Int(dx / range), r = dx - Double(n) * range
            return n % 2 == 0 ? hi - r : lo + r
        }
        return x
    }

    static func cubic(_ v: Double) -> [Double] {
        let a = -0.75, x = abs(v)
        return [((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a,
                ((a + 2) * x - (a + 3)) * x * x + 1,
                ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1,
                ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let gt = inputs[1] else { throw AscentError.invalid("missing input") }
        let n = xt.shape[0], c = xt.shape[1], dims = Array(xt.shape[2...]), r = dims.count
        let outSpatial = product(gt.shape[1..<(gt.rank - 1)]), inSpatial = dims.reduce(1, *)
        let x = xt.floats(), g = gt.floats(), strides = contiguousStrides(dims)
        var y = [Float](repeating: 0, count: outputs[0].count)
        let lo = dims.map { _ in alignCorners ? 0.0 : -0.5 }, hi = dims.map { alignCorners ? Double($0 - 1) : Double($0) - 0.5 }
        /// The element index along dim `i` for tap `t`, or nil for a zero (outside, zeros padding).
        func pixel(_ t: Int, _ i: Int) -> Int? {
            let d = dims[i]
            switch padding {
            case "zeros": return t >= 0 && t < d ? t : nil
            case "border": return min(max(t, 0), d - 1)
            default: return Int(GridSampleKernel.reflect(Double(t), lo[i], hi[i]))
            }
        }
        for ni in 0..<n {
            for o in 0..<outSpatial {
                // Source coordinates, innermost grid component last in dims order.
                var taps: [[(Int?, Double)]] = []
                for i in 0..<r {
                    let v = Double(g[(ni * outSpatial + o) * r + (r - 1 - i)])
                    var p = Double(Float(alignCorners ? (v + 1) / 2 * Double(dims[i] - 1) : ((v + 1) * Double(dims[i]) - 1) / 2))
                    if mode == "nearest" { p = p.rounded(.toNearestOrEven) }
                    if p < lo[i] || p > hi[i] {
                        if padding == "border" { p = min(max(p, 0), Double(dims[i] - 1)) } else if padding == "reflection" {
                            p = GridSampleKernel.reflect(p, lo[i], hi[i])
                        }
                    }
                    switch mode {
                    case "nearest": taps.append([(pixel(Int(p), i), 1)])
                    case "linear":
                        let f = p.rounded(.down), w = p - f
                        taps.append([(pixel(Int(f), i), 1 - w), (pixel(Int(f) + 1, i), w)])
                    default:
                        let f = p.rounded(.down), w = GridSampleKernel.cubic(p - f)
                        taps.append((0..<4).map { (pixel(Int(f) - 1 + $0, i), w[$0]) })
                    }
                }
                let combos = taps.reduce(1) { $0 * $1.count }
                for ci in 0..<c {
                    let base = (ni * c + ci) * inSpatial
                    var acc = 0.0
                    for k in 0..<combos {
                        var rest = k, offset = 0, weight = 1.0, zero = false
                        for i in stride(from: r - 1, through: 0, by: -1) {
                            let (idx, w) = taps[i][rest % taps[i].count]
                            rest /= taps[i].count
                            weight *= w
                            if let idx { offset += idx * strides[i] } else { zero = true }
                        }
                        if !zero { acc += weight * Double(x[base + offset]) }
                    }
                    y[(ni * c + ci) * outSpatial + o] = Float(acc)
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// AffineGrid(theta [N, 2, 3] or [N, 3, 4], size [N, C, H, W] or [N, C, D, H, W]): the sampling grid
/// `theta · (x, y[, z], 1)` over normalized coordinates (`align_corners`), `[N, H, W, 2]` or `[N, D, H, W, 3]`.
struct AffineGridKernel: Kernel {
    let alignCorners: Bool

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let theta = try inputs.type(0)
        try requireFloat(theta)
        guard let size = try inputs.ints(1) else { return nil }
        guard size.count == 4 || size.count == 5, theta.shape == [size[0], size.count - 2, size.count - 1] else {
            throw AscentError.invalid("theta \(theta) does not match size \(size)")
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let theta = inputs[0] else { throw AscentError.invalid("missing input") }
        let out = outputs[0].shape, r = out.last!, spatial = Array(out[1..<(out.count - 1)])
        let t = theta.doubles(), n = out[0], count = spatial.reduce(1, *), strides = contiguousStrides(spatial)
        func coordinate(_ i: Int, _ size: Int) -> Double {
            if alignCorners { return size == 1 ? -1 : -1 + 2 * Double(i) / Double(size - 1) }
            return -1 + (2 * Double(i) + 1) / Double(size)
        }
        var y = [Float](repeating: 0, count: outputs[0].count)
        for b in 0..<n {
            for p in 0..<count {
                // Homogeneous (x, y[, z], 1): x is the last spatial axis.
                var h = [Double](repeating: 1, count: r + 1)
                for k in 0..<r {
                    let axis = r - 1 - k
                    h[k] = coordinate((p / strides[axis]) % spatial[axis], spatial[axis])
                }
                for row in 0..<r {
                    var acc = 0.0
                    for col in 0...r { acc += t[(b * r + row) * (r + 1) + col] * h[col] }
                    y[(b * count + p) * r + row] = Float(acc)
                }
            }
        }
        return [Tensor(shape: out, scalars: y)]
    }
}

/// RoiAlign(X [N, C, H, W], rois [R, 4], batch_indices [R]): each region (x1, y1, x2, y2, scaled by
/// `spatial_scale`, shifted by half a pixel in `half_pixel` mode) pooled to `output_height` ×
/// `output_width` bins by averaging (or taking the max of) bilinear samples, as the ONNX reference does.
struct RoiAlignKernel: Kernel {
    let halfPixel: Bool, maxMode: Bool, outH: Int, outW: Int, samplingRatio: Int, spatialScale: Double

    init(_ a: RoiAlignAttributes) {
        halfPixel = a.halfPixel
        maxMode = a.max
        outH = a.outputHeight
        outW = a.outputWidth
        samplingRatio = a.samplingRatio
        spatialScale = Double(a.spatialScale)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), rois = try inputs.type(1), b = try inputs.type(2)
        try requireFloat(x)
        guard x.rank == 4, rois.rank == 2, rois.shape[1] == 4, b.shape == [rois.shape[0]] else {
            throw AscentError.invalid("X \(x), rois \(rois) and batch_indices \(b) do not match")
        }
        return nil
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

extension KernelRegistry {
    static let resampling: [(OpDefinition, KernelFactory)] = [
        (.resize, { ResizeKernel(try ResizeAttributes($0)) }),
        (.gridSample, { GridSampleKernel(try GridSampleAttributes($0)) }),
        (.affineGrid, { AffineGridKernel(alignCorners: try AlignCornersAttributes($0).alignCorners) }),
        (.roiAlign, { RoiAlignKernel(try RoiAlignAttributes($0)) }),
    ]
}
