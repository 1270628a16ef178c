import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// The extra reductions (ReduceL1, ReduceL2, ReduceLogSum...) and normalizations (Lp, Instance,
/// Group, RMS, MVN, LRN). Registered in ``MoreKernels``.

// MARK: - Reductions

/// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (computed in Double;
/// float32 and integers), with ReduceSum's axes, `keepdims` and `noop_with_empty_axes`.
struct MoreReduceKernel: Kernel {
    let op: String
    let reduction: ReductionAxes

    init(_ a: NodeAttributes) throws {
        op = a.op
        reduction = try ReductionAxes(a)
    }

    func axes(_ inputs: KernelInputs) throws -> [Int]? { try reduction.axes(inputs) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(op, x)
        guard let axes = try axes(inputs) else { return nil }
        return [TensorType(x.dtype, reduction.reducedShape(x.shape, axes: axes))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let axes = try axes(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "reduction axes unknown at run time")
        }
        let v = x.doubles()
        let kept = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let m = outputs[0].count
        // Output offset of each input element: iterate the input, the output steps 0 along reduced axes.
        let map = axes.isEmpty ? Array(0..<v.count) : broadcastOffsets(kept, to: x.shape)
        var result = [Double](repeating: 0, count: m)
        if axes.isEmpty {
            // noop_with_empty_axes: the elementwise part of the reduction only.
            for i in 0..<v.count {
                switch op {
                case "ReduceL1": result[i] = abs(v[i])
                case "ReduceL2": result[i] = abs(v[i])
                case "ReduceLogSum": result[i] = naturalLog(v[i])
                case "ReduceLogSumExp": result[i] = v[i]
                default: result[i] = v[i] * v[i]
                }
            }
            return [tensor(outputs[0], doubles: result)]
        }
        switch op {
        case "ReduceLogSumExp":
            var top = [Double](repeating: -.infinity, count: m)
            for i in 0..<v.count where v[i] > top[map[i]] { top[map[i]] = v[i] }
            for i in 0..<v.count {
                let t = top[map[i]]
                result[map[i]] += naturalExp(t.isInfinite ? v[i] : v[i] - t)
            }
            for j in 0..<m { result[j] = naturalLog(result[j]) + (top[j].isInfinite ? 0 : top[j]) }
        default:
            for i in 0..<v.count {
                let x = v[i]
                switch op {
                case "ReduceL1": result[map[i]] += abs(x)
                case "ReduceLogSum": result[map[i]] += x
                default: result[map[i]] += x * x
                }
            }
            if op == "ReduceL2" { result = result.map { $0.squareRoot() } }
            if op == "ReduceLogSum" { result = result.map { naturalLog($0) } }
        }
        if x.dtype.isInteger { result = result.map { $0.rounded(.toNearestOrEven) } }
        return [tensor(outputs[0], doubles: result)]
    }
}

@inline(__always) func naturalLog(_ x: Double) -> Double { log(x) }
@inline(__always) func naturalExp(_ x: Double) -> Double { exp(x) }

// MARK: - Normalizations

/// LpNormalization along `axis`: `x / ‖x‖ₚ` (p 1 or 2); a zero norm gives 0.
struct LpNormKernel: Kernel {
    let axis: Int, p: Int

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        p = try a.int("p", 2)
        guard p == 1 || p == 2 else { throw AscentError.invalid("p \(p) is not 1 or 2") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("LpNormalization", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return [x]
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
    let instance: Bool, groups: Int, epsilon: Float

    init(_ a: NodeAttributes) throws {
        instance = a.op == "InstanceNormalization"
        groups = instance ? 0 : try a.int("num_groups", 0)
        epsilon = try a.float("epsilon", 1e-5)
        guard instance || groups > 0 else { throw AscentError.invalid("num_groups must be positive") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(instance ? "InstanceNormalization" : "GroupNormalization", x)
        guard x.rank >= 2 else { throw AscentError.invalid("needs rank 2 or more, got \(x)") }
        let c = x.shape[1], g = instance ? c : groups
        guard g > 0, c % g == 0 else { throw AscentError.invalid("channels \(c) do not divide into \(g) groups") }
        for i in 1...2 {
            let p = try inputs.type(i)
            guard p.count == c || p.count == g else { throw AscentError.invalid("parameter \(i) is \(p), expected [\(c)]") }
        }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1], let bias = inputs[2] else { throw AscentError.invalid("missing input") }
        let n = x.shape[0], c = x.shape[1], spatial = product(x.shape[2...])
        let g = instance ? c : groups, per = c / g
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

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        epsilon = try a.float("epsilon", 1e-5)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("RMSNormalization", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        _ = try BroadcastLoop.shape([x.shape, try inputs.type(1).shape])
        return [x]
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

    init(_ a: NodeAttributes) throws { axes = try a.ints("axes") ?? [0, 2, 3] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("MeanVarianceNormalization", x)
        _ = try ShapeRules.normalizedAxes(axes, rank: x.rank)
        return [x]
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

    init(_ a: NodeAttributes) throws {
        alpha = try a.float("alpha", 0.0001)
        beta = try a.float("beta", 0.75)
        bias = try a.float("bias", 1)
        size = try a.int("size", 0)
        guard size > 0 else { throw AscentError.invalid("size must be positive") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("LRN", x)
        guard x.rank >= 3 else { throw AscentError.invalid("LRN needs rank 3 or more, got \(x)") }
        return [x]
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
