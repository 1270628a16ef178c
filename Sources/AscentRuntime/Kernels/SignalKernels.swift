import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the signal-processing ops (Ops/Signal.swift): DFT, STFT, MelWeightMatrix and the window functions.

/// DFT (opsets 17 and 20) of real `[..., 1]` or complex `[..., 2]` float32 signals along `axis`
/// (the input, or the opset-17 attribute; default −2), zero-padded or truncated to `dft_length`:
/// forward (`onesided` keeps the first n/2+1 frequencies), inverse (scaled by 1/n), and the
/// one-sided inverse (irfft, real output `[..., n, 1]`). Direct O(n²) sums in Double.
struct DFTKernel: Kernel {
    let inverse: Bool, onesided: Bool, axisAttribute: Int?

    init(_ a: DFTAttributes) {
        inverse = a.inverse
        onesided = a.onesided
        axisAttribute = a.axis
    }

    func parameters(_ inputs: KernelInputs) throws -> (axis: Int, length: Int)? {
        let x = try inputs.type(0)
        guard x.rank >= 2, x.shape.last == 1 || x.shape.last == 2 else { throw AscentError.invalid("input \(x) must end in 1 or 2") }
        var axis = axisAttribute ?? -2
        if inputs.has(2) {
            guard let v = try inputs.ints(2) else { return nil }
            axis = v.first ?? axis
        }
        axis = ((axis % x.rank) + x.rank) % x.rank
        guard axis < x.rank - 1 else { throw AscentError.invalid("axis \(axis) is the complex axis") }
        var length = inverse && onesided ? 2 * (x.shape[axis] - 1) : x.shape[axis]
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            length = v.first ?? length
        }
        guard length >= 1 else { throw AscentError.invalid("dft_length \(length) is not positive") }
        return (axis, length)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        _ = try parameters(inputs)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let (axis, n) = try parameters(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "parameters unknown at run time")
        }
        let complexIn = x.shape.last == 2
        let signal = Array(x.shape.dropLast())
        let (outer, size, inner) = around(signal, axis: axis)
        let out = outputs[0].shape, outSize = out[axis], outComplex = out.last == 2
        let v = x.doubles()
        var y = [Float](repeating: 0, count: outputs[0].count)
        let comps = complexIn ? 2 : 1, oc = outComplex ? 2 : 1
        for p in 0..<outer {
            for q in 0..<inner {
                func at(_ t: Int) -> (Double, Double) {
                    guard t < size else { return (0, 0) }
                    let i = ((p * size + t) * inner + q) * comps
                    return (v[i], complexIn ? v[i + 1] : 0)
                }
                for k in 0..<outSize {
                    var re = 0.0, im = 0.0
                    if inverse && onesided {
                        // Hermitian extension of the n/2+1 given frequencies; real output.
                        for f in 0..<n {
                            let (a, b): (Double, Double)
                            if f <= n / 2 {
                                let (r, i) = at(f)
                                a = r
                                b = (f == 0 || (n % 2 == 0 && f == n / 2)) ? 0 : i
                            } else {
                                let (r, i) = at(n - f)
                                a = r
                                b = -i
                            }
                            let angle = 2 * Double.pi * Double(f * k % n) / Double(n)
                            re += a * cos(angle) - b * sin(angle)
                        }
                        re /= Double(n)
                    } else {
                        let sign = inverse ? 1.0 : -1.0
                        for t in 0..<min(size, n) {
                            let (a, b) = at(t)
                            let angle = sign * 2 * Double.pi * Double(t * k % n) / Double(n)
                            let c = cos(angle), s = sin(angle)
                            re += a * c - b * s
                            im += a * s + b * c
                        }
                        if inverse { re /= Double(n); im /= Double(n) }
                    }
                    let o = ((p * outSize + k) * inner + q) * oc
                    y[o] = Float(re)
                    if outComplex { y[o + 1] = Float(im) }
                }
            }
        }
        return [Tensor(shape: out, scalars: y)]
    }
}

/// STFT(signal [B, L, 1 or 2], frame_step, window?, frame_length?): the DFT of each windowed frame,
/// `[B, frames, bins, 2]` with `frames = 1 + (L − frame_length) / frame_step` and `bins` the
/// frame length (or its one-sided half + 1, the default).
struct STFTKernel: Kernel {
    let onesided: Bool

    func parameters(_ inputs: KernelInputs) throws -> (step: Int, length: Int)? {
        let x = try inputs.type(0)
        guard x.rank == 3, x.shape[2] == 1 || x.shape[2] == 2 else { throw AscentError.invalid("signal \(x) must be [batch, length, 1 or 2]") }
        guard let step = try inputs.ints(1)?.first else { return nil }
        var length: Int? = nil
        if inputs.has(3) {
            guard let v = try inputs.ints(3) else { return nil }
            length = v.first
        }
        if length == nil, inputs.has(2) { length = try inputs.type(2).shape.first }
        guard let length, length >= 1, length <= x.shape[1], step >= 1 else { throw AscentError.invalid("needs a frame length and a positive step") }
        return (step, length)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        _ = try parameters(inputs)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let (step, length) = try parameters(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError.invalid("missing input")
        }
        let window = inputs.count > 2 ? inputs[2]?.doubles() : nil
        let v = x.doubles(), comps = x.shape[2], l = x.shape[1]
        let out = outputs[0].shape, frames = out[1], bins = out[2]
        var y = [Float](repeating: 0, count: outputs[0].count)
        for b in 0..<x.shape[0] {
            for f in 0..<frames {
                for k in 0..<bins {
                    var re = 0.0, im = 0.0
                    for t in 0..<length {
                        let i = (b * l + f * step + t) * comps, w = window?[t] ?? 1
                        let a = v[i] * w, c = comps == 2 ? v[i + 1] * w : 0
                        let angle = -2 * Double.pi * Double(t * k % length) / Double(length)
                        re += a * cos(angle) - c * sin(angle)
                        im += a * sin(angle) + c * cos(angle)
                    }
                    let o = ((b * frames + f) * bins + k) * 2
                    y[o] = Float(re)
                    y[o + 1] = Float(im)
                }
            }
        }
        return [Tensor(shape: out, scalars: y)]
    }
}

/// MelWeightMatrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz): the
/// `[dft_length/2 + 1, num_mel_bins]` triangular filter bank, as the ONNX reference builds it.
struct MelWeightMatrixKernel: Kernel {
    let dtype: DType

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let rate = inputs[2]?.doubles().first, let lower = inputs[3]?.doubles().first, let upper = inputs[4]?.doubles().first,
              let dft = inputs[1]?.int64s().first else { throw AscentError.invalid("missing input") }
        let (rows, bins) = (outputs[0].shape[0], outputs[0].shape[1])
        let lowMel = 2595 * log1p(lower / 700) / log(10.0), highMel = 2595 * log1p(upper / 700) / log(10.0)
        let step = (highMel - lowMel) / Double(bins + 2)
        let points = (0..<(bins + 2)).map { i -> Int in
            let hz = 700 * expm1((Double(i) * step + lowMel) / 2595 * log(10.0))
            return Int(((Double(dft) + 1) * hz / rate).rounded(.down))
        }
        var w = [Double](repeating: 0, count: rows * bins)
        for i in 0..<bins {
            let lo = points[i], center = points[i + 1], hi = points[i + 2]
            if center == lo {
                if center >= 0 && center < rows { w[center * bins + i] = 1 }
            } else {
                for j in lo...center where j >= 0 && j < rows { w[j * bins + i] = Double(j - lo) / Double(center - lo) }
            }
            if hi > center {
                for j in center..<hi where j >= 0 && j < rows { w[j * bins + i] = Double(hi - j) / Double(hi - center) }
            }
        }
        return [tensor(outputs[0], doubles: w)]
    }
}

/// HannWindow, HammingWindow, BlackmanWindow(size): the window of `size` points (`periodic` or
/// symmetric), of type `output_datatype` (floating types computed as float32).
struct WindowKernel: Kernel {
    enum Function: Sendable { case hann, hamming, blackman }
    let function: Function, periodic: Bool, dtype: DType

    init(_ function: Function, _ a: WindowFunctionAttributes) {
        self.function = function
        periodic = a.periodic
        dtype = a.dtype
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        if let n = try inputs.ints(0), n.count != 1 || n[0] < 0 { throw AscentError.invalid("size must be a non-negative scalar") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let size = outputs[0].shape[0]
        let n = Double(periodic ? size : size - 1)
        let v = (0..<size).map { i -> Double in
            let x = Double(i)
            switch function {
            case .hann: let s = sin(x * .pi / n); return s * s
            case .hamming: return 25.0 / 46.0 - cos(x * .pi * 2 / n) * (1 - 25.0 / 46.0)
            case .blackman: return cos(x * .pi * 2 / n) * -0.5 + cos(x * .pi * 4 / n) * 0.08 + 0.42
            }
        }
        return [tensor(outputs[0], doubles: v)]
    }
}

extension KernelRegistry {
    static let signal: [(OpDefinition, KernelFactory)] = [
        (.dft, { DFTKernel(try DFTAttributes($0)) }),
        (.stft, { STFTKernel(onesided: try STFTAttributes($0).onesided) }),
        (.hannWindow, { WindowKernel(.hann, try WindowFunctionAttributes($0)) }),
        (.hammingWindow, { WindowKernel(.hamming, try WindowFunctionAttributes($0)) }),
        (.blackmanWindow, { WindowKernel(.blackman, try WindowFunctionAttributes($0)) }),
        (.melWeightMatrix, { MelWeightMatrixKernel(dtype: try MelWeightMatrixAttributes($0).dtype) }),
    ]
}
