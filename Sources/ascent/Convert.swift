import ArgumentParser
import AscentIR

extension Ascent {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a model to the native .ascent file (safetensors-compatible).")

        @Argument(help: "The model to convert: .onnx, .h5, .keras or .ascent.")
        var input: String

        @Option(name: .shortAndLong, help: "The output file (.ascent).")
        var output: String

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            guard output.lowercased().hasSuffix(".ascent") else {
                throw ValidationError("--output must end in .ascent (ONNX export is not available yet)")
            }
        }

        func run() throws {
            try reportingErrors {
                let loaded = try loadModel(input, config: config)
                try AscentFile.write(loaded.graph, to: output)
                emit("wrote \(output) (\(loaded.graph.nodes.count) nodes, \(loaded.graph.parameterCount) parameters)\n")
            }
        }
    }
}
