import AscentIR
import AscentRuntime
import Foundation

/// The integration rules of Integrated Gradients, as Captum defines them
/// (`captum.attr._utils.approximation_methods`) for `n` steps:
/// - `gaussLegendre` (Captum's default): `αₖ = (1 + tₖ)/2`, `wₖ = ωₖ/2` for the Gauss–Legendre
///   nodes `tₖ` and weights `ωₖ` on [−1, 1];
/// - `riemannLeft`: `αₖ = k/n`, k = 0…n−1; `riemannRight`: `αₖ = (k+1)/n`;
///   `riemannMiddle`: `αₖ = (k+½)/n`; all with `wₖ = 1/n`;
/// - `riemannTrapezoid`: `αₖ = k/(n−1)`, k = 0…n−1, `wₖ = 1/n` halved at both ends (Captum's
///   weights, which sum to `(n−1)/n`, not 1).
public enum QuadratureRule: String, CaseIterable, Sendable {
    case gaussLegendre = "gausslegendre"
    case riemannLeft = "riemann-left"
    case riemannRight = "riemann-right"
    case riemannMiddle = "riemann-middle"
    case riemannTrapezoid = "riemann-trapezoid"

    /// The points `α` on [0, 1] and their weights for `n` steps (n ≥ 1; ≥ 2 for the trapezoid).
    public func points(_ n: Int) -> (alphas: [Double], weights: [Double]) {
        let dn = Double(n)
        // Captum builds the Riemann points with torch.linspace in float32.
        func linspace(_ a: Double, _ b: Double) -> [Double] {
            n == 1 ? [a] : (0..<n).map { Double(Float(a + (b - a) * Double($0) / Double(n - 1))) }
        }
        switch self {
        case .gaussLegendre:
            let (t, w) = QuadratureRule.legendre(n)
            return (t.map { 0.5 * (1 + $0) }, w.map { 0.5 * $0 })
        case .riemannLeft: return (linspace(0, 1 - 1 / dn), Array(repeating: 1 / dn, count: n))
        case .riemannRight: return (linspace(1 / dn, 1), Array(repeating: 1 / dn, count: n))
        case .riemannMiddle: return (linspace(1 / (2 * dn), 1 - 1 / (2 * dn)), Array(repeating: 1 / dn, count: n))
        case .riemannTrapezoid:
            var w = Array(repeating: 1 / dn, count: n)
            w[0] /= 2
            w[n - 1] /= 2
            return (linspace(0, 1), w)
        }
    }

    /// Gauss–Legendre nodes (ascending) and weights on [−1, 1], by Newton's method on `Pₙ`.
    static func legendre(_ n: Int) -> (nodes: [Double], weights: [Double]) {
        var nodes = [Double](repeating: 0, count: n), weights = nodes
        for i in 0..<((n + 1) / 2) {
            var x = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p0 = 1.0, p1 = x
                if n == 1 { p1 = x; p0 = 1 }
                for k in stride(from: 2, through: n, by: 1) {
                    let pk = ((2 * Double(k) - 1) * x * p1 - (Double(k) - 1) * p0) / Double(k)
                    p0 = p1
                    p1 = pk
                }
                // p1 = Pₙ(x), p0 = Pₙ₋₁(x)
                derivative = Double(n) * (x * p1 - p0) / (x * x - 1)
                let dx = p1 / derivative
                x -= dx
                if abs(dx) < 1e-16 { break }
            }
            nodes[i] = -x
            nodes[n - 1 - i] = x
            let w = 2 / ((1 - x * x) * derivative * derivative)
            weights[i] = w
            weights[n - 1 - i] = w
        }
        return (nodes, weights)
    }
}

extension Attribution {
    /// Σₖ wₖ g(pₖ) (or Σₖ wₖ g(pₖ)² when `squared`) over `count` points, `g = ∂F/∂x`, the points
    /// written by `point`; also `F` at each point.
    func gradientSum(count: Int, itemShape: [Int], batch: Int?, squared: Bool = false,
                     weight: (Int) -> Double, point: (Int, UnsafeMutableBufferPointer<Float>) -> Void) throws
        -> (sum: [Double], objectives: [Float]) {
        let (session, gradient) = try inputGradientSession()
        let itemCount = itemShape.reduce(1, *)
        var sum = [Double](repeating: 0, count: itemCount)
        var objectives = [Float](repeating: 0, count: count)
        try runBatched(session, itemShape: itemShape, count: count, batch: batch, item: point) { k, outputs, b in
            objectives[k] = outputs[objective.value]!.floats()[b]
            let w = weight(k)
            guard w != 0 else { return }
            outputs[gradient]!.withUnsafeBytes { raw in
                let g = raw.bindMemory(to: Float.self)
                let base = b * itemCount
                sum.withUnsafeMutableBufferPointer { s in
                    if squared {
                        for i in 0..<itemCount { let v = Double(g[base + i]); s[i] += w * v * v }
                    } else {
                        for i in 0..<itemCount { s[i] += w * Double(g[base + i]) }
                    }
                }
            }
        }
        return (sum, objectives)
    }

    func map(_ values: [Float], itemShape: [Int], objective: Float) -> Map {
        Map(values: Tensor(shape: [1] + itemShape, scalars: values), objective: objective)
    }

    /// `∂F/∂x`, signed.
    func saliency(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        let (g, f) = try gradientSum(count: 1, itemShape: itemShape, batch: 1, weight: { _ in 1 }) { _, dst in _ = dst.initialize(from: x) }
        return map(g.map { Float($0) }, itemShape: itemShape, objective: f[0])
    }

    /// `x ⊙ ∂F/∂x` (Captum's `InputXGradient`).
    func gradientTimesInput(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        var m = try saliency(x, itemShape: itemShape, options: options)
        let g = m.values.floats()
        m.values = Tensor(shape: [1] + itemShape, scalars: zip(x, g).map { $0 * $1 })
        return m
    }

    /// SmoothGrad: the mean over samples of `∂F/∂x (x + ε)` (or of its square).
    func smoothGrad(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        let itemCount = x.count
        let noise: [Float]
        let samples: Int
        if let draws = options.noiseDraws {
            guard draws.shape.count == itemShape.count + 1, Array(draws.shape.dropFirst()) == itemShape, draws.shape[0] >= 1 else {
                throw AscentError.invalid("the noise draws are \(Shape(draws.shape)), expected [S, \(itemShape.map(String.init).joined(separator: ", "))] (samples × the input item's shape)")
            }
            noise = draws.floats()
            samples = draws.shape[0]
        } else {
            guard options.samples >= 1 else { throw AscentError(.usage, "SmoothGrad needs at least 1 sample") }
            guard options.noise >= 0, options.noise.isFinite else { throw AscentError(.usage, "the noise level must be ≥ 0") }
            samples = options.samples
            let sd = options.noise * ((x.max() ?? 0) - (x.min() ?? 0))
            var rng = SplitMix64(seed: options.seed)
            noise = (0..<(samples * itemCount)).map { _ in Float(rng.nextGaussian()) * sd }
        }
        let (sum, f) = try gradientSum(count: samples + 1, itemShape: itemShape, batch: options.batch, squared: options.squared,
                                       weight: { $0 < samples ? 1 / Double(samples) : 0 }) { k, dst in
            if k == samples { _ = dst.initialize(from: x); return }
            for i in 0..<itemCount { dst[i] = x[i] + noise[k * itemCount + i] }
        }
        return map(sum.map { Float($0) }, itemShape: itemShape, objective: f[samples])
    }

    /// Integrated Gradients, as Captum computes it: points `x′ + αₖ (x − x′)` in float32, the
    /// weighted sum of their gradients, times `x − x′`; with `F(x)`, `F(x′)` and the
    /// completeness gap `Σ attributions − (F(x) − F(x′))`.
    func integratedGradients(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        guard options.steps >= (options.rule == .riemannTrapezoid ? 2 : 1) else {
            throw AscentError(.usage, "Integrated Gradients needs at least \(options.rule == .riemannTrapezoid ? 2 : 1) steps with rule \(options.rule.rawValue)")
        }
        let baseline = try baselineValues(options.baseline, for: x, itemShape: itemShape, seed: options.seed)
        let (alphas, weights) = options.rule.points(options.steps)
        let n = alphas.count
        let diff = zip(x, baseline).map { $0 - $1 }
        // The last two points are x′ and x themselves (weight 0), for the completeness check.
        let (sum, f) = try gradientSum(count: n + 2, itemShape: itemShape, batch: options.batch,
                                       weight: { $0 < n ? Double(Float(weights[$0])) : 0 }) { k, dst in
            if k == n { _ = dst.initialize(from: baseline); return }
            if k == n + 1 { _ = dst.initialize(from: x); return }
            let a = Float(alphas[k])
            for i in 0..<x.count { dst[i] = baseline[i] + a * diff[i] }
        }
        let values = zip(sum, diff).map { Float($0) * $1 }
        var m = map(values, itemShape: itemShape, objective: f[n + 1])
        m.baselineObjective = f[n]
        let total = values.reduce(0.0) { $0 + Double($1) }
        m.completenessGap = Float(total - (Double(f[n + 1]) - Double(f[n])))
        return m
    }

    /// The baseline `x′` for one item.
    func baselineValues(_ baseline: Baseline, for x: [Float], itemShape: [Int], seed: UInt64) throws -> [Float] {
        switch baseline {
        case .zeros: return [Float](repeating: 0, count: x.count)
        case .value(let v): return [Float](repeating: v, count: x.count)
        case .uniform:
            let lo = x.min() ?? 0, hi = x.max() ?? 0
            var rng = SplitMix64(seed: seed)
            return x.map { _ in lo + Float(rng.nextUnit()) * (hi - lo) }
        case .blur:
            guard let g = ImageGeometry(shape: [1] + itemShape, channelsLast: channelsLast) else {
                throw AscentError(.usage, "the blur baseline needs an image input ([N,H,W,C] or [N,C,H,W]); this one is [N, \(itemShape.map(String.init).joined(separator: ", "))]")
            }
            return g.gaussianBlur(x, sigma: Float(max(g.height, g.width)) / 10)
        case .tensor(let t):
            let shape = t.shape.first == 1 && t.shape.count == itemShape.count + 1 ? Array(t.shape.dropFirst()) : t.shape
            guard shape == itemShape else {
                throw AscentError.invalid("the baseline has shape \(Shape(t.shape)), the input is \(Shape([1] + itemShape))")
            }
            return t.floats()
        }
    }
}

extension SplitMix64 {
    /// A standard normal draw (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u1 = max(nextUnit(), 1e-300), u2 = nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
