import ArgumentParser
import AscentImage
import AscentIR
import AscentModel
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
            or logit:0-9) optimize one batch item each (--batch-size at a time) and --output draws \
            them as one labelled grid. \
            The input range for lucid and smooth comes from --input-range, else from a rescaling or \
            normalization at the model's start, else 0,1 (said on stderr). --input-range imagenet: the \
            model expects pixels in 0,1 normalized by ImageNet's per-channel mean and std outside the \
            graph (torchvision's classifiers); Ascent prepends that normalization and optimizes pixels \
            (inputs read and written are then pixels). --output X.npy saves the input instead of a \
            picture; for a 1-D signal input ([N,T], [N,C,T] or [N,T,C]) --output X.png draws a plot of \
            the signal and writes its values to X.npy beside it. \
            A model with several inputs: --wrt NAME is the one optimized, the others are fed from \
            --input NAME=FILE and held fixed. --wrt may also name an intermediate value or layer (a \
            token model's embedding): the model is cut there and that value optimized; inputs still \
            read past the cut (a padding mask's tokens) come from --input; for an embedding lookup \
            the nearest token of each position is printed. \
            An objective that does not move (a dead channel) is warned about on stderr. \
            --report DIR writes DIR/index.html (pictures, objective curves, class probabilities, the \
            run and the model) with DIR/report.json and one picture per target (animated with --frames). \
            --shard I/N runs the I-th of N slices of whole batches (I from 0); `ascent report merge` \
            combines their reports. The same seed and batch size give the same pictures sharded or not.
            """)

        enum Preset: String, ExpressibleByArgument, CaseIterable { case kerasExample = "keras-example", smooth, lucid }

        @OptionGroup var model: ModelOptions

        @Option(help: "The input to optimize, for a model with several (default: the only floating-point input without --input), or an intermediate value or layer to cut the model at (an embedding).")
        var wrt: String?

        @Option(name: .customLong("input"), help: "An input held fixed, as NAME=FILE (.npy); repeat for each input not optimized.")
        var fixedInputs: [String] = []

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

        @Option(help: "A folder for an HTML report (index.html, report.json and one picture per target).")
        var report: String?

        @Option(help: "Record K frames of the optimization as an animated PNG per target in the --report folder.")
        var frames: Int?

        @Option(help: "Targets optimized together as one batch.")
        var batchSize: Int = 16

        @Option(help: "Run only slice I of N (I from 0) of the batches; merge the --report folders with `ascent report merge`.")
        var shard: String?

        @OptionGroup var threads: ThreadOptions
        @OptionGroup var shapes: InputShapeOptions
        @OptionGroup var quantization: QuantizedGradientOptions

        @Option(parsing: .unconditional,
                help: "The model's input range LO,HI, e.g. -1,1 or 0,255, or imagenet (pixels 0,1 normalized by ImageNet's mean and std); smooth and lucid presets; default: from the model, else 0,1.")
        var inputRange: String?

        @Option(help: "Total-variation weight (overrides the preset).")
        var tv: Float?

        @Option(help: "L2 weight (overrides the preset).")
        var l2: Float?

        @Option(help: "Subtract Lucid's diversity of a layer across the batch: LAYER or LAYER:WEIGHT (default weight 100).")
        var diversity: String?

        @OptionGroup var labels: LabelOptions

        func validate() throws {
            if let steps, steps < 0 { throw ValidationError("--steps must be 0 or more") }
            if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
            if let output, !output.lowercased().hasSuffix(".png"), !output.lowercased().hasSuffix(".npy") {
                throw ValidationError("--output must end in .png (a picture) or .npy (the input)")
            }
            if target.isEmpty && targets.isEmpty { throw ValidationError("give at least one --target or --targets") }
            if let frames {
                guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
                guard report != nil else { throw ValidationError("--frames needs --report DIR (the animations go there)") }
            }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
            if let shard { _ = try Shard(parsing: shard) }
        }

        /// The normalization `--input-range` names, if it names one.
        var normalization: InputNormalization? { inputRange.flatMap { InputNormalization(rawValue: $0.lowercased()) } }

        /// `--input-range`, else what the model says (reported on stderr), else 0...1 (said on stderr).
        func range(for graph: Graph, input: String?, notes: inout [String]) throws -> ClosedRange<Float> {
            if let normalization { return normalization.pixelRange }
            if let inputRange {
                let parts = inputRange.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo.isFinite, hi.isFinite, lo < hi else {
                    throw AscentError(.usage, "--input-range '\(inputRange)' is not LO,HI with LO < HI (e.g. 0,255 or -1,1) nor \(InputNormalization.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return lo...hi
            }
            guard let input, let found = ModelFacts.inputRange(of: graph, input: input) else {
                notes.append("input range 0…1 assumed (the model does not say): give --input-range LO,HI (e.g. -1,1 or 0,255) or --input-range imagenet if it expects another")
                return 0...1
            }
            notes.append("input range \(found.range.lowerBound)…\(found.range.upperBound) from \(found.source)")
            return found.range
        }

        func run() throws {
            try reportingErrors {
                let parsed = try target.map { try Target(parsing: $0) } + targets.flatMap { try Target.expanding($0) }
                let shard = try self.shard.map(Shard.init(parsing:))
                // Every output is checked before the model is even loaded.
                try checkOutput(output, option: "--output")
                try checkOutput(saveInput, option: "--save-input")
                try checkOutput(log, option: "--log")
                if let report { try checkReportFolder(report) }
                var loaded = try quantization.prepared(model.load())
                let names = try labels.labels(for: loaded)
                // --wrt naming no input: the model is cut there (an embedding's output optimized).
                var wrt = self.wrt
                var embedding: Tensor?
                if let name = wrt, !loaded.graph.inputs.contains(where: { $0.name == name }) {
                    do {
                        let cut = try loaded.graph.cutting(at: name)
                        embedding = loaded.graph.lookupTable(of: cut.input)
                        loaded.graph = cut.graph
                        wrt = cut.input
                    } catch let e as AscentError { throw e.inFile(model.model) }
                }
                for spec in fixedInputs where !spec.contains("=") {
                    throw AscentError(.usage, "--input '\(spec)': name the input held fixed, as NAME=FILE")
                }
                let fixed = try loaded.feeds(fixedInputs.map(InputFile.init(parsing:)))
                let given = try shapes.shapes()
                // The optimized input: --wrt, else the one --input-shape names, else the only
                // floating-point input not held fixed.
                let free = loaded.floatingInputs.filter { fixed[$0.name] == nil }
                let inputName = wrt ?? (given.count == 1 ? given.first!.key : free.count == 1 ? free[0].name : nil)
                if inputName == nil, free.count > 1 {
                    throw AscentError(.usage, "the model has \(free.count) floating-point inputs (\(free.map { "'\($0.name)'" }.joined(separator: ", "))): choose one with --wrt and give the others with --input NAME=FILE")
                }
                if let inputName, let other = given.keys.sorted().first(where: { $0 != inputName }) {
                    throw AscentError(.usage, "--input-shape \(other)=...: give the shape of the one input optimized ('\(inputName)'); the others take theirs from --input")
                }
                if let normalization, let inputName {
                    do { loaded.graph = try normalization.prepended(to: loaded.graph, input: inputName) }
                    catch let e as AscentError { throw e.inFile(model.model) }
                }
                // The default: lucid (the clearest pictures) when the input is an image, else the
                // Keras example's plain ascent, which works on any input.
                let isImage = loaded.graph.inputs.first { $0.name == inputName }?.type.shape?.rank == 4
                let chosen = preset ?? (isImage ? .lucid : .kerasExample)
                // Notes wait until the probe is ready, so an error stays the only line on stderr.
                var notes = preset == nil ? ["preset: \(chosen.rawValue)"] : []
                if let normalization { notes.append("--input-range \(normalization.rawValue): pixels in 0…1 are normalized per channel before the model; inputs read and written are pixels") }
                var options: ProbeOptions
                switch chosen {
                case .kerasExample: options = .kerasExample
                case .smooth: options = .smooth(range: try range(for: loaded.graph, input: inputName, notes: &notes))
                case .lucid: options = .lucid(range: try range(for: loaded.graph, input: inputName, notes: &notes))
                }
                if let steps { options.steps = steps }
                if let learningRate { options.learningRate = learningRate }
                if let tv { options.totalVariation = tv }
                if let l2 { options.l2 = l2 }
                switch initial {
                case nil, "noise": break
                case "zeros": options.initialization = .zeros
                case let path?: options.initialization = .tensor(try NumPy.read(path: path))
                }
                if let frames, frames > options.steps + 1 {
                    throw AscentError(.usage, "--frames \(frames) is more than the \(options.steps + 1) states of \(options.steps) steps")
                }
                let plan = try ProbeBatches(targetCount: parsed.count, batchSize: batchSize, seed: seed, shard: shard)
                var run = MaximizeRun(targets: parsed, labels: names)
                if plan.batches.isEmpty, let shard {
                    notes.append("shard \(shard) has no targets: \(parsed.count) targets make \(plan.total) batch\(plan.total == 1 ? "" : "es") of up to \(batchSize) for \(shard.count) shards (a smaller --batch-size spreads them)")
                }
                let frameSteps = frames.map { Set(Probe.frameSteps(count: $0, steps: options.steps)) } ?? []
                let bar = ProgressBar(total: options.steps * plan.batches.count, enabled: isatty(2) != 0)
                for (b, batch) in plan.batches.enumerated() {
                    var goal = Goal(batch: Array(parsed[batch.targets]))
                    goal.diversity = diversityTerm()
                    var batchOptions = options
                    batchOptions.seed = batch.seed
                    let probe: Probe
                    do {
                        probe = try Probe(graph: loaded.graph, goal: goal, options: batchOptions, input: inputName,
                                          inputShape: inputName.flatMap { given[$0] }, fixedInputs: fixed, threads: threads.threads)
                    }
                    catch let e as AscentError { throw e.inFile(model.model) }
                    if b == 0 {
                        notes.forEach(note)
                        notes = []
                        // Refuse a picture of a non-image before the work, not after.
                        if let output, output.lowercased().hasSuffix(".png"), !probe.inputIsPicture, !probe.inputIsSignal {
                            throw AscentError(.usage, "input '\(probe.inputName)' \(Shape(probe.inputShape)) is neither a picture nor a 1-D signal: use --output X.npy")
                        }
                    }
                    let start = DispatchTime.now().uptimeNanoseconds
                    let done = b * options.steps
                    let result = try probe.run(recordingFramesAt: frameSteps) { bar.update(step: done + $0.step, objective: $0.objective) }
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    let first = result.steps.first?.objective ?? result.finalObjective
                    let values = zip(first, result.finalObjective).map { String(format: "%.5g → %.5g", $0, $1) }.joined(separator: ", ")
                    bar.interrupt()
                    emit(String(format: "%@: objective %@ in %d steps (%.2f s, %.1f steps/s)\n",
                                probe.objective.summary, values, options.steps, seconds, Double(options.steps) / max(seconds, 1e-9)))
                    if let embedding {
                        for (k, tokens) in Self.nearestRows(of: result.input, in: embedding).enumerated() {
                            emit("\(parsed[batch.targets.lowerBound + k]): nearest tokens \(tokens.map(String.init).joined(separator: " "))\n")
                        }
                    }
                    for (k, (a, z)) in zip(first, result.finalObjective).enumerated() where options.steps > 0 && Self.didNotMove(a, z) {
                        note(String(format: "warning: %@: the objective did not move (%.5g → %.5g): a dead unit for this input? try another --seed, --init, --learning-rate or --target",
                                    parsed[batch.targets.lowerBound + k].description, a, z))
                    }
                    let probabilities = try classProbabilities(loaded.graph, probe: probe, input: result.input)
                    for (k, p) in (probabilities ?? []).enumerated() {
                        let best = p.indices.max { p[$0] < p[$1] } ?? 0
                        let t = parsed[batch.targets.lowerBound + k]
                        emit(String(format: "%@ → class %@ (p = %.4f)\n", run.caption(t, full: true), names?.describe(best) ?? "\(best)", p[best]))
                    }
                    try run.add(batch: batch.targets, result: result, probe: probe, deprocess: options.deprocess, probabilities: probabilities, seconds: seconds)
                }
                notes.forEach(note)
                bar.finish()
                try writeOutputs(run, options: options, preset: chosen, plan: plan, shard: shard, graph: loaded)
            }
        }

        /// `--diversity LAYER[:WEIGHT]`; the weight is the last ':'-part when it parses as a
        /// number (layer names may hold ':').
        func diversityTerm() -> Goal.Diversity? {
            guard let diversity else { return nil }
            if let colon = diversity.lastIndex(of: ":"), let weight = Float(diversity[diversity.index(after: colon)...]) {
                return .init(layer: String(diversity[..<colon]), weight: weight)
            }
            return .init(layer: diversity)
        }

        /// For each batch item of `x` `[N, ..., D]`, the row of `table` `[V, D]` nearest (L2) to each
        /// of its D-vectors: the tokens an optimized embedding is closest to.
        static func nearestRows(of x: Tensor, in table: Tensor) -> [[Int]] {
            guard let d = table.shape.last, table.shape.count == 2, x.shape.last == d, d > 0, let n = x.shape.first, n > 0 else { return [] }
            let rows = table.floats(), values = x.floats()
            let vectors = values.count / d
            let nearest = (0..<vectors).map { v -> Int in
                var best = 0, bestDistance = Float.infinity
                for r in 0..<table.shape[0] {
                    var s: Float = 0
                    for j in 0..<d { let e = values[v * d + j] - rows[r * d + j]; s += e * e }
                    if s < bestDistance { best = r; bestDistance = s }
                }
                return best
            }
            let perItem = vectors / n
            return (0..<n).map { Array(nearest[($0 * perItem)..<(($0 + 1) * perItem)]) }
        }

        /// True when an objective stayed where it started (within a relative 1e-6), a dead unit's 0 → 0.
        static func didNotMove(_ first: Float, _ final: Float) -> Bool {
            abs(final - first) <= 1e-6 * max(abs(first), abs(final)) || (first == 0 && final == 0)
        }

        /// The report folder may exist (as a folder) or be made in an existing folder.
        func checkReportFolder(_ folder: String) throws {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw AscentError(.usage, file: folder, "--report names a file, not a folder") }
                return
            }
            try checkFolder(containing: folder.hasSuffix("/") ? String(folder.dropLast()) : folder, option: "--report")
        }

        func writeOutputs(_ run: MaximizeRun, options: ProbeOptions, preset: Preset, plan: ProbeBatches, shard: Shard?, graph model: Model) throws {
            if let output, let input = run.input {
                if output.lowercased().hasSuffix(".npy") {
                    try NumPy.write(input, to: output)
                    emit("wrote \(output) \(Shape(input.shape))\n")
                } else if run.pictures.isEmpty, let plot = run.signalPlot {
                    // A signal: its plot, and its values beside it.
                    let values = (output as NSString).deletingPathExtension + ".npy"
                    try checkOutput(values, option: "--output")
                    try PNG.write(try plot(), to: output)
                    try NumPy.write(input, to: values)
                    emit("wrote \(output) (a plot of \(run.indices.count) signal\(run.indices.count == 1 ? "" : "s")) and \(values) \(Shape(input.shape))\n")
                } else if !run.pictures.isEmpty {
                    let image = try run.grid()
                    try PNG.write(image, to: output)
                    emit("wrote \(output) (\(image.width)×\(image.height)×\(image.channels)\(run.pictures.count > 1 ? ", \(run.pictures.count) pictures" : ""))\n")
                }
            }
            if let saveInput, let input = run.input {
                try NumPy.write(input, to: saveInput)
                emit("wrote \(saveInput)\n")
            }
            if let log {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let steps = run.mergedSteps()
                let trace = Trace(model: self.model.model, targets: run.indices.map { run.targets[$0].description }, objective: run.summaries.joined(separator: "; "),
                                  preset: preset.rawValue, seed: seed,
                                  objectives: steps.map(\.objective) + [run.finalObjective],
                                  steps: steps, finalObjective: run.finalObjective,
                                  seconds: run.seconds, probabilities: run.probabilities)
                try AtomicWriter.write([UInt8](try encoder.encode(trace)), to: log)
                emit("wrote \(log)\n")
            }
            if let folder = report {
                let items = try run.writePictures(toFolder: folder, frames: frames)
                let report = ProbeReport(model: self.model.model, modelFacts: ModelFacts.reportFacts(of: model.graph, format: model.format.rawValue),
                                         commands: [commandLine()], preset: preset.rawValue, seed: seed, steps: options.steps,
                                         batchSize: batchSize, targets: run.targets.map(\.description), shard: shard, frames: frames ?? 0,
                                         labelsSource: run.labels?.source, seconds: run.seconds, items: items)
                try report.write(toFolder: folder)
                emit("wrote \((folder as NSString).appendingPathComponent("index.html")) (\(items.count) target\(items.count == 1 ? "" : "s")\(frames.map { ", \($0) frames each" } ?? ""))\n")
            }
        }

        /// The class probabilities of each batch item at the final input, when the model ends in
        /// a softmax.
        func classProbabilities(_ graph: Graph, probe: Probe, input: Tensor) throws -> [[Float]]? {
            guard let name = ModelFacts.probabilitiesOutput(of: graph) else { return nil }
            let feeds = probe.fixedInputs.merging([probe.inputName: input]) { _, new in new }
            guard let probs = try Session(graph: graph, options: threads.session).run(feeds)[name],
                  let classes = probs.shape.last, classes > 0 else { return nil }
            let all = probs.floats()
            return stride(from: 0, to: all.count, by: classes).map { Array(all[$0..<($0 + classes)]) }
        }
    }
}

/// The command line as typed, shell-quoted where needed, with the program as `ascent`.
func commandLine() -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+")
    return (["ascent"] + CommandLine.arguments.dropFirst()).map { word in
        !word.isEmpty && word.allSatisfy({ safe.contains($0) }) ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }.joined(separator: " ")
}

/// Progress on stderr when it is a terminal: a bar, the objective and steps per second.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    let start = DispatchTime.now().uptimeNanoseconds
    var lastDraw: UInt64 = 0
    var drawn = false

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
        writeAll(2, "\r\u{1B}[K\(line)")
        drawn = true
    }

    /// Clears the bar's line before other output.
    func interrupt() {
        if enabled && drawn { writeAll(2, "\r\u{1B}[K") }
        drawn = false
    }

    func finish() { interrupt() }
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
