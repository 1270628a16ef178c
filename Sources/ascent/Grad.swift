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
            the sum over the batch, so each batch item gets its own gradient. \
            With several inputs, --wrt names the one to differentiate with respect to; the others \
            are fed from their --input files and held fixed. --input-shape fixes symbolic sizes \
            before the gradient graph is built (it must agree with the --input files). \
            Prints the objective of each batch item (the first 16 and their sum when there are more) \
            and the gradient's L2 norm, minimum and maximum; the values are in the .npy file.
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
        @OptionGroup var shapes: InputShapeOptions
        @OptionGroup var quantization: QuantizedGradientOptions

        func validate() throws {
            guard !inputs.inputs.isEmpty else { throw ValidationError("give at least one --input") }
        }

        func run() throws {
            try reportingErrors {
                let parsed = try Target(parsing: target)
                try checkOutput(output, option: "--output")
                let loaded = try quantization.prepared(model.load())
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
                    var sizes = feeds.mapValues(\.shape)
                    for (name, shape) in try shapes.shapes() {
                        if let fed = sizes[name], fed != shape {
                            throw AscentError(.usage, "--input-shape \(name)=\(shape.map(String.init).joined(separator: ",")) disagrees with its --input file \(Shape(fed))")
                        }
                        sizes[name] = shape
                    }
                    let fixed = try loaded.graph.fixingInputShapes(sizes).resolvingControlFlow(feeds: feeds)
                    objective = try Objective(parsed, on: fixed)
                    gradient = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [respect])
                    outputs = try Session(graph: gradient.graph, options: threads.session).run(feeds)
                } catch let e as AscentError { throw e.inFile(model.model) }
                emit("\(objective.summary): \(Self.listing(outputs[objective.value]!.floats()))\n")
                let grad = outputs[gradient.gradients[respect]!]!
                try NumPy.write(grad, to: output)
                emit("wrote \(output) (d/d \(respect), \(grad)): \(Self.summary(grad.floats()))\n")
            }
        }

        /// The objective values, `%.6g` each: all of up to 16, else the first 16, their count and sum.
        static func listing(_ values: [Float]) -> String {
            let shown = values.prefix(16).map { String(format: "%.6g", $0) }.joined(separator: " ")
            guard values.count > 16 else { return shown }
            return shown + String(format: " … (%d values, sum %.6g)", values.count, values.reduce(0.0) { $0 + Double($1) })
        }

        /// `L2 norm 0.0123, min -0.004, max 0.0051` (NaN when a value is not finite).
        static func summary(_ values: [Float]) -> String {
            var sum = 0.0, lo = Double.infinity, hi = -Double.infinity
            for v in values.map(Double.init) {
                sum += v * v
                lo = Swift.min(lo, v)
                hi = Swift.max(hi, v)
                if v.isNaN { (lo, hi) = (.nan, .nan) }
            }
            if values.isEmpty { (lo, hi) = (0, 0) }
            return String(format: "L2 norm %.6g, min %.6g, max %.6g", sum.squareRoot(), lo, hi)
        }
    }
}
