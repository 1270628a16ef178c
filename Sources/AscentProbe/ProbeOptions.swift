import AscentIR

/// How a probe searches for the input that maximizes its objective.
public struct ProbeOptions: Sendable {
    /// The update rule.
    public enum Optimizer: Sendable, Equatable {
        /// `x += lr · g / ‖g‖` (per batch item), as the Keras example does.
        case normalizedGradient
        /// Adam on −objective, with the usual moments (β₁ 0.9, β₂ 0.999, ε 1e-8).
        case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8)
    }

    /// The starting input.
    public enum Initialization: Sendable, Equatable {
        /// `(U(0,1) − 0.5) · scale`, seeded (the Keras example uses scale 0.25). With the
        /// Fourier parametrization: the spectrum is normal with standard deviation `scale`
        /// (Lucid: 0.01), and `.zeros` gives a flat start; `.tensor` is for pixels only.
        case noise(scale: Float)
        case zeros
        /// A given tensor (must have the model input's shape).
        case tensor(Tensor)

        public static func == (a: Initialization, b: Initialization) -> Bool {
            switch (a, b) {
            case let (.noise(x), .noise(y)): return x == y
            case (.zeros, .zeros): return true
            case let (.tensor(x), .tensor(y)): return x.bitwiseEqual(y)
            default: return false
            }
        }
    }

    public var steps: Int = 30
    public var learningRate: Float = 10
    public var seed: UInt64 = 0
    public var optimizer: Optimizer = .normalizedGradient
    public var initialization: Initialization = .noise(scale: 0.25)
    /// Added to a noise or zeros start (the middle of the input range, say).
    public var initialOffset: Float = 0
    /// Pixels excluded at each spatial edge of `layer:` objectives.
    public var border: Int = 0
    /// Weight of an L2 penalty `λ·mean(x²)` subtracted from the objective.
    public var l2: Float = 0
    /// Weight of an L1 penalty `λ·mean(|x|)`.
    public var l1: Float = 0
    /// Weight of a total-variation penalty `λ·mean((∂x/∂h)² + (∂x/∂w)²)`.
    public var totalVariation: Float = 0
    /// Gaussian blur of the input every `blurEvery` steps (0 = never), with `blurSigma` pixels.
    public var blurEvery: Int = 0
    public var blurSigma: Float = 0.5
    /// Values are clipped to this range after each step (the model's input range), if set.
    public var clip: ClosedRange<Float>? = nil
    /// Random translation of up to ± this many pixels applied before each step (and undone
    /// on the gradient): transformation robustness.
    public var jitter: Int = 0
    /// How the picture is made from the final input.
    public var deprocess: Deprocess = .standardize(std: 0.15, crop: 25)
    /// What the optimizer moves: the pixels themselves, or a Fourier spectrum (Lucid).
    public var parametrization: Parametrization = .pixels
    /// Lucid's random pad/jitter/scale/rotate stack applied before each step (image inputs).
    public var transforms: RobustnessTransforms? = nil

    /// What the optimizer moves.
    public enum Parametrization: Sendable, Equatable {
        /// The input values.
        case pixels
        /// Lucid's `param.image(fft=True, decorrelate=…)`: a half-spectrum scaled by 1/frequency,
        /// inverse real DFT, colour decorrelation (3-channel images only, when `decorrelate`),
        /// then a sigmoid onto the input range `range`.
        case fourier(decorrelate: Bool, range: ClosedRange<Float>)
    }

    public init() {}

    /// Lucid's default rendering (`render.render_vis` with `param.image(fft=True,
    /// decorrelate=True)` and `transform.standard_transforms`): Fourier parametrization with
    /// decorrelated colour and a sigmoid onto `range`, the random pad/jitter/scale/rotate stack
    /// before each step, Adam with lr 0.05, 256 steps; pictures drawn in input units.
    public static func lucid(range: ClosedRange<Float> = 0...1) -> ProbeOptions {
        var o = ProbeOptions()
        o.steps = 256
        o.learningRate = 0.05
        o.optimizer = .adam()
        o.parametrization = .fourier(decorrelate: true, range: range)
        o.transforms = .lucid
        o.initialization = .noise(scale: 0.01)
        o.deprocess = .range(lo: range.lowerBound, hi: range.upperBound)
        return o
    }

    /// True when the options need an image input (rank 4).
    var needsImage: Bool { parametrization != .pixels || transforms != nil || jitter > 0 || blurEvery > 0 || totalVariation != 0 }

    /// The Keras example "Visualizing what convnets learn": init `(U(0,1)−0.5)·0.25`,
    /// l2-normalized gradient ascent, lr 10, 30 steps, a 2-pixel border excluded from
    /// `layer:` objectives; pictures standardized to std 0.15, cropped by 25 px, +0.5, ×255.
    public static var kerasExample: ProbeOptions {
        var o = ProbeOptions()
        o.steps = 30
        o.learningRate = 10
        o.optimizer = .normalizedGradient
        o.initialization = .noise(scale: 0.25)
        o.border = 2
        o.deprocess = .standardize(std: 0.15, crop: 25)
        return o
    }

    /// Smooth, readable pictures of what a unit wants, within the model's input range
    /// `range`: Adam from a flat grey start with a little noise, total-variation and L2
    /// penalties, a Gaussian blur every 4 steps, 1-pixel jitter, values clipped to the range,
    /// and the picture drawn in input units (no contrast stretch).
    public static func smooth(range: ClosedRange<Float> = 0...1) -> ProbeOptions {
        var o = ProbeOptions()
        let span = range.upperBound - range.lowerBound
        o.steps = 200
        o.learningRate = 0.02 * span
        o.optimizer = .adam()
        o.initialization = .noise(scale: 0.02 * span)
        o.initialOffset = (range.lowerBound + range.upperBound) / 2
        o.totalVariation = 0.05
        o.l2 = 0.01
        o.blurEvery = 4
        o.blurSigma = 0.5
        o.jitter = 1
        o.clip = range
        o.deprocess = .range(lo: range.lowerBound, hi: range.upperBound)
        return o
    }
}

/// Turning the optimized input into a picture.
public enum Deprocess: Sendable, Equatable {
    /// The Keras example: `(x − mean) / (std(x) + 1e-5) · std + 0.5`, cropped by `crop`
    /// pixels on each side (skipped where the picture is not larger than `4 · crop`),
    /// clipped to [0, 1].
    case standardize(std: Float, crop: Int)
    /// `(x − lo) / (hi − lo)`, clipped to [0, 1] (a model whose input range is known).
    case range(lo: Float, hi: Float)
}
