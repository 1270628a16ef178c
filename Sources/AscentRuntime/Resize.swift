import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Resize (opset 19+): nearest (four rounding modes), linear and cubic interpolation, one axis at a
/// time as the ONNX reference does, with every coordinate transformation mode, `antialias`,
/// `exclude_outside`, `axes`, `keep_aspect_ratio_policy` and tf_crop_and_resize's extrapolation.
/// float32, computed in Double.
struct ResizeKernel: Kernel {
    let mode: String, nearestMode: String, coordinates: String, aspectPolicy: String
    let antialias: Bool, excludeOutside: Bool
    let cubicA: Double, extrapolation: Double
    let axes: [Int]?

    init(_ a: NodeAttributes) throws {
        mode = try a.string("mode", "nearest")
        nearestMode = try a.string("nearest_mode", "round_prefer_floor")
        coordinates = try a.string("coordinate_transformation_mode", "half_pixel")
        aspectPolicy = try a.string("keep_aspect_ratio_policy", "stretch")
        antialias = try a.int("antialias", 0) != 0
        excludeOutside = try a.int("exclude_outside", 0) != 0
        cubicA = Double(try a.float("cubic_coeff_a", -0.75))
        extrapolation = Double(try a.float("extrapolation_value", 0))
        axes = try a.ints("axes")
        guard ["nearest", "linear", "cubic"].contains(mode) else { throw AscentError.invalid("mode '\(mode)' is not nearest, linear or cubic") }
        guard ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].contains(nearestMode) else {
            throw AscentError.invalid("nearest_mode '\(nearestMode)' is not supported")
        }
        guard ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
               "tf_crop_and_resize"].contains(coordinates) else {
            throw AscentError.invalid("coordinate_transformation_mode '\(coordinates)' is not supported")
        }
        guard ["stretch", "not_larger", "not_smaller"].contains(aspectPolicy) else {
            throw AscentError.invalid("keep_aspect_ratio_policy '\(aspectPolicy)' is not supported")
        }
        guard !(antialias && mode == "nearest") else { throw AscentError.invalid("antialias is not supported for nearest mode") }
    }

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
        var scales = Array(repeating: 1.0, count: r), sizes = x.shape
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
        switch (given(inputs, 2), given(inputs, 3)) {
        case (.unknown, _), (_, .unknown): return nil
        case (.value(let s), .absent):
            let v = s.doubles()
            guard v.count == list.count else { throw AscentError.invalid("scales has \(v.count) values for \(list.count) axes") }
            for (i, a) in list.enumerated() {
                guard v[i] > 0 else { throw AscentError.invalid("scale \(v[i]) is not positive") }
                scales[a] = v[i]
                sizes[a] = Int(v[i] * Double(x.shape[a]))
            }
        case (.absent, .value(let s)):
            let v = s.int64s().map { Int($0) }
            guard v.count == list.count, v.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("sizes \(v) do not fit \(list.count) axes") }
            for (i, a) in list.enumerated() {
                sizes[a] = v[i]
                scales[a] = Double(v[i]) / Double(x.shape[a])
            }
            if aspectPolicy != "stretch" {
                let chosen = list.map { scales[$0] }
                let scale = aspectPolicy == "not_larger" ? chosen.min() ?? 1 : chosen.max() ?? 1
                for a in list {
                    scales[a] = scale
                    sizes[a] = Int(scale * Double(x.shape[a]) + 0.5)
                }
            }
        default:
            throw AscentError.invalid("exactly one of scales and sizes must be given")
        }
        return Plan(scales: scales, sizes: sizes, roi: roi)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("Resize", x)
        guard let p = try plan(inputs) else { return nil }
        return [TensorType(x.dtype, p.sizes)]
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
