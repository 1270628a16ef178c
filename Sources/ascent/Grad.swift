import ArgumentParser
import AscentIR
import AscentProbe
import AscentRuntime
import Foundation

extension Ascent {
    struct Grad: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the gradient of a target with respect to a model input.",
            discussion: """
            Targets: logit:K (class K before the final softmax when the model ends in one), \
            output:NAME:K (index K of output NAME), layer:NAME:C (channel C of a layer's output, \
            mean over its other axes; layer:NAME:C:max for the maximum). The gradient is that of \
            the sum over the batch, so each batch item gets its own gradient.
            """)

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(name: .customLong("input"), help: "An input as [NAME=]FILE (.npy or .png); repeat for several inputs.")
        var inputs: [String] = []

        @Option(help: "What to differentiate: logit:K, output:NAME:K or layer:NAME:C[:max].")
        var target: String

        @Option(help: "The input to differentiate with respect to (default: the only floating-point input).")
        var wrt: String?

        @Option(name: .shortAndLong, help: "Where to write the gradient (.npy).")
        var output: String

        @Option(help: "Threads for the CPU kernels (default: all cores).")
        var threads: Int?

        @Option(help: "Factor applied to PNG pixel values (0...255).")
        var scale: Float = 1.0 / 255.0

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            guard !inputs.isEmpty else { throw ValidationError("give at least one --input") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let parsed = try Target(parsing: target)
                let loaded = try loadModel(model, config: config)
                let feeds = try InputFeeds.load(inputs, for: loaded.graph, scale: scale)
                let floating = loaded.graph.inputs.filter { $0.type.dtype.isFloatingPoint }.map(\.name)
                let respect = try wrt ?? {
                    guard floating.count == 1 else {
                        throw AscentError(.usage, "the model has \(floating.count) floating-point inputs: choose one with --wrt")
                    }
                    return floating[0]
                }()
                let outputs: [String: Tensor]
                let objective: Objective
                let gradient: GradientGraph
                do {
                    objective = try Objective(parsed, on: loaded.graph)
                    gradient = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [respect])
                    var options = Session.Options()
                    if let threads { options.threads = threads }
                    outputs = try Session(graph: gradient.graph, options: options).run(feeds)
                } catch let e as AscentError { throw e.inFile(model) }
                let values = outputs[objective.value]!.floats().map { String(format: "%.6g", $0) }
                emit("\(objective.summary): \(values.joined(separator: " "))\n")
                let grad = outputs[gradient.gradients[respect]!]!
                try NumPy.write(grad, to: output)
                emit("wrote \(output) (d/d \(respect), \(grad))\n")
            }
        }
    }
}
