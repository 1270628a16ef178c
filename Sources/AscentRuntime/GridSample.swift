import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// GridSample(X [N, C, D...], grid [N, out..., r]) for 2-D and 3-D (any r): nearest, linear or
/// cubic sampling at normalized grid coordinates (`align_corners`), with zeros, border or
/// reflection padding, as the ONNX reference computes it. float32.
struct GridSampleKernel: Kernel {
    let mode: String, padding: String, alignCorners: Bool

    init(_ a: NodeAttributes) throws {
        var m = try a.string("mode", "linear")
        if m == "bilinear" { m = "linear" }
        if m == "bicubic" { m = "cubic" }
        mode = m
        padding = try a.string("padding_mode", "zeros")
        alignCorners = try a.int("align_corners", 0) != 0
        guard ["nearest", "linear", "cubic"].contains(mode) else { throw AscentError.invalid("mode '\(mode)' is not supported") }
        guard ["zeros", "border", "reflection"].contains(padding) else { throw AscentError.invalid("padding_mode '\(padding)' is not supported") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), g = try inputs.type(1)
        try requireFloat("GridSample", x)
        guard x.rank >= 3, g.rank == x.rank, g.shape[0] == x.shape[0], g.shape.last == x.rank - 2 else {
            throw AscentError.invalid("grid \(g) does not match input \(x)")
        }
        return [TensorType(x.dtype, [x.shape[0], x.shape[1]] + Array(g.shape[1..<(g.rank - 1)]))]
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
