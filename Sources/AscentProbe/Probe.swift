import AscentIR
import AscentRuntime
import Foundation

/// Activation maximization: gradient ascent on a model's input.
///
/// The objective (a ``Goal`` — targets per batch item, weighted sums, diversity — resolved on
/// the graph) and its gradient with respect to the input are one IR graph
/// (``GradientBuilder``), planned once and run each step. Around it, in Swift: the
/// parametrization (pixels, or Lucid's Fourier image, ``FourierImage``), the random
/// transforms (``RobustnessTransforms``) and their adjoints, penalties, and the update
/// (l2-normalized steps as in the Keras example, or Adam).
public final class Probe {
    public let objective: Objective
    public let options: ProbeOptions
    /// The graph input being optimized.
    public let inputName: String
    /// The concrete input shape (batch 1 unless the initialization says otherwise).
    public let inputShape: [Int]
    /// Where the channel axis of the input is (for pictures), from its layout tag.
    public let channelsLast: Bool
    /// True when the input can be drawn: `[N,H,W,C]`/`[N,C,H,W]` with 1, 3 or 4 channels.
    public var inputIsPicture: Bool {
        ImageGeometry(shape: inputShape, channelsLast: channelsLast).map { [1, 3, 4].contains($0.channels) } ?? false
    }
    /// Where the layout tag puts the channel axis (last or not), nil for an untagged input.
    public let taggedChannelsLast: Bool?
    /// True when the input is a 1-D signal (`[N,T]`, `[N,C,T]` or `[N,T,C]`) rather than a picture.
    public var inputIsSignal: Bool {
        !inputIsPicture && Picture.signalChannels(shape: inputShape, channelsLast: taggedChannelsLast) != nil
    }
    /// The other inputs, fed unchanged at every step (a recurrent state, say).
    public let fixedInputs: [String: Tensor]
    private let session: Session
    private let gradientName: String

    /// One step's record.
    public struct Step: Sendable, Codable {
        public var step: Int
        /// The objective of each batch item, before the update (at the randomly transformed
        /// input when transforms are on; ``Result/finalObjective`` is untransformed).
        public var objective: [Float]
        /// ‖∂objective/∂parameters‖ of each batch item (the input itself, or its spectrum).
        public var gradientNorm: [Float]
        public var milliseconds: Double
    }

    public struct Result: Sendable {
        /// The optimized input (model units, the input's shape).
        public var input: Tensor
        public var steps: [Step]
        /// The objective of each batch item at the final input.
        public var finalObjective: [Float]
        /// The inputs recorded on the way (``run(recordingFramesAt:progress:)``), by step.
        public var frames: [Frame] = []
    }

    /// The input after `step` updates (0: the start; ``ProbeOptions/steps``: the result).
    public struct Frame: Sendable {
        public var step: Int
        public var input: Tensor
    }

    /// `count` steps spread evenly from the start (0) to the end (`steps`), both included
    /// (`count` 1: the end only): the frames of an animation of the optimization.
    public static func frameSteps(count: Int, steps: Int) -> [Int] {
        guard count > 1 else { return count == 1 ? [steps] : [] }
        return (0..<count).map { k in Int((Double(k) * Double(steps) / Double(count - 1)).rounded()) }
    }

    /// Prepares the probe for one target (batch 1 unless the initial tensor says otherwise).
    public convenience init(graph: Graph, target: Target, options: ProbeOptions = ProbeOptions(),
                            input: String? = nil, inputShape givenShape: [Int]? = nil, fixedInputs: [String: Tensor] = [:],
                            threads: Int? = nil) throws {
        try self.init(graph: graph, goal: Goal(target), options: options, input: input, inputShape: givenShape,
                      fixedInputs: fixedInputs, threads: threads)
    }

    /// Prepares the probe: resolves the goal, builds the gradient graph and plans it. A goal
    /// with several items optimizes a batch of that many inputs.
    /// The model is planned for the input's concrete shape, so that every size of the objective and
    /// of the gradient graph is known (exported graphs compute sizes with Shape → Gather → Reshape).
    /// - Parameters:
    ///   - input: which graph input to optimize (default: the only one).
    ///   - inputShape: the input's sizes where the model leaves them symbolic (an initial tensor's
    ///     shape serves too); the batch defaults to 1.
    ///   - fixedInputs: values of the model's other inputs, held fixed (their shapes fix the
    ///     model's sizes too); every input but the optimized one must be given.
    /// - Throws: `.invalidData` for unknown names, inputs of unknown size, missing fixed inputs, and
    ///   image options (Fourier parametrization, transforms, blur, TV) on inputs that are not images.
    public init(graph: Graph, goal: Goal, options: ProbeOptions = ProbeOptions(),
                input: String? = nil, inputShape givenShape: [Int]? = nil, fixedInputs: [String: Tensor] = [:],
                threads: Int? = nil) throws {
        // By default the only floating-point input not held fixed.
        let free = graph.inputs.filter { $0.type.dtype.isFloatingPoint && fixedInputs[$0.name] == nil }
        let inputInfo = try Objective.input(input ?? (free.count == 1 ? free[0].name : nil), of: graph, purpose: "optimize")
        guard fixedInputs[inputInfo.name] == nil else {
            throw AscentError.invalid("input '\(inputInfo.name)' is the one optimized: it cannot also be held fixed")
        }
        for other in graph.inputs where other.name != inputInfo.name && fixedInputs[other.name] == nil && graph.initializers[other.name] == nil {
            throw AscentError.invalid("input '\(other.name)' (\(other.type)) is not the one optimized ('\(inputInfo.name)'): give its value to hold it fixed (--input \(other.name)=FILE)")
        }
        guard let dims = inputInfo.type.shape?.dims, !dims.isEmpty else {
            throw AscentError.invalid("input '\(inputInfo.name)' has an unknown shape")
        }
        var given = givenShape
        if given == nil, case .tensor(let t) = options.initialization { given = t.shape }
        if let given, given.count != dims.count {
            throw AscentError.invalid("input '\(inputInfo.name)' has rank \(dims.count) (\(inputInfo.type)), given \(Shape(given))")
        }
        var shape: [Int] = []
        for (i, d) in dims.enumerated() {
            if let v = d.value { shape.append(v) }
            else if let given { shape.append(given[i]) }
            else if i == 0 { shape.append(1) }
            else {
                throw AscentError.invalid("input '\(inputInfo.name)' has an unknown size on axis \(i) (\(inputInfo.type)): give its shape (--input-shape \(inputInfo.name)=...) or an --init file")
            }
        }
        if goal.items.count > 1 {
            guard dims[0].value == nil || dims[0].value == goal.items.count else {
                throw AscentError.invalid("input '\(inputInfo.name)' has a fixed batch of \(dims[0]), not \(goal.items.count) targets")
            }
            shape[0] = goal.items.count
        }
        if case .tensor(let t) = options.initialization {
            guard t.shape.count == shape.count, Array(t.shape.dropFirst()) == Array(shape.dropFirst()),
                  goal.items.count == 1 || t.shape[0] == goal.items.count else {
                throw AscentError.invalid("initial input has shape \(Shape(t.shape)), the model takes \(Shape(shape))")
            }
            guard options.parametrization == .pixels else {
                throw AscentError.invalid("an initial input tensor works with the pixel parametrization only (not Fourier)")
            }
            shape = t.shape
        }
        // Inputs held fixed share the optimized input's batch when their declarations say so.
        if case .symbol = dims[0] {
            for (name, t) in fixedInputs.sorted(by: { $0.key < $1.key }) {
                guard graph.inputs.first(where: { $0.name == name })?.type.shape?.dims.first == dims[0], t.shape.first != shape[0] else { continue }
                throw AscentError.invalid("input '\(name)' holds a batch of \(t.shape.first ?? 0), the optimized '\(inputInfo.name)' one of \(shape[0])\(goal.items.count > 1 ? " (one item per target)" : ""): give \(shape[0]) items\(goal.items.count > 1 ? " or use --batch-size 1" : "")")
            }
        }
        inputName = inputInfo.name
        inputShape = shape
        // The layout tag decides; untagged rank-4 inputs are channels-last when their last
        // axis looks like colour channels.
        taggedChannelsLast = inputInfo.type.layout.map(\.isChannelsLast)
        channelsLast = taggedChannelsLast ?? (shape.count != 4 || [1, 3, 4].contains(shape[3]))
        if options.needsImage, ImageGeometry(shape: shape, channelsLast: channelsLast) == nil {
            throw AscentError.invalid("input '\(inputInfo.name)' is \(inputInfo.type), not an image [N,H,W,C] or [N,C,H,W]: image options (Fourier parametrization, transforms, jitter, blur, TV) need one; use the keras-example preset")
        }
        self.options = options
        self.fixedInputs = fixedInputs
        // Control flow the inputs' shapes decide (a loop over its length) is written out for the
        // gradient; what the optimized input's values decide cannot be, as they change every step.
        let shapes = fixedInputs.mapValues(\.shape).merging([inputInfo.name: shape]) { _, new in new }
        let fixed = try graph.fixingInputShapes(shapes).resolvingControlFlow(feeds: nil)
        objective = try Objective(goal, on: fixed, border: options.border)
        let gradient = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [inputName])
        gradientName = gradient.gradients[inputName]!
        var sessionOptions = Session.Options()
        if let threads { sessionOptions.threads = threads }
        session = try Session(graph: gradient.graph, options: sessionOptions)
    }

    /// The objective and its gradient at `x`.
    public func evaluate(_ x: Tensor) throws -> (objective: [Float], gradient: Tensor) {
        let out = try session.run(fixedInputs.merging([inputName: x]) { _, new in new })
        guard let value = out[objective.value], let grad = out[gradientName] else {
            throw AscentError(.internal, "the gradient graph did not produce its outputs")
        }
        return (value.floats(), grad)
    }

    /// Runs the ascent; `progress` is called after every step. The input is recorded after each
    /// number of updates in `recordingFramesAt` (0 is the start, ``ProbeOptions/steps`` the end);
    /// recording changes nothing in the optimization.
    public func run(recordingFramesAt frameSteps: Set<Int> = [], progress: (Step) -> Void = { _ in }) throws -> Result {
        var rng = SplitMix64(seed: options.seed)
        let count = inputShape.reduce(1, *)
        let spatial = ImageGeometry(shape: inputShape, channelsLast: channelsLast)
        // The parameters moved by the optimizer, and the map from them to the input.
        var fourier: FourierImage?
        var p: [Float]
        if case .fourier(let decorrelate, let range) = options.parametrization, let spatial {
            let f = FourierImage(geometry: spatial, decorrelate: decorrelate, range: range)
            // The initialization's noise scale is the spectrum's standard deviation; zeros: a flat start.
            var sd: Float = 0.01
            if case .noise(let scale) = options.initialization { sd = scale }
            if case .zeros = options.initialization { sd = 0 }
            p = f.initialParameters(sd: sd, using: &rng)
            fourier = f
        } else {
            switch options.initialization {
            case .noise(let scale): p = (0..<count).map { _ in (Float(rng.nextUnit()) - 0.5) * scale + options.initialOffset }
            case .zeros: p = [Float](repeating: options.initialOffset, count: count)
            case .tensor(let t): p = t.floats()
            }
        }
        let fill: Float
        if case .fourier(_, let range) = options.parametrization { fill = (range.lowerBound + range.upperBound) / 2 }
        else { fill = options.clip.map { ($0.lowerBound + $0.upperBound) / 2 } ?? options.initialOffset }
        let batch = inputShape[0]
        let perItem = p.count / max(batch, 1)
        var adam = AdamState(count: p.count)
        var steps: [Step] = []

        var frames: [Frame] = []
        for step in 0..<options.steps {
            let start = DispatchTime.now().uptimeNanoseconds
            let squashed = fourier?.squashed(p)  // kept for the parametrization's gradient
            let x = squashed.map { fourier!.image(squashed: $0) } ?? p
            if frameSteps.contains(step) { frames.append(Frame(step: step, input: Tensor(shape: inputShape, scalars: x))) }
            // Transformation robustness: evaluate at a transformed input, send the gradient back
            // through the transform's adjoint.
            var seen = x
            var sampler: AffineSampler?
            if let transforms = options.transforms, let spatial {
                let sized = transforms.scaled(toImageSize: min(spatial.height, spatial.width))
                let s = AffineSampler(geometry: spatial, parameters: sized.draw(using: &rng), fill: fill)
                seen = s.forward(seen)
                sampler = s
            }
            let (dy, dx) = options.jitter > 0 && spatial != nil
                ? (Int(rng.next() % UInt64(2 * options.jitter + 1)) - options.jitter,
                   Int(rng.next() % UInt64(2 * options.jitter + 1)) - options.jitter) : (0, 0)
            if let spatial, dy != 0 || dx != 0 { seen = spatial.roll(seen, dy: dy, dx: dx) }
            let (value, gradTensor) = try evaluate(Tensor(shape: inputShape, scalars: seen))
            var g = gradTensor.floats()
            if let spatial, dy != 0 || dx != 0 { g = spatial.roll(g, dy: -dy, dx: -dx) }
            if let sampler { g = sampler.adjoint(g) }
            Regularizers.addGradients(to: &g, x: x, options: options, geometry: spatial, batch: batch)
            if let fourier, let squashed { g = fourier.gradient(squashed: squashed, inputGradient: g) }
            var norms: [Float] = []
            for b in 0..<batch {
                let range = (b * perItem)..<((b + 1) * perItem)
                norms.append(sqrt(g[range].reduce(0) { $0 + $1 * $1 }))
            }
            switch options.optimizer {
            case .normalizedGradient:
                for b in 0..<batch {
                    let scale = options.learningRate / max(norms[b], 1e-12)  // tf.math.l2_normalize's epsilon: 1e-12 on ‖g‖²
                    for i in (b * perItem)..<((b + 1) * perItem) { p[i] += scale * g[i] }
                }
            case .adam(let b1, let b2, let eps):
                adam.ascend(&p, gradient: g, learningRate: options.learningRate, beta1: b1, beta2: b2, epsilon: eps)
            }
            if fourier == nil {
                if options.blurEvery > 0, (step + 1) % options.blurEvery == 0, let spatial {
                    p = spatial.gaussianBlur(p, sigma: options.blurSigma)
                }
                if let clip = options.clip { for i in p.indices { p[i] = min(max(p[i], clip.lowerBound), clip.upperBound) } }
            }
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let record = Step(step: step + 1, objective: value, gradientNorm: norms, milliseconds: ms)
            steps.append(record)
            progress(record)
        }
        let final = Tensor(shape: inputShape, scalars: fourier?.image(p) ?? p)
        if frameSteps.contains(options.steps) { frames.append(Frame(step: options.steps, input: final)) }
        return Result(input: final, steps: steps, finalObjective: try evaluate(final).objective, frames: frames)
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
