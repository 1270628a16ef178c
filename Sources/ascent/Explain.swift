import ArgumentParser
import AscentImage
import AscentIR
import AscentModel
import AscentProbe
import Foundation

extension Ascent {
    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Attribution maps: which part of this input made the model say class K.",
            discussion: """
            Methods and their conventions (F = the target on one input item x, A_c = channel c of \
            the layer's activations, sums over i,j run over its spatial positions):
              saliency              dF/dx. --save writes it signed; the picture shows max over channels of |dF/dx| (tf-keras-vis, Captum).
              gradient-x-input      x * dF/dx (Captum InputXGradient).
              smoothgrad            mean over --samples (50) of dF/dx at x + e, e ~ N(0, (s*(max x - min x))^2), \
            s = --noise (0.15), seeded by --seed; --squared averages (dF/dx)^2 (SmoothGrad-Squared); \
            --noise-file E.npy gives the draws e [S, item shape] instead (absolute values).
              integrated-gradients  Captum's: (x - x') * sum_k w_k dF/dx(x' + a_k (x - x')), --steps (50), \
            --rule gausslegendre (default) | riemann-left | riemann-right | riemann-middle | riemann-trapezoid \
            (Captum's points and weights); prints the completeness check sum(attributions) vs F(x) - F(x').
              gradcam               ReLU(sum_c a_c A_c), a_c = mean_ij dF/dA_c (pytorch-grad-cam, tf-keras-vis, Captum LayerGradCam with ReLU).
              gradcam++             tf-keras-vis's Grad-CAM++ (second/third-order weights with exp(F)).
              layercam              ReLU(sum_c ReLU(dF/dA_c) * A_c).
              scorecam              tf-keras-vis's Score-CAM: w_c = softmax probability of the class on x masked by \
            A_c enlarged (linear, corners aligned) and min-max normalized; ReLU(sum_c w_c A_c).
              occlusion             Captum's Occlusion: mean over the windows covering each element of F(x) - F(x with \
            the window at the baseline); --window/--stride list every item axis in the input's layout or only \
            the spatial ones (default: 1/8 of each spatial axis, stride half that).
            The CAM methods use --layer (a node or value name; default: the last value with a spatial layout \
            before the head); --save writes their map at the layer's resolution, before upsampling and \
            normalization. Baselines (--baseline): zeros (default), a number, blur (Gaussian, sigma = max(H,W)/10), \
            uniform (U[min x, max x], seeded) or B.npy. Evaluations go through the model --batch items at a time \
            (default: as many as keep one call's values within 16 MiB, from the planner's sizes; a model with a \
            fixed batch size runs at that size). The picture \
            (--output P.png) blends the map (colormap --colormap viridis|jet, --alpha) over the input with a colour \
            bar; 1-D inputs get a line plot per channel. Targets as for grad: logit:K, output:NAME:K, layer:NAME:C.
            """)

        @OptionGroup var modelOptions: ModelOptions

        @Option(help: "The input to explain as [NAME=]FILE (.npy or .png); the first batch item is explained.")
        var input: String

        @Option(help: "What to explain: logit:K, output:NAME:K or layer:NAME:C[:max].")
        var target: String

        @Option(help: "saliency, gradient-x-input, smoothgrad, integrated-gradients, gradcam, gradcam++, layercam, scorecam or occlusion.")
        var method: String

        @Option(help: "The layer of the CAM methods (node or value name).")
        var layer: String?

        @Option(help: "Integrated Gradients and occlusion baseline: zeros, a number, blur, uniform or B.npy.")
        var baseline: String = "zeros"

        @Option(help: "Integrated Gradients steps.")
        var steps: Int = 50

        @Option(help: "Integrated Gradients rule: gausslegendre, riemann-left, riemann-right, riemann-middle, riemann-trapezoid.")
        var rule: String = "gausslegendre"

        @Option(help: "SmoothGrad samples.")
        var samples: Int = 50

        @Option(help: "SmoothGrad noise level σ, relative to max(x) − min(x).")
        var noise: Float = 0.15

        @Option(name: .customLong("noise-file"), help: "SmoothGrad noise draws [S, item shape] (.npy), used as given.")
        var noiseFile: String?

        @Flag(help: "SmoothGrad-Squared: average the squared gradients.")
        var squared = false

        @Option(help: "Occlusion window sizes, comma-separated (every item axis, or the spatial ones).")
        var window: String?

        @Option(help: "Occlusion strides, comma-separated (as --window).")
        var stride: String?

        @Option(help: "Seed of the random draws (SmoothGrad noise, uniform baseline).")
        var seed: UInt64 = 0

        @Option(help: "Items per model call (default: chosen by memory).")
        var batch: Int?

        @Option(name: .shortAndLong, help: "Write the picture (.png).")
        var output: String?

        @Option(help: "Write the map (.npy).")
        var save: String?

        @Option(help: "Colormap of the picture: viridis or jet.")
        var colormap: String = "viridis"

        @Option(help: "Opacity of the map over the input in the picture (0...1).")
        var alpha: Float = 0.5

        @OptionGroup var threadOptions: ThreadOptions
        @OptionGroup var quantization: QuantizedGradientOptions

        @Option(help: "Factor applied to PNG pixel values (0...255).")
        var scale: Float = 1.0 / 255.0


        func validate() throws {
            guard Attribution.Method(rawValue: method) != nil else {
                throw ValidationError("unknown method '\(method)' (saliency, gradient-x-input, smoothgrad, integrated-gradients, gradcam, gradcam++, layercam, scorecam, occlusion)")
            }
            guard QuadratureRule(rawValue: rule) != nil else {
                throw ValidationError("unknown rule '\(rule)' (\(QuadratureRule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard Colormap(rawValue: colormap) != nil else { throw ValidationError("unknown colormap '\(colormap)' (viridis, jet)") }
            if layer != nil, !Attribution.Method(rawValue: method)!.needsLayer {
                throw ValidationError("--layer is for gradcam, gradcam++, layercam and scorecam, not \(method)")
            }
            if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
            guard steps >= 1, samples >= 1 else { throw ValidationError("--steps and --samples must be at least 1") }
            guard (0...1).contains(alpha) else { throw ValidationError("--alpha must be within 0...1") }
            guard output != nil || save != nil else { throw ValidationError("give --output P.png, --save A.npy or both") }
            if let output, !output.lowercased().hasSuffix(".png") { throw ValidationError("--output must be a .png file") }
            if let save, !save.lowercased().hasSuffix(".npy") { throw ValidationError("--save must be a .npy file") }
        }

        func sizes(_ text: String?, _ flag: String) throws -> [Int]? {
            guard let text else { return nil }
            let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                throw AscentError(.usage, "\(flag) '\(text)' is not a comma-separated list of positive sizes")
            }
            return values.map { $0! }
        }

        func run() throws {
            try reportingErrors {
                let parsedTarget = try Target(parsing: target)
                let chosen = Attribution.Method(rawValue: method)!
                let loadStart = DispatchTime.now().uptimeNanoseconds
                let loaded = try quantization.prepared(modelOptions.load())
                let loadEnd = DispatchTime.now().uptimeNanoseconds
                var options = Attribution.Options()
                options.batch = batch
                options.samples = samples
                options.noise = noise
                options.squared = squared
                options.steps = steps
                options.rule = QuadratureRule(rawValue: rule)!
                options.layer = layer
                options.seed = seed
                options.window = try sizes(window, "--window")
                options.stride = try sizes(stride, "--stride")
                switch baseline {
                case "zeros": options.baseline = .zeros
                case "blur": options.baseline = .blur
                case "uniform": options.baseline = .uniform
                default:
                    if let v = Float(baseline), v.isFinite { options.baseline = .value(v) }
                    else if baseline.lowercased().hasSuffix(".npy") { options.baseline = .tensor(try NumPy.read(path: baseline)) }
                    else { throw AscentError(.usage, "--baseline '\(baseline)' is not zeros, blur, uniform, a number or a .npy file") }
                }
                if let noiseFile {
                    guard chosen == .smoothGrad else { throw AscentError(.usage, "--noise-file is for smoothgrad, not \(method)") }
                    options.noiseDraws = try NumPy.read(path: noiseFile)
                }
                // The input: [NAME=]FILE.
                var name: String?
                var path = input
                if let eq = input.firstIndex(of: "="), !FileManager.default.fileExists(atPath: input) {
                    name = String(input[..<eq])
                    path = String(input[input.index(after: eq)...])
                }
                let attribution: Attribution
                let map: Attribution.Map
                let x: Tensor
                do {
                    attribution = try Attribution(graph: loaded.graph, target: parsedTarget, input: name, threads: threadOptions.threads)
                    let info = loaded.graph.inputs.first { $0.name == attribution.inputName }!
                    let feeds = try loaded.feeds([InputFile(input: info.name, path: path)], options: InputOptions(scale: scale))
                    x = feeds[info.name]!.converted(to: .float32)
                    guard let declared = info.type.shape, declared.rank == x.shape.count else {
                        throw AscentError.invalid("input \(path) is \(x), the model's input '\(info.name)' is \(info.type)")
                    }
                    map = try attribution.explain(x, method: chosen, options: options)
                } catch let e as AscentError { throw e.inFile(modelOptions.model) }
                let explainEnd = DispatchTime.now().uptimeNanoseconds
                var line = "\(method) of \(parsedTarget): F(x) = \(String(format: "%.6g", map.objective))"
                if let layer = map.layer, let t = map.layerType { line += ", layer '\(layer)' \(t)" }
                emit(line + "\n")
                if let gap = map.completenessGap, let fb = map.baselineObjective {
                    let difference = map.objective - fb
                    let relative = abs(gap) / max(abs(difference), 1e-12)
                    emit(String(format: "completeness: sum of attributions %.6g vs F(x) - F(x') = %.6g (F(x') = %.6g): gap %.3g, %.3g relative\n",
                                Double(difference + gap), Double(difference), Double(fb), Double(gap), Double(relative)))
                }
                emit(String(format: "time: %.1f ms to explain (sessions, planning and all model calls), %.1f ms to import\n",
                            Double(explainEnd - loadEnd) / 1e6, Double(loadEnd - loadStart) / 1e6))
                if let save {
                    try NumPy.write(map.values, to: save)
                    emit("wrote \(save) (\(map.values))\n")
                }
                if let output {
                    let item = Tensor(shape: [1] + Array(x.shape.dropFirst()),
                                          scalars: Array(x.floats().prefix(x.count / max(1, x.shape[0]))))
                    let picture = try attribution.picture(of: map, method: chosen, input: item, colormap: Colormap(rawValue: colormap)!,
                                                          alpha: alpha, caption: "\(method) \(parsedTarget)")
                    try PNG.write(picture, to: output)
                    emit("wrote \(output) (\(picture.width)×\(picture.height))\n")
                }
            }
        }
    }
}
