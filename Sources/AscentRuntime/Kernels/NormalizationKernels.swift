import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the normalization ops (Ops/Normalization.swift): Batch, Layer, Instance, Group, RMS,
// mean-variance and Lp normalization, LRN, Softmax, LogSoftmax, Hardmax.

/// `y = (x - mean) / sqrt(var + epsilon) · scale + B` along the channel `axis`, folded into one
/// multiply-add per element: `y = x · s[c] + t[c]`.
struct BatchNormKernel: Kernel {
    let epsilon: Float
    let axis: Int

    /// Inference mode only: `statisticsOutputs` when the node uses the running-statistics outputs.
    init(_ a: BatchNormalizationAttributes, statisticsOutputs: Bool) throws {
        epsilon = a.epsilon
        axis = a.axis
        guard !a.trainingMode, !statisticsOutputs else {
            throw AscentError.invalid("training mode (running statistics outputs) is not supported")
        }
    }

    var inPlaceInputs: [Int] { [0] }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(x.dtype) }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        for i in 1...4 {
            let p = try inputs.type(i)
            guard p.dtype == .float32, p.count == x.shape[a], p.rank == 1 else {
                throw AscentError.invalid("parameter \(i) is \(p), expected float32[\(x.shape[a])]")
            }
        }
        return nil
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(x.dtype) }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let normalized = Array(x.shape[a...])
        for i in 1..<3 where inputs.has(i) {
            let p = try inputs.type(i)
            guard p.dtype == .float32, try BroadcastLoop.shape([p.shape, normalized]) == normalized else {
                throw AscentError.invalid("\(i == 1 ? "scale" : "bias") \(p) does not broadcast to \(Shape(normalized))")
            }
        }
        return nil
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

    var inPlaceInputs: [Int] { [0] }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(x.dtype) }
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return nil
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

/// LpNormalization along `axis`: `x / ‖x‖ₚ` (p 1 or 2); a zero norm gives 0.
struct LpNormKernel: Kernel {
    let axis: Int, p: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let (outer, size, inner) = around(x.shape, axis: try ShapeRules.axis(axis, rank: x.rank))
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for a in 0..<outer {
            for q in 0..<inner {
                var norm: Double = 0
                for k in 0..<size {
                    let v = Double(s[(a * size + k) * inner + q])
                    norm += p == 1 ? abs(v) : v * v
                }
                if p == 2 { norm = norm.squareRoot() }
                for k in 0..<size {
                    let i = (a * size + k) * inner + q
                    o[i] = norm == 0 ? 0 : Float(Double(s[i]) / norm)
                }
            }
        }
        return [y]
    }
}

/// InstanceNormalization (one group per channel) and GroupNormalization over `[N, C, ...]`:
/// `y = (x − mean) / √(var + ε) · scale[c] + bias[c]`, statistics per sample and group.
/// GroupNormalization-18's per-group scale and bias (`num_groups` values) are accepted too.
struct GroupNormKernel: Kernel {
    /// The groups; nil for InstanceNormalization (one per channel).
    let groups: Int?
    let epsilon: Float

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        guard x.rank >= 2 else { throw AscentError.invalid("needs rank 2 or more, got \(x)") }
        let c = x.shape[1], g = groups ?? c
        guard g > 0, c % g == 0 else { throw AscentError.invalid("channels \(c) do not divide into \(g) groups") }
        for i in 1...2 {
            let p = try inputs.type(i)
            guard p.count == c || p.count == g else { throw AscentError.invalid("parameter \(i) is \(p), expected [\(c)]") }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1], let bias = inputs[2] else { throw AscentError.invalid("missing input") }
        let n = x.shape[0], c = x.shape[1], spatial = product(x.shape[2...])
        let g = groups ?? c, per = c / g
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats, w = scale.floats(), b = bias.floats()
        for ni in 0..<n {
            for gi in 0..<g {
                let start = (ni * c + gi * per) * spatial, count = per * spatial
                var mean: Double = 0
                for i in 0..<count { mean += Double(s[start + i]) }
                mean /= Double(max(count, 1))
                var variance: Double = 0
                for i in 0..<count { let d = Double(s[start + i]) - mean; variance += d * d }
                variance /= Double(max(count, 1))
                let inv = 1 / (variance + Double(epsilon)).squareRoot()
                for k in 0..<per {
                    let ch = gi * per + k
                    let sw = Double(w.count == c ? w[ch] : w[gi]), sb = Double(b.count == c ? b[ch] : b[gi])
                    for i in 0..<spatial {
                        let j = start + k * spatial + i
                        o[j] = Float((Double(s[j]) - mean) * inv * sw + sb)
                    }
                }
            }
        }
        return [y]
    }
}

/// RMSNormalization: `x / √(mean(x²) + ε) · scale` over the axes from `axis` on.
struct RMSNormKernel: Kernel {
    let axis: Int, epsilon: Float

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        _ = try BroadcastLoop.shape([x.shape, try inputs.type(1).shape])
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let rows = product(x.shape[..<a]), size = product(x.shape[a...])
        let w = broadcastOffsets(scale.shape, to: x.shape), sw = scale.floats()
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for r in 0..<rows {
            var sum: Double = 0
            for i in 0..<size { let v = Double(s[r * size + i]); sum += v * v }
            let inv = 1 / (sum / Double(max(size, 1)) + Double(epsilon)).squareRoot()
            for i in 0..<size {
                let j = r * size + i
                o[j] = Float(Double(s[j]) * inv) * sw[w[j]]
            }
        }
        return [y]
    }
}

/// MeanVarianceNormalization over `axes` (default [0, 2, 3]): `(x − mean) / (√(E[x²] − mean²) + 1e-9)`.
struct MVNKernel: Kernel {
    let axes: [Int]

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        _ = try ShapeRules.normalizedAxes(axes, rank: x.rank)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let reduced = try ShapeRules.normalizedAxes(axes, rank: x.rank)
        let kept = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let m = kept.reduce(1, *)
        let map = broadcastOffsets(kept, to: x.shape)
        let s = x.floats, n = x.count
        var sum = [Double](repeating: 0, count: m), squares = [Double](repeating: 0, count: m)
        for i in 0..<n { let v = Double(s[i]); sum[map[i]] += v; squares[map[i]] += v * v }
        let per = Double(max(n / max(m, 1), 1))
        let y = context.allocate(outputs[0])
        let o = y.mutableFloats
        for i in 0..<n {
            let mean = sum[map[i]] / per
            let std = max(squares[map[i]] / per - mean * mean, 0).squareRoot()
            o[i] = Float((Double(s[i]) - mean) / (std + 1e-9))
        }
        return [y]
    }
}

/// LRN across channels of `[N, C, ...]`: `x / (bias + alpha/size · Σ x²)^beta` over the window of
/// `size` channels around each one.
struct LRNKernel: Kernel {
    let alpha: Float, beta: Float, bias: Float, size: Int

    init(_ a: LRNAttributes) {
        alpha = a.alpha
        beta = a.beta
        bias = a.bias
        size = a.size
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        guard x.rank >= 3 else { throw AscentError.invalid("needs rank 3 or more, got \(x)") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let n = x.shape[0], c = x.shape[1], spatial = product(x.shape[2...])
        let before = (size - 1) / 2, after = size - 1 - before
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for ni in 0..<n {
            for ci in 0..<c {
                let lo = max(0, ci - before), hi = min(c - 1, ci + after)
                for i in 0..<spatial {
                    var sum: Float = 0
                    for k in lo...hi { let v = s[(ni * c + k) * spatial + i]; sum += v * v }
                    let j = (ni * c + ci) * spatial + i
                    o[j] = s[j] / powf(bias + alpha / Float(size) * sum, beta)
                }
            }
        }
        return [y]
    }
}

/// Hardmax along `axis`: 1 at the first maximum of each slice, 0 elsewhere.
struct HardmaxKernel: Kernel {
    let axis: Int

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let y = context.allocateZeroed(outputs[0])
        let s = x.floats, o = y.mutableFloats
        guard size > 0 else { return [y] }
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0
                for k in 1..<size where s[(p * size + k) * inner + q] > s[(p * size + best) * inner + q] { best = k }
                o[(p * size + best) * inner + q] = 1
            }
        }
        return [y]
    }
}

extension KernelRegistry {
    static let normalization: [(OpDefinition, KernelFactory)] = [
        (.batchNormalization, { node in
            try BatchNormKernel(try BatchNormalizationAttributes(node), statisticsOutputs: node.usesOutput(1) || node.usesOutput(2))
        }),
        (.layerNormalization, { node in
            let a = try LayerNormalizationAttributes(node)
            return LayerNormKernel(axis: a.axis, epsilon: a.epsilon)
        }),
        (.instanceNormalization, { GroupNormKernel(groups: nil, epsilon: try EpsilonAttributes($0).epsilon) }),
        (.groupNormalization, { node in
            let a = try GroupNormalizationAttributes(node)
            return GroupNormKernel(groups: a.groups, epsilon: a.epsilon)
        }),
        (.rmsNormalization, { node in
            let a = try RMSNormalizationAttributes(node)
            return RMSNormKernel(axis: a.axis, epsilon: a.epsilon)
        }),
        (.meanVarianceNormalization, { MVNKernel(axes: try MeanVarianceNormalizationAttributes($0).axes) }),
        (.lpNormalization, { node in
            let a = try LpNormalizationAttributes(node)
            return LpNormKernel(axis: a.axis, p: a.p)
        }),
        (.lrn, { LRNKernel(try LRNAttributes($0)) }),
        (.softmax, { SoftmaxKernel(axis: try SoftmaxAttributes($0).axis, log: false) }),
        (.logSoftmax, { SoftmaxKernel(axis: try SoftmaxAttributes($0).axis, log: true) }),
        (.hardmax, { HardmaxKernel(axis: try SoftmaxAttributes($0).axis) }),
    ]
}
