import AscentIR
import AscentRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Attribution maps: "which part of *this* input made the model say class K?" — for any
/// imported model (Keras or ONNX), with the conventions of the tools people compare against
/// (Captum, tf-keras-vis, pytorch-grad-cam).
///
/// Notation: `F(x)` is the target's value for one batch item (a ``Target`` as for
/// `ascent grad`: `logit:K`, `output:NAME:K`, `layer:NAME:C`), `x` one input item, `A` the
/// activations of a layer (channels `A_c`, spatial positions `(i, j)`), `Z` the number of
/// spatial positions of `A`.
///
/// | method | map | shape |
/// |---|---|---|
/// | ``Method/saliency`` | `∂F/∂x` (signed) | the input's |
/// | ``Method/gradientTimesInput`` | `x ⊙ ∂F/∂x` (Captum `InputXGradient`) | the input's |
/// | ``Method/smoothGrad`` | `(1/S) Σₛ ∂F/∂x (x + εₛ)`, `εₛ ~ N(0, (σ·(max x − min x))²)`; squared: `(1/S) Σₛ (∂F/∂x)²` | the input's |
/// | ``Method/integratedGradients`` | `(x − x′) ⊙ Σₖ wₖ ∂F/∂x (x′ + αₖ (x − x′))` with Captum's rules (``QuadratureRule``) | the input's |
/// | ``Method/gradCAM`` | `ReLU(Σ_c α_c A_c)`, `α_c = (1/Z) Σ_ij ∂F/∂A_c(i,j)` | the layer's, without channels |
/// | ``Method/gradCAMPlusPlus`` | tf-keras-vis's Grad-CAM++ (see ``CAMVariant``) | the layer's, without channels |
/// | ``Method/layerCAM`` | `ReLU(Σ_c ReLU(∂F/∂A_c) ⊙ A_c)` | the layer's, without channels |
/// | ``Method/scoreCAM`` | tf-keras-vis's Score-CAM: `ReLU(Σ_c w_c A_c)`, `w_c` = `F` on the input masked by the upsampled, min-max-normalized `A_c` | the layer's, without channels |
/// | ``Method/occlusion`` | Captum's `Occlusion`: per element, the mean over the windows covering it of `F(x) − F(x with the window set to the baseline)` | the input's |
///
/// All evaluations of a method (integration steps, noise samples, windows, masked inputs) go
/// through the model in batches of ``Options/batch`` items; a model whose batch axis is fixed
/// runs batches of exactly that size (a fixed 1: one item at a time).
public final class Attribution {
    /// The attribution methods.
    public enum Method: String, CaseIterable, Sendable {
        case saliency
        case gradientTimesInput = "gradient-x-input"
        case smoothGrad = "smoothgrad"
        case integratedGradients = "integrated-gradients"
        case gradCAM = "gradcam"
        case gradCAMPlusPlus = "gradcam++"
        case layerCAM = "layercam"
        case scoreCAM = "scorecam"
        case occlusion

        /// True for the methods that work on a layer's activations.
        public var needsLayer: Bool { [.gradCAM, .gradCAMPlusPlus, .layerCAM, .scoreCAM].contains(self) }
    }

    /// How the map was made and what it holds.
    public struct Map: Sendable {
        /// The attribution of the one batch item explained. Input-shaped for gradient methods and
        /// occlusion (`[1, ...]` as the input); `[1, h, w]` (or `[1, w]`) at the layer's resolution
        /// for the CAM methods, before any upsampling or normalization.
        public var values: Tensor
        /// The target's value at the input, `F(x)`.
        public var objective: Float
        /// For Integrated Gradients: `F(x′)` at the baseline, and `Σ attributions − (F(x) − F(x′))`.
        public var baselineObjective: Float?
        public var completenessGap: Float?
        /// For the CAM methods: the layer value used and its type.
        public var layer: String?
        public var layerType: ValueType?
    }

    /// Settings shared by the methods (each reads the ones it needs).
    public struct Options: Sendable {
        /// Items per model call (steps, samples, windows, masks); nil chooses by size
        /// (see ``Attribution/defaultBatch``).
        public var batch: Int?
        /// SmoothGrad: samples `S` and relative noise σ; `squared` for SmoothGrad-Squared.
        public var samples = 50
        public var noise: Float = 0.15
        public var squared = false
        /// SmoothGrad: the noise draws `[S, ...item shape]` to use instead of drawing them
        /// (absolute values, added to `x` as they are); this is how runs are compared with Captum.
        public var noiseDraws: Tensor?
        /// Integrated Gradients: steps and rule.
        public var steps = 50
        public var rule: QuadratureRule = .gaussLegendre
        /// Integrated Gradients and occlusion: the baseline `x′`.
        public var baseline: Baseline = .zeros
        /// Occlusion: window and stride per item axis (the input's own axes without the batch, in
        /// its layout); nil gives `max(1, size/8)` on each spatial axis, all channels, stride half of it.
        public var window: [Int]?
        public var stride: [Int]?
        /// The CAM methods: the layer (a node or value name); nil picks ``Attribution/defaultLayer()``.
        public var layer: String?
        /// Random draws (SmoothGrad noise, the uniform baseline).
        public var seed: UInt64 = 0
        public init() {}
    }

    /// The reference input `x′` of Integrated Gradients and occlusion.
    public enum Baseline: Sendable {
        /// All zeros (Captum's default).
        case zeros
        /// Every element `v`.
        case value(Float)
        /// The input blurred by a Gaussian with σ = max(H, W)/10 pixels per channel (images only).
        case blur
        /// Uniform noise over `[min x, max x]`, seeded.
        case uniform
        /// A given tensor, input-shaped (with or without the batch axis of 1).
        case tensor(Tensor)
    }

    public let graph: Graph
    public let target: Target
    /// The model input explained, its per-item shape and whether it is channels-last.
    public let inputName: String
    public let channelsLast: Bool
    /// The batch size the model insists on, when its batch axis is fixed.
    public let fixedBatch: Int?
    let objective: Objective
    let threads: Int?

    /// Prepares `target` on `graph` for attributions with respect to `input` (default: the only
    /// floating-point input).
    /// - Throws: `.invalidData` for an unknown target or input.
    public init(graph: Graph, target: Target, input: String? = nil, threads: Int? = nil) throws {
        let info = try Objective.input(input, of: graph, purpose: "explain")
        self.graph = graph
        self.target = target
        inputName = info.name
        let dims = info.type.shape?.dims ?? []
        fixedBatch = dims.first?.value
        // The input's layout tag decides; else the convolutions' data_format (Keras: NHWC/NWC,
        // ONNX: channels first); else a rank-4 input is channels-last when its last axis looks like colour.
        let formats = graph.nodes.compactMap { $0.attributes["data_format"]?.string }
        if let layout = info.type.layout {
            channelsLast = layout.isChannelsLast
        } else if let format = formats.first, dims.count >= 3 {
            channelsLast = format.hasSuffix("C")
        } else if dims.count >= 3 {
            channelsLast = dims.count == 4 && [1, 3, 4].contains(dims[3].value ?? 0)
        } else {
            channelsLast = true
        }
        objective = try Objective(target, on: graph)
        self.threads = threads
    }

    // MARK: sessions (made on first use)

    private var sessionOptions: Session.Options {
        var o = Session.Options()
        if let threads { o.threads = threads }
        return o
    }

    /// Forward: the objective `[N]` (and the listed extra values).
    func forwardSession(extra: [String] = []) throws -> Session {
        var g = objective.graph
        let types = try g.inferTypes()
        g.outputs = ([objective.value] + extra).map { ValueInfo(name: $0, type: types[$0]!) }
        return try Session(graph: g, options: sessionOptions)
    }

    private var inputGradientCache: (session: Session, gradient: String)?
    /// The objective and `∂F/∂x`.
    func inputGradientSession() throws -> (session: Session, gradient: String) {
        if let s = inputGradientCache { return s }
        let built = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [inputName])
        let s = (try Session(graph: built.graph, options: sessionOptions), built.gradients[inputName]!)
        inputGradientCache = s
        return s
    }

    // MARK: batching

    /// Runs `session` on `count` items, `item(k)` writing item k's input into a buffer of
    /// `itemCount` floats, in batches; `collect(k, outputs, b)` reads batch row `b` for item k.
    func runBatched(_ session: Session, itemShape: [Int], count: Int, batch: Int?,
                    item: (Int, UnsafeMutableBufferPointer<Float>) -> Void,
                    collect: (Int, [String: Tensor], Int) throws -> Void) throws {
        let itemCount = itemShape.reduce(1, *)
        let limit: Int
        if let fixedBatch { limit = fixedBatch } else {
            let chosen = try batch ?? defaultBatch(session: session, itemShape: itemShape)
            limit = max(1, min(chosen, count))
        }
        // Equal batches (one plan) when the work splits evenly; a fixed batch is padded.
        let batches = (count + limit - 1) / limit
        let size = fixedBatch ?? (count + batches - 1) / batches
        var start = 0
        while start < count {
            let n = fixedBatch ?? min(size, count - start)
            var buffer = [Float](repeating: 0, count: n * itemCount)
            buffer.withUnsafeMutableBufferPointer { all in
                for b in 0..<n {
                    let k = min(start + b, count - 1)  // padding repeats the last item
                    item(k, UnsafeMutableBufferPointer(rebasing: all[(b * itemCount)..<((b + 1) * itemCount)]))
                }
            }
            let out = try session.run([inputName: Tensor(shape: [n] + itemShape, scalars: buffer)])
            for b in 0..<n where start + b < count { try collect(start + b, out, b) }
            start += n
        }
    }

    /// The default items per model call: as many as keep one call's values within 16 MiB (half
    /// the last-level cache of the machines measured: larger batches ran slower per item there, as
    /// their activations no longer stayed in cache), and within min(2 GiB, physical memory / 8);
    /// at least 1, at most 256. The size per item is the sum of every value the planner types at
    /// batch 1 (no buffer reuse counted, weights included: an overestimate).
    public func defaultBatch(session: Session, itemShape: [Int]) throws -> Int {
        let types = try session.valueTypes(inputShapes: [inputName: [1] + itemShape])
        let perItem = max(1, types.values.reduce(0) { total, t in
            total + (t.shape?.dims.reduce(t.dtype.byteSize) { $0 * ($1.value ?? 1) } ?? 0)
        })
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let memory = min(2 << 30, max(256 << 20, physical / 8))
        return max(1, min(256, (16 << 20) / perItem, memory / perItem))
    }

    // MARK: one call

    /// The attribution of batch item `index` of `x` (the whole input tensor as the model takes
    /// it) by `method`.
    /// - Throws: `.usage` or `.invalidData` naming the problem (a layer that is not spatial, a
    ///   baseline of the wrong shape...).
    public func explain(_ x: Tensor, method: Method, options: Options = .init(), index: Int = 0) throws -> Map {
        guard x.shape.count >= 1, index < x.shape[0] else {
            throw AscentError.invalid("input \(x) has no batch item \(index)")
        }
        let itemShape = Array(x.shape.dropFirst())
        let itemCount = itemShape.reduce(1, *)
        let all = x.floats()
        let item = Array(all[(index * itemCount)..<((index + 1) * itemCount)])
        switch method {
        case .saliency: return try saliency(item, itemShape: itemShape, options: options)
        case .gradientTimesInput: return try gradientTimesInput(item, itemShape: itemShape, options: options)
        case .smoothGrad: return try smoothGrad(item, itemShape: itemShape, options: options)
        case .integratedGradients: return try integratedGradients(item, itemShape: itemShape, options: options)
        case .gradCAM: return try cam(item, itemShape: itemShape, variant: .gradCAM, options: options)
        case .gradCAMPlusPlus: return try cam(item, itemShape: itemShape, variant: .gradCAMPlusPlus, options: options)
        case .layerCAM: return try cam(item, itemShape: itemShape, variant: .layerCAM, options: options)
        case .scoreCAM: return try scoreCAM(item, itemShape: itemShape, options: options)
        case .occlusion: return try occlusion(item, itemShape: itemShape, options: options)
        }
    }

    /// `F` at each of the given points (flat, `itemCount` floats each), batched.
    func objectives(_ points: [Float], itemShape: [Int], session: Session, batch: Int?) throws -> [Float] {
        let itemCount = itemShape.reduce(1, *)
        let count = points.count / itemCount
        var out = [Float](repeating: 0, count: count)
        try points.withUnsafeBufferPointer { p in
            try runBatched(session, itemShape: itemShape, count: count, batch: batch, item: { k, dst in
                _ = dst.initialize(from: p[(k * itemCount)..<((k + 1) * itemCount)])
            }, collect: { k, outputs, b in
                out[k] = outputs[objective.value]!.floats()[b]
            })
        }
        return out
    }
}
