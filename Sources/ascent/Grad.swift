import ArgumentParser
import AscentIR
import AscentModel
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

        @OptionGroup var model: ModelOptions
        @OptionGroup var inputs: InputFileOptions

        @Option(help: "What to differentiate: logit:K, output:NAME:K or layer:NAME:C[:max].")
        var target: String

        @Option(help: "The input to differentiate with respect to (default: the only floating-point input).")
        var wrt: String?

        @Option(name: .shortAndLong, help: "Where to write the gradient (.npy).")
        var output: String

        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            guard !inputs.inputs.isEmpty else { throw ValidationError("give at least one --input") }
        }

        func run() throws {
            try reportingErrors {
                let parsed = try Target(parsing: target)
                try checkOutput(output, option: "--output")
                let loaded = try model.load()
                let feeds = try inputs.feeds(for: loaded)
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
                    // Planned on the inputs' own shapes, so every size of the gradient graph is known,
                    // and on their values where they decide control flow (the taken branch of an If,
                    // a Loop's or Scan's iterations).
                    let fixed = try loaded.graph.fixingInputShapes(feeds.mapValues(\.shape)).resolvingControlFlow(feeds: feeds)
                    objective = try Objective(parsed, on: fixed)
                    gradient = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [respect])
                    outputs = try Session(graph: gradient.graph, options: threads.session).run(feeds)
                } catch let e as AscentError { throw e.inFile(model.model) }
                let values = outputs[objective.value]!.floats().map { String(format: "%.6g", $0) }
                emit("\(objective.summary): \(values.joined(separator: " "))\n")
                let grad = outputs[gradient.gradients[respect]!]!
                try NumPy.write(grad, to: output)
                emit("wrote \(output) (d/d \(respect), \(grad))\n")
            }
        }
    }
}
