import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// LpPool over `[N, C, spatial...]` float32: `(Σ |x|ᵖ)^(1/p)` over each window (padding counts as
/// zeros); `pads`, `auto_pad`, `strides`, `dilations`, `ceil_mode`.
struct LpPoolKernel: Kernel {
    let p: Int, autoPad: String, ceilMode: Bool
    let kernel: [Int], strides: [Int]?, dilations: [Int]?, pads: [Int]?

    init(_ a: NodeAttributes) throws {
        p = try a.int("p", 2)
        autoPad = try a.string("auto_pad", "NOTSET")
        ceilMode = try a.int("ceil_mode", 0) != 0
        guard let k = try a.ints("kernel_shape") else { throw AscentError.invalid("missing attribute 'kernel_shape'") }
        kernel = k
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
    }

    func geometry(_ x: TensorType) throws -> (out: [Int], begin: [Int], s: [Int], d: [Int]) {
        let n = x.rank - 2
        guard n >= 1, kernel.count == n else { throw AscentError.invalid("kernel_shape \(kernel) does not fit \(x)") }
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        var out: [Int] = [], begin: [Int] = []
        for i in 0..<n {
            let size = x.shape[i + 2]
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                let o = (size - 1) / s[i] + 1
                let total = max((o - 1) * s[i] + kernel[i] - size, 0)
                out.append(o)
                begin.append(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2)
            case "VALID":
                out.append((size - ((kernel[i] - 1) * d[i] + 1)) / s[i] + 1)
                begin.append(0)
            default:
                let pp = pads ?? Array(repeating: 0, count: 2 * n)
                guard let o = try ShapeRules.windowOutput(.known(size), kernel: kernel[i], stride: s[i], dilation: d[i],
                                                          padBegin: pp[i], padEnd: pp[i + n], ceilMode: ceilMode).value else {
                    throw AscentError.invalid("cannot size the output")
                }
                out.append(o)
                begin.append(pp[i])
            }
        }
        return (out, begin, s, d)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("LpPool", x)
        return [TensorType(x.dtype, Array(x.shape[..<2]) + (try geometry(x)).out)]
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
