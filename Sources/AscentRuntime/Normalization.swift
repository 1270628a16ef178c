import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// BatchNormalization (inference, any channel axis), LayerNormalization, Softmax, LogSoftmax.
enum NormalizationKernels {
    static let factories: [String: KernelFactory] = [
        "BatchNormalization": { try BatchNormKernel($0) },
        "LayerNormalization": { try LayerNormKernel($0) },
        "Softmax": { try SoftmaxKernel($0, log: false) },
        "LogSoftmax": { try SoftmaxKernel($0, log: true) },
    ]
}

/// Splits `shape` around `axis` into (outer, size, inner) element counts.
func around(_ shape: [Int], axis: Int) -> (outer: Int, size: Int, inner: Int) {
    (product(shape[..<axis]), shape[axis], product(shape[(axis + 1)...]))
}

/// `y = (x - mean) / sqrt(var + epsilon) · scale + B` along the channel `axis`, folded into one
/// multiply-add per element: `y = x · s[c] + t[c]`.
struct BatchNormKernel: Kernel {
    let epsilon: Float
    let axis: Int

    init(_ a: NodeAttributes) throws {
        epsilon = try a.float("epsilon", 1e-5)
        axis = try a.int("axis", 1)
        guard try a.int("training_mode", 0) == 0, !a.usesOutput(1), !a.usesOutput(2) else {
            throw AscentError.invalid("training-mode BatchNormalization (running statistics outputs) is not supported")
        }
    }

    var inPlaceInputs: [Int] { [0] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype("BatchNormalization", x.dtype) }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        for i in 1...4 {
            let p = try inputs.type(i)
            guard p.dtype == .float32, p.count == x.shape[a], p.rank == 1 else {
                throw AscentError.invalid("parameter \(i) is \(p), expected float32[\(x.shape[a])]")
            }
        }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1], let bias = inputs[2], let mean = inputs[3], let variance = inputs[4] else {
            throw AscentError.invalid("missing input")
        }
        let (outer, c, inner) = around(x.shape, axis: try ShapeRules.axis(axis, rank: x.rank))
        var s = [Float](repeating: 0, count: c), t = [Float](repeating: 0, count: c)
        for i in 0..<c {
            s[i] = scale.floats[i] / (variance.floats[i] + epsilon).squareRoot()
            t[i] = bias.floats[i] - mean.floats[i] * s[i]
        }
        let y = context.allocate(outputs[0])
        let src = x.floats, dst = y.mutableFloats
        s.withUnsafeBufferPointer { sb in
            t.withUnsafeBufferPointer { tb in
                guard let sp = sb.baseAddress, let tp = tb.baseAddress else { return }
                if inner == 1 {
                    context.parallelFor(outer, costPerItem: c) { rows in
                        for r in rows {
                            let xr = src + r * c, yr = dst + r * c
                            for i in 0..<c { yr[i] = xr[i] * sp[i] + tp[i] }
                        }
                    }
                } else {
                    context.parallelFor(outer * c, costPerItem: inner) { planes in
                        for p in planes {
                            let k = p % c, a = sp[k], b = tp[k]
                            let xr = src + p * inner, yr = dst + p * inner
                            for i in 0..<inner { yr[i] = xr[i] * a + b }
                        }
                    }
                }
            }
        }
        return [y]
    }
}

/// LayerNormalization over the axes from `axis` on: `y = (x - mean) / sqrt(var + epsilon) · scale + B`,
/// with `scale` and `B` broadcast to the normalized shape. Optional outputs: `Mean` and `InvStdDev`.
struct LayerNormKernel: Kernel {
    let axis: Int
    let epsilon: Float

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        epsilon = try a.float("epsilon", 1e-5)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype("LayerNormalization", x.dtype) }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let normalized = Array(x.shape[a...])
        for i in 1..<3 where inputs.has(i) {
            let p = try inputs.type(i)
            guard p.dtype == .float32, try BroadcastLoop.shape([p.shape, normalized]) == normalized else {
                throw AscentError.invalid("\(i == 1 ? "scale" : "bias") \(p) does not broadcast to \(Shape(normalized))")
            }
        }
        let stats = TensorType(.float32, Array(x.shape[..<a]) + Array(repeating: 1, count: x.rank - a))
        return [x, stats, stats]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let bias = inputs.count > 2 ? inputs[2] : nil
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let normalized = Array(x.shape[a...])
        let rows = product(x.shape[..<a]), n = product(normalized[...])
        // Scale and bias expanded to the normalized shape.
        let expanded = context.scratch(floats: 2 * n)
        defer { context.release(scratch: expanded) }
        let sp = expanded.baseAddress.assumingMemoryBound(to: Float.self), bp = sp + n
        func expand(_ t: Tensor, into p: UnsafeMutablePointer<Float>) {
            let aligned = Array(repeating: 1, count: normalized.count - t.rank) + t.shape
            let s = contiguousStrides(aligned)
            StridedCopy(shape: normalized, strides: (0..<aligned.count).map { aligned[$0] == 1 ? 0 : s[$0] }, offset: 0)
                .run(source: t.rawPointer, destination: UnsafeMutableRawPointer(p), elementSize: 4, context: context)
        }
        expand(scale, into: sp)
        if let bias { expand(bias, into: bp) } else { bp.update(repeating: 0, count: n) }
        let y = context.allocate(outputs[0])
        // The optional Mean and InvStdDev outputs, when the node has them.
        let mean = outputs.count > 1 ? context.allocate(outputs[1]) : nil
        let inv = outputs.count > 2 ? context.allocate(outputs[2]) : nil
        let src = x.floats, dst = y.mutableFloats
        let pm = mean?.mutableFloats, pi = inv?.mutableFloats
        let eps = Double(epsilon)
        context.parallelFor(rows, costPerItem: 4 * n) { range in
            for r in range {
                let xr = src + r * n, yr = dst + r * n
                var sum: Double = 0
                for i in 0..<n { sum += Double(xr[i]) }
                let mu = n > 0 ? sum / Double(n) : 0
                var sq: Double = 0
                for i in 0..<n { let d = Double(xr[i]) - mu; sq += d * d }
                let rstd = 1 / (sq / Double(max(n, 1)) + eps).squareRoot()
                let m = Float(mu), s = Float(rstd)
                for i in 0..<n { yr[i] = (xr[i] - m) * s * sp[i] + bp[i] }
                pm?[r] = m
                pi?[r] = s
            }
        }
        return [y] + [mean, inv].compactMap { $0 }
    }
}

/// Softmax / LogSoftmax along one axis (opset 13): `exp(x - max) / Σ exp(x - max)`.
struct SoftmaxKernel: Kernel {
    let axis: Int
    let log: Bool

    init(_ a: NodeAttributes, log: Bool) throws {
        axis = try a.int("axis", -1)
        self.log = log
    }

    var inPlaceInputs: [Int] { [0] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(log ? "LogSoftmax" : "Softmax", x.dtype) }
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        guard x.count > 0 else { return [y] }
        let (outer, n, inner) = around(x.shape, axis: try ShapeRules.axis(axis, rank: x.rank))
        let src = x.floats, dst = y.mutableFloats, log = self.log
        context.parallelFor(outer * inner, costPerItem: 16 * n) { range in
            for v in range {
                // Vector v: elements o·n·inner + j·inner + i for j in 0..<n.
                let o = v / inner, i = v % inner
                let xs = src + o * n * inner + i, ys = dst + o * n * inner + i
                var top = -Float.infinity
                for j in 0..<n where xs[j * inner] > top { top = xs[j * inner] }
                var sum: Float = 0
                for j in 0..<n {
                    let e = expf(xs[j * inner] - top)
                    sum += e
                    if !log { ys[j * inner] = e }
                }
                if log {
                    let shift = top + logf(sum)
                    for j in 0..<n { ys[j * inner] = xs[j * inner] - shift }
                } else {
                    let scale = 1 / sum
                    for j in 0..<n { ys[j * inner] *= scale }
                }
            }
        }
        return [y]
    }
}
