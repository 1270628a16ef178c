import ArgumentParser
import AscentImage
import AscentIR
import AscentProbe
import Foundation

extension Ascent {
    struct Maximize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the input that maximizes a target (activation maximization) and draw it.",
            discussion: """
            Presets: keras-example reproduces the Keras example "Visualizing what convnets learn" \
            (noise init (U(0,1)−0.5)·0.25, l2-normalized gradient ascent, lr 10, 30 steps, a 2-pixel \
            border excluded from layer targets, pictures standardized to std 0.15, cropped by 25 px). \
            --steps, --learning-rate and --init override the preset.
            """)

        enum Preset: String, ExpressibleByArgument, CaseIterable { case kerasExample = "keras-example", smooth }

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(help: "What to maximize: logit:K, output:NAME:K or layer:NAME:C[:max].")
        var target: String

        @Option(help: "The preset: keras-example.")
        var preset: Preset = .kerasExample

        @Option(help: "Number of ascent steps.")
        var steps: Int?

        @Option(help: "Step size.")
        var learningRate: Float?

        @Option(help: "Random seed.")
        var seed: UInt64 = 0

        @Option(name: .customLong("init"), help: "Starting input: noise, zeros, or an .npy file.")
        var initial: String?

        @Option(help: "Where to write the picture (.png).")
        var output: String?

        @Option(help: "Where to write the optimized input (.npy).")
        var saveInput: String?

        @Option(help: "Where to write the per-step trace (.json).")
        var log: String?

        @Option(help: "Threads for the CPU kernels (default: all cores).")
        var threads: Int?

        @Option(help: "The model's input range LO,HI (smooth preset; default 0,1).")
        var inputRange: String = "0,1"

        @Option(help: "Total-variation weight (overrides the preset).")
        var tv: Float?

        @Option(help: "L2 weight (overrides the preset).")
        var l2: Float?

        func parseRange() throws -> ClosedRange<Float> {
            let parts = inputRange.split(separator: ",").compactMap { Float($0) }
            guard parts.count == 2, parts[0] < parts[1] else { throw AscentError(.usage, "--input-range must be LO,HI with LO < HI") }
            return parts[0]...parts[1]
        }

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            if let steps, steps < 0 { throw ValidationError("--steps must be 0 or more") }
            if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            if let output, !output.lowercased().hasSuffix(".png") { throw ValidationError("--output must end in .png") }
        }

        func run() throws {
            try reportingErrors {
                let parsed = try Target(parsing: target)
                var options: ProbeOptions
                switch preset {
                case .kerasExample: options = .kerasExample
                case .smooth: options = .smooth(range: try parseRange())
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
                let loaded = try loadModel(model, config: config)
                let probe: Probe
                do { probe = try Probe(graph: loaded.graph, target: parsed, options: options, threads: threads) }
                catch let e as AscentError { throw e.inFile(model) }
                let isTerminal = isatty(2) != 0
                let result = try probe.run { step in
                    let every = max(1, options.steps / 10)
                    guard step.step % every == 0 || step.step == options.steps else { return }
                    let line = String(format: "step %d/%d  objective %.5g", step.step, options.steps, step.objective.first ?? .nan)
                    FileHandle.standardError.write(Data((isTerminal ? "\r\(line)" : line + "\n").utf8))
                }
                if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
                let first = result.steps.first?.objective.first ?? result.finalObjective[0]
                emit(String(format: "%@: objective %.5g → %.5g in %d steps (%.1f ms/step)\n",
                            probe.objective.summary, first, result.finalObjective[0], options.steps,
                            result.steps.map(\.milliseconds).reduce(0, +) / Double(max(1, result.steps.count))))
                if let output {
                    let image = try Picture.image(from: result.input, channelsLast: probe.channelsLast, deprocess: options.deprocess)
                    try PNG.write(image, to: output)
                    emit("wrote \(output) (\(image.width)×\(image.height)×\(image.channels))\n")
                }
                if let saveInput {
                    try NumPy.write(result.input, to: saveInput)
                    emit("wrote \(saveInput)\n")
                }
                if let log {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    let trace = Trace(model: model, target: probe.objective.summary, steps: result.steps, finalObjective: result.finalObjective)
                    try AtomicWriter.write([UInt8](try encoder.encode(trace)), to: log)
                    emit("wrote \(log)\n")
                }
            }
        }
    }
}

/// The `--log` file.
struct Trace: Encodable {
    var model: String
    var target: String
    var steps: [Probe.Step]
    var finalObjective: [Float]
}
