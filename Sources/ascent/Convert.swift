import ArgumentParser
import AscentIR
import AscentONNX

extension Ascent {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a model to the native .ascent file (safetensors-compatible) or to ONNX.",
            discussion: """
            The output's extension picks the format. ONNX export writes one opset of the default \
            domain (--opset, \(ONNXExporter.supportedOpsets.lowerBound) to \(ONNXExporter.supportedOpsets.upperBound), \
            default \(ONNXExporter.defaultOpset), or the first opset with the model's newest dtype: 21 for int4 \
            weights); Keras models keep their NHWC inputs and outputs. \
            A model with unsupported nodes cannot be exported: the error lists them all.
            """)

        @OptionGroup var model: ModelOptions

        @Option(name: .shortAndLong, help: "The output file: .ascent or .onnx.")
        var output: String

        @Option(help: "ONNX opset to write (\(ONNXExporter.supportedOpsets.lowerBound)...\(ONNXExporter.supportedOpsets.upperBound), default \(ONNXExporter.defaultOpset)); .onnx output only.")
        var opset: Int?

        @Flag(help: "Store the ONNX initializers of 1 KiB or more in OUT.onnx.data beside the model (ONNX external data; needed beyond 2 GiB).")
        var externalData = false

        private var writesONNX: Bool { output.lowercased().hasSuffix(".onnx") }

        func validate() throws {
            guard writesONNX || output.lowercased().hasSuffix(".ascent") else {
                throw ValidationError("--output must end in .ascent or .onnx")
            }
            if externalData, !writesONNX { throw ValidationError("--external-data applies only to .onnx output") }
            if let opset {
                guard writesONNX else { throw ValidationError("--opset applies only to .onnx output") }
                let range = ONNXExporter.supportedOpsets
                guard range.contains(opset) else {
                    throw ValidationError("--opset \(opset) is not supported: use \(range.lowerBound) to \(range.upperBound)")
                }
            }
        }

        func run() throws {
            try reportingErrors {
                try checkOutput(output, option: "--output")
                let loaded = try model.load()
                if writesONNX {
                    let sidecar = externalData ? output.split(separator: "/").last.map { String($0) + ".data" } : nil
                    let options = ONNXExporter.Options(opset: opset ?? ONNXExporter.defaultOpset(for: loaded.graph),
                                                       producerVersion: Ascent.configuration.version, externalData: sidecar)
                    let summary: ONNXExporter.Summary
                    do {
                        summary = try ONNXExporter.write(loaded.graph, to: output, options: options)
                    } catch let e as AscentError {
                        throw e.file == nil ? e.inFile(model.model) : e
                    }
                    let transposes = summary.ops[OpDefinition.transpose.name] ?? 0
                    let external = sidecar.map { ", \(summary.externalInitializers) of them in \($0)" } ?? ""
                    emit("wrote \(output) (ONNX opset \(summary.opset), \(summary.nodes) nodes, "
                         + "\(transposes) transpose\(transposes == 1 ? "" : "s"), "
                         + "\(summary.initializers) initializers\(external), \(loaded.graph.parameterCount) parameters)\n")
                } else {
                    try AscentFile.write(loaded.graph, to: output)
                    emit("wrote \(output) (\(loaded.graph.nodes.count) nodes, \(loaded.graph.parameterCount) parameters)\n")
                }
            }
        }
    }
}
