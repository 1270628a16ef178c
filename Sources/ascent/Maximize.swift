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
            lucid is the default for image inputs, keras-example for others. \
            smooth: Adam in the input range with TV/L2 penalties, blur and jitter. \
            lucid: Lucid's Fourier parametrization with decorrelated colour and a sigmoid onto \
            --input-range, random pad/jitter/scale/rotate before each step, Adam lr 0.05, 256 steps. \
            --steps, --learning-rate and --init override the preset. \
            Several --target options optimize one batch item each; with --output P.png the \
            pictures are written as P-0.png, P-1.png, ... in the order of the targets.
            """)

        enum Preset: String, ExpressibleByArgument, CaseIterable { case kerasExample = "keras-example", smooth, lucid }

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(help: "What to maximize: logit:K, output:NAME:K, layer:NAME:C[:max] or neuron:NAME:C@i,j (repeat for a batch).")
        var target: [String]

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

        @Option(help: "Where to write the picture (.png).")
        var output: String?

        @Option(help: "Where to write the optimized input (.npy).")
        var saveInput: String?

        @Option(help: "Where to write the per-step trace (.json).")
        var log: String?

        @Option(help: "Threads for the CPU kernels (default: all cores).")
        var threads: Int?

        @Option(help: "The model's input range LO,HI (smooth and lucid presets; default 0,1).")
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

        @Option(help: "Subtract Lucid's diversity of a layer across the batch: LAYER or LAYER:WEIGHT (default weight 100).")
        var diversity: String?

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            if let steps, steps < 0 { throw ValidationError("--steps must be 0 or more") }
            if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            if let output, !output.lowercased().hasSuffix(".png") { throw ValidationError("--output must end in .png") }
            if target.isEmpty { throw ValidationError("give at least one --target") }
        }

        func run() throws {
            try reportingErrors {
                var goal = Goal(batch: try target.map { try Target(parsing: $0) })
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
                if preset == nil { FileHandle.standardError.write(Data("preset: \(chosen.rawValue)\n".utf8)) }
                var options: ProbeOptions
                switch chosen {
                case .kerasExample: options = .kerasExample
                case .smooth: options = .smooth(range: try parseRange())
                case .lucid: options = .lucid(range: try parseRange())
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
                let isTerminal = isatty(2) != 0
                let result = try probe.run { step in
                    let every = max(1, options.steps / 10)
                    guard step.step % every == 0 || step.step == options.steps else { return }
                    let line = "step \(step.step)/\(options.steps)  objective " + step.objective.map { String(format: "%.5g", $0) }.joined(separator: " ")
                    FileHandle.standardError.write(Data((isTerminal ? "\r\(line)" : line + "\n").utf8))
                }
                if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
                let first = result.steps.first?.objective ?? result.finalObjective
                let values = zip(first, result.finalObjective).map { String(format: "%.5g → %.5g", $0, $1) }.joined(separator: ", ")
                emit(String(format: "%@: objective %@ in %d steps (%.1f ms/step)\n",
                            probe.objective.summary, values, options.steps,
                            result.steps.map(\.milliseconds).reduce(0, +) / Double(max(1, result.steps.count))))
                if let output {
                    let batch = result.input.shape.first ?? 1
                    for k in 0..<batch {
                        let path = batch == 1 ? output : String(output.dropLast(4)) + "-\(k).png"
                        let image = try Picture.image(from: result.input, index: k, channelsLast: probe.channelsLast, deprocess: options.deprocess)
                        try PNG.write(image, to: path)
                        emit("wrote \(path) (\(image.width)×\(image.height)×\(image.channels))\n")
                    }
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
