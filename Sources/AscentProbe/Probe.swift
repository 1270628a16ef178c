import AscentIR
import AscentRuntime
import Foundation

/// Activation maximization: gradient ascent on a model's input.
///
/// The objective (``Target`` resolved on the graph) and its gradient with respect to the
/// input are one IR graph (``GradientBuilder``), planned once and run each step.
public final class Probe {
    public let objective: Objective
    public let options: ProbeOptions
    /// The graph input being optimized.
    public let inputName: String
    /// The concrete input shape (batch 1 unless the initialization says otherwise).
    public let inputShape: [Int]
    /// Where the channel axis of the input is (for pictures), from its layout tag.
    public let channelsLast: Bool
    private let session: Session
    private let gradientName: String

    /// One step's record.
    public struct Step: Sendable, Codable {
        public var step: Int
        /// The objective of each batch item, before the update.
        public var objective: [Float]
        /// ‖∂objective/∂x‖ of each batch item.
        public var gradientNorm: [Float]
        public var milliseconds: Double
    }

    public struct Result: Sendable {
        /// The optimized input (model units, the input's shape).
        public var input: Tensor
        public var steps: [Step]
        /// The objective of each batch item at the final input.
        public var finalObjective: [Float]
    }

    /// Prepares the probe: resolves the target, builds the gradient graph and plans it.
    /// - Parameter input: which graph input to optimize (default: the only one).
    public init(graph: Graph, target: Target, options: ProbeOptions = ProbeOptions(),
                input: String? = nil, threads: Int? = nil) throws {
        let inputInfo: ValueInfo
        if let input {
            guard let info = graph.inputs.first(where: { $0.name == input }) else {
                throw Objective.unknown("input", input, among: graph.inputs.map(\.name))
            }
            inputInfo = info
        } else {
            let floating = graph.inputs.filter { $0.type.dtype.isFloatingPoint }
            guard floating.count == 1 else {
                throw AscentError.invalid("the model has \(floating.count) floating-point inputs: name the one to optimize")
            }
            inputInfo = floating[0]
        }
        guard let dims = inputInfo.type.shape?.dims, !dims.isEmpty else {
            throw AscentError.invalid("input '\(inputInfo.name)' has an unknown shape")
        }
        var shape: [Int] = []
        for (i, d) in dims.enumerated() {
            if let v = d.value { shape.append(v) }
            else if i == 0 { shape.append(1) }
            else { throw AscentError.invalid("input '\(inputInfo.name)' has an unknown size on axis \(i) (\(inputInfo.type)): give a fixed input shape") }
        }
        if case .tensor(let t) = options.initialization {
            guard t.shape.count == shape.count, Array(t.shape.dropFirst()) == Array(shape.dropFirst()) else {
                throw AscentError.invalid("initial input has shape \(Shape(t.shape)), the model takes \(inputInfo.type)")
            }
            shape = t.shape
        }
        inputName = inputInfo.name
        inputShape = shape
        // The layout tag decides; untagged rank-4 inputs are channels-last when their last
        // axis looks like colour channels.
        channelsLast = inputInfo.type.layout.map(\.isChannelsLast) ?? (shape.count != 4 || [1, 3, 4].contains(shape[3]))
        self.options = options
        objective = try Objective(target, on: graph, border: options.border)
        let gradient = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [inputName])
        gradientName = gradient.gradients[inputName]!
        var sessionOptions = Session.Options()
        if let threads { sessionOptions.threads = threads }
        session = try Session(graph: gradient.graph, options: sessionOptions)
    }

    /// The objective and its gradient at `x`.
    public func evaluate(_ x: Tensor) throws -> (objective: [Float], gradient: Tensor) {
        let out = try session.run([inputName: x])
        guard let value = out[objective.value], let grad = out[gradientName] else {
            throw AscentError(.internal, "the gradient graph did not produce its outputs")
        }
        return (value.floats(), grad)
    }

    /// Runs the ascent; `progress` is called after every step.
    public func run(progress: (Step) -> Void = { _ in }) throws -> Result {
        var rng = SplitMix64(seed: options.seed)
        let count = inputShape.reduce(1, *)
        var x: [Float]
        switch options.initialization {
        case .noise(let scale): x = (0..<count).map { _ in (Float(rng.nextUnit()) - 0.5) * scale + options.initialOffset }
        case .zeros: x = [Float](repeating: options.initialOffset, count: count)
        case .tensor(let t): x = t.floats()
        }
        let batch = inputShape[0]
        let perItem = count / max(batch, 1)
        var adam = AdamState(count: count)
        var steps: [Step] = []
        let spatial = ImageGeometry(shape: inputShape, channelsLast: channelsLast)

        for step in 0..<options.steps {
            let start = DispatchTime.now().uptimeNanoseconds
            // Transformation robustness: evaluate at a shifted input, shift the gradient back.
            let (dy, dx) = options.jitter > 0 && spatial != nil
                ? (Int(rng.next() % UInt64(2 * options.jitter + 1)) - options.jitter,
                   Int(rng.next() % UInt64(2 * options.jitter + 1)) - options.jitter) : (0, 0)
            let shifted = spatial.map { $0.roll(x, dy: dy, dx: dx) } ?? x
            let (value, gradTensor) = try evaluate(Tensor(shape: inputShape, scalars: shifted))
            var g = gradTensor.floats()
            if let geometry = spatial, dy != 0 || dx != 0 { g = geometry.roll(g, dy: -dy, dx: -dx) }
            Regularizers.addGradients(to: &g, x: x, options: options, geometry: spatial, batch: batch)
            var norms: [Float] = []
            for b in 0..<batch {
                let range = (b * perItem)..<((b + 1) * perItem)
                norms.append(sqrt(g[range].reduce(0) { $0 + $1 * $1 }))
            }
            switch options.optimizer {
            case .normalizedGradient:
                for b in 0..<batch {
                    let scale = options.learningRate / max(norms[b], 1e-12)  // tf.math.l2_normalize's epsilon: 1e-12 on ‖g‖²
                    for i in (b * perItem)..<((b + 1) * perItem) { x[i] += scale * g[i] }
                }
            case .adam(let b1, let b2, let eps):
                adam.ascend(&x, gradient: g, learningRate: options.learningRate, beta1: b1, beta2: b2, epsilon: eps)
            }
            if options.blurEvery > 0, (step + 1) % options.blurEvery == 0, let geometry = spatial {
                x = geometry.gaussianBlur(x, sigma: options.blurSigma)
            }
            if let clip = options.clip { for i in x.indices { x[i] = min(max(x[i], clip.lowerBound), clip.upperBound) } }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let record = Step(step: step + 1, objective: value, gradientNorm: norms, milliseconds: ms)
            steps.append(record)
            progress(record)
        }
        let final = Tensor(shape: inputShape, scalars: x)
        return Result(input: final, steps: steps, finalObjective: try evaluate(final).objective)
    }
}

/// Adam's moment estimates, for ascent.
struct AdamState {
    var m: [Float], v: [Float], t = 0
    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    mutating func ascend(_ x: inout [Float], gradient g: [Float], learningRate: Float, beta1: Float, beta2: Float, epsilon: Float) {
        t += 1
        let c1 = 1 - pow(beta1, Float(t)), c2 = 1 - pow(beta2, Float(t))
        for i in x.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            x[i] += learningRate * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}

/// A small, seeded, portable random generator (SplitMix64), so runs repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
