import ArgumentParser
import AscentImage
import AscentIR
import AscentProbe
import AscentRuntime
import Foundation

extension Ascent {
    struct Maximize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the input that maximizes a target (activation maximization) and draw it.",
            discussion: """
            Presets: keras-example reproduces the Keras example "Visualizing what convnets learn" \
            (noise init (U(0,1)−0.5)·0.25, l2-normalized gradient ascent, lr 10, 30 steps, a 2-pixel \
            border excluded from layer targets, pictures standardized to std 0.15, cropped by 25 px). \
            lucid is the default for image inputs, keras-example for others. \
            smooth: Adam in the input range with TV/L2 penalties, blur and jitter. \
            lucid: Lucid's Fourier parametrization with decorrelated colour and a sigmoid onto \
            --input-range, random pad/jitter/scale/rotate before each step, Adam lr 0.05, 256 steps. \
            --steps, --learning-rate and --init override the preset. \
            Several targets (--target repeated, or --targets with a range such as layer:conv1:0-15 \
            or logit:0-9) optimize one batch item each and --output draws them as one labelled grid. \
            The input range for lucid and smooth comes from --input-range, else from a rescaling or \
            normalization at the model's start, else 0,1. --output X.npy saves the input instead of a \
            picture (the only choice for inputs that are not images).
            """)

        enum Preset: String, ExpressibleByArgument, CaseIterable { case kerasExample = "keras-example", smooth, lucid }

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(help: "What to maximize: logit:K, output:NAME:K, layer:NAME:C[:max] or neuron:NAME:C@i,j (repeat for a batch).")
        var target: [String] = []

        @Option(help: "Targets with a range A-B of classes or channels, e.g. layer:conv1:0-15 or logit:0-9 (one batch item each).")
        var targets: [String] = []

        @Option(help: "The preset: keras-example, smooth or lucid (default: lucid for image inputs, keras-example otherwise).")
        var preset: Preset?

        @Option(help: "Number of ascent steps.")
        var steps: Int?

        @Option(help: "Step size.")
        var learningRate: Float?

        @Option(help: "Random seed.")
        var seed: UInt64 = 0

        @Option(name: .customLong("init"), help: "Starting input: noise, zeros, or an .npy file.")
        var initial: String?

        @Option(help: "Where to write the picture (.png; a labelled grid for several targets), or the input (.npy).")
        var output: String?

        @Option(help: "Where to write the optimized input (.npy).")
        var saveInput: String?

        @Option(help: "Where to write the per-step trace (.json).")
        var log: String?

        @Option(help: "Threads for the CPU kernels (default: all cores).")
        var threads: Int?

        @Option(parsing: .unconditional, help: "The model's input range LO,HI (smooth and lucid presets; default: from the model, else 0,1).")
        var inputRange: String?

        @Option(help: "Total-variation weight (overrides the preset).")
        var tv: Float?

        @Option(help: "L2 weight (overrides the preset).")
        var l2: Float?

        /// `--input-range`, else what the model says (reported on stderr), else 0...1.
        func range(for graph: Graph, input: String?, notes: inout [String]) throws -> ClosedRange<Float> {
            if let inputRange {
                let parts = inputRange.split(separator: ",").compactMap { Float($0) }
                guard parts.count == 2, parts[0] < parts[1] else { throw AscentError(.usage, "--input-range must be LO,HI with LO < HI") }
                return parts[0]...parts[1]
            }
            guard let input, let found = ModelFacts.inputRange(of: graph, input: input) else { return 0...1 }
            notes.append("input range \(found.range.lowerBound)…\(found.range.upperBound) from \(found.source)")
            return found.range
        }

        @Option(help: "Subtract Lucid's diversity of a layer across the batch: LAYER or LAYER:WEIGHT (default weight 100).")
        var diversity: String?

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            if let steps, steps < 0 { throw ValidationError("--steps must be 0 or more") }
            if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            if let output, !output.lowercased().hasSuffix(".png"), !output.lowercased().hasSuffix(".npy") {
                throw ValidationError("--output must end in .png (a picture) or .npy (the input)")
            }
            if target.isEmpty && targets.isEmpty { throw ValidationError("give at least one --target or --targets") }
        }

        func run() throws {
            try reportingErrors {
                let parsed = try target.map { try Target(parsing: $0) } + targets.flatMap { try Target.expanding($0) }
                var goal = Goal(batch: parsed)
                if let diversity {
                    // The weight is the last ':'-part when it parses as a number (layer names may hold ':').
                    if let colon = diversity.lastIndex(of: ":"), let weight = Float(diversity[diversity.index(after: colon)...]) {
                        goal.diversity = .init(layer: String(diversity[..<colon]), weight: weight)
                    } else {
                        goal.diversity = .init(layer: diversity)
                    }
                }
                let loaded = try loadModel(model, config: config)
                // The default: lucid (the clearest pictures) when the input is an image, else the
                // Keras example's plain ascent, which works on any input.
                let floating = loaded.graph.inputs.filter { $0.type.dtype.isFloatingPoint }
                let isImage = floating.count == 1 && floating[0].type.shape?.rank == 4
                let chosen = preset ?? (isImage ? .lucid : .kerasExample)
                // Notes wait until the probe is ready, so an error stays the only line on stderr.
                var notes = preset == nil ? ["preset: \(chosen.rawValue)"] : []
                let inputName = floating.count == 1 ? floating[0].name : nil
                var options: ProbeOptions
                switch chosen {
                case .kerasExample: options = .kerasExample
                case .smooth: options = .smooth(range: try range(for: loaded.graph, input: inputName, notes: &notes))
                case .lucid: options = .lucid(range: try range(for: loaded.graph, input: inputName, notes: &notes))
                }
                if let steps { options.steps = steps }
                if let learningRate { options.learningRate = learningRate }
                options.seed = seed
                if let tv { options.totalVariation = tv }
                if let l2 { options.l2 = l2 }
                switch initial {
                case nil, "noise": break
                case "zeros": options.initialization = .zeros
                case let path?: options.initialization = .tensor(try NumPy.read(path: path))
                }
                let probe: Probe
                do { probe = try Probe(graph: loaded.graph, goal: goal, options: options, threads: threads) }
                catch let e as AscentError { throw e.inFile(model) }
                notes.forEach(note)
                // Refuse a picture of a non-image before the work, not after.
                if let output, output.lowercased().hasSuffix(".png"), !probe.inputIsPicture {
                    throw AscentError(.usage, "input '\(probe.inputName)' \(Shape(probe.inputShape)) is not a picture: use --output X.npy")
                }
                let bar = ProgressBar(total: options.steps, enabled: isatty(2) != 0)
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try probe.run { bar.update(step: $0.step, objective: $0.objective) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                bar.finish()
                let first = result.steps.first?.objective ?? result.finalObjective
                let values = zip(first, result.finalObjective).map { String(format: "%.5g → %.5g", $0, $1) }.joined(separator: ", ")
                emit(String(format: "%@: objective %@ in %d steps (%.2f s, %.1f steps/s)\n",
                            probe.objective.summary, values, options.steps, seconds, Double(options.steps) / max(seconds, 1e-9)))
                let probabilities = try classProbabilities(loaded.graph, probe: probe, input: result.input)
                for (k, p) in (probabilities ?? []).enumerated() {
                    let best = p.indices.max { p[$0] < p[$1] } ?? 0
                    emit(String(format: "%@ → class %d (p = %.4f)\n", parsed[min(k, parsed.count - 1)].description, best, p[best]))
                }
                if let output {
                    if output.lowercased().hasSuffix(".npy") {
                        try NumPy.write(result.input, to: output)
                        emit("wrote \(output) \(Shape(result.input.shape))\n")
                    } else {
                        try writePicture(result.input, probe: probe, targets: parsed, deprocess: options.deprocess, to: output)
                    }
                }
                if let saveInput {
                    try NumPy.write(result.input, to: saveInput)
                    emit("wrote \(saveInput)\n")
                }
                if let log {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    let trace = Trace(model: model, targets: parsed.map(\.description), objective: probe.objective.summary,
                                      preset: chosen.rawValue, seed: seed,
                                      objectives: result.steps.map(\.objective) + [result.finalObjective],
                                      steps: result.steps, finalObjective: result.finalObjective,
                                      seconds: seconds, probabilities: probabilities)
                    try AtomicWriter.write([UInt8](try encoder.encode(trace)), to: log)
                    emit("wrote \(log)\n")
                }
            }
        }

        /// The class probabilities of each batch item at the final input, when the model ends in
        /// a softmax.
        func classProbabilities(_ graph: Graph, probe: Probe, input: Tensor) throws -> [[Float]]? {
            guard let name = ModelFacts.probabilitiesOutput(of: graph) else { return nil }
            var sessionOptions = Session.Options()
            if let threads { sessionOptions.threads = threads }
            guard let probs = try Session(graph: graph, options: sessionOptions).run([probe.inputName: input])[name],
                  let classes = probs.shape.last, classes > 0 else { return nil }
            let all = probs.floats()
            return stride(from: 0, to: all.count, by: classes).map { Array(all[$0..<($0 + classes)]) }
        }

        /// One picture, or a labelled grid for a batch.
        func writePicture(_ input: Tensor, probe: Probe, targets: [Target], deprocess: Deprocess, to path: String) throws {
            let batch = input.shape.first ?? 1
            let pictures = try (0..<batch).map {
                try Picture.image(from: input, index: $0, channelsLast: probe.channelsLast, deprocess: deprocess)
            }
            let image: Image
            if batch == 1 {
                image = pictures[0]
            } else {
                // Captions: the whole target, or without its kind when that does not fit.
                let labels = targets.map(\.description)
                image = try ImageGrid.make(zip(pictures, labels).map { picture, label in
                    let room = max(picture.width, picture.height) < 96 ? 16 : 1000
                    let short = label.count > room ? String(label.drop { $0 != ":" }.dropFirst()) : label
                    return (picture, short)
                })
            }
            try PNG.write(image, to: path)
            emit("wrote \(path) (\(image.width)×\(image.height)×\(image.channels)\(batch > 1 ? ", \(batch) pictures" : ""))\n")
        }
    }
}

/// Progress on stderr when it is a terminal: a bar, the objective and steps per second.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    let start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(step: Int, objective: [Float]) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard step == total || now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let width = 24
        let filled = total > 0 ? width * step / total : width
        let rate = Double(step) / max(Double(now - start) / 1e9, 1e-9)
        let shown = objective.prefix(4).map { String(format: "%.4g", $0) }.joined(separator: " ") + (objective.count > 4 ? " …" : "")
        let line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + "\(step)/\(total)  objective \(shown)  " + String(format: "%.1f steps/s", rate)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A line on stderr (notes that are not results).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// The `--log` file.
struct Trace: Encodable {
    var model: String
    var targets: [String]
    var objective: String
    var preset: String
    var seed: UInt64
    /// The objective of each batch item before each step, then at the final input.
    var objectives: [[Float]]
    var steps: [Probe.Step]
    var finalObjective: [Float]
    /// Wall time of the optimization loop.
    var seconds: Double
    /// Class probabilities of each batch item at the final input, when the model ends in a softmax.
    var probabilities: [[Float]]?
}
