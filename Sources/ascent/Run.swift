import ArgumentParser
import AscentImage
import AscentIR
import AscentRuntime
import Foundation

extension Ascent {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a model forward on .npy or PNG inputs; print the top classes, write outputs as .npy.",
            discussion: """
            Inputs are matched to the model's inputs by name (NAME=FILE) or in order. A PNG becomes a \
            float32 [1,H,W,C] tensor of pixel × --scale (default 1/255, so values in [0,1]), moved to \
            [1,C,H,W] when the model's input is channels-first.
            """)

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(name: .customLong("input"), help: "An input as [NAME=]FILE (.npy or .png); repeat for several inputs.")
        var inputs: [String] = []

        @Option(help: "Folder to write each output to, as <output name>.npy.")
        var outputDir: String?

        @Option(help: "How many top classes to print for a classifier output.")
        var top: Int = 5

        @Option(help: "Threads for the CPU kernels (default: all cores).")
        var threads: Int?

        @Option(help: "Factor applied to PNG pixel values (0...255).")
        var scale: Float = 1.0 / 255.0

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws {
            guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let loaded = try loadModel(model, config: config)
                if inputs.isEmpty && !loaded.graph.inputs.isEmpty {
                    let names = loaded.graph.inputs.map(\.name).joined(separator: ", ")
                    throw AscentError(.usage, "give at least one --input (model inputs: \(names))")
                }
                var options = Session.Options()
                if let threads { options.threads = threads }
                let session: Session
                do { session = try Session(graph: loaded.graph, options: options) } catch let e as AscentError { throw e.inFile(model) }
                let feeds = try InputFeeds.load(inputs, for: loaded.graph, scale: scale)
                let outputs: [String: Tensor]
                do { outputs = try session.run(feeds) } catch let e as AscentError { throw e.inFile(model) }
                for name in loaded.graph.outputs.map(\.name) {
                    guard let t = outputs[name] else { continue }
                    emit(OutputReport.describe(name: name, tensor: t, top: top))
                    if let dir = outputDir {
                        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                        let path = (dir as NSString).appendingPathComponent(OutputReport.fileName(name) + ".npy")
                        try NumPy.write(t, to: path)
                        emit("  wrote \(path)\n")
                    }
                }
            }
        }
    }
}

/// Turns `--input` arguments into named tensors.
enum InputFeeds {
    static func load(_ arguments: [String], for graph: Graph, scale: Float) throws -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        for (i, argument) in arguments.enumerated() {
            var name: String
            var path = argument
            if let eq = argument.firstIndex(of: "="), !FileManager.default.fileExists(atPath: argument) {
                name = String(argument[..<eq])
                path = String(argument[argument.index(after: eq)...])
                guard graph.inputs.contains(where: { $0.name == name }) else {
                    let known = graph.inputs.map(\.name).joined(separator: ", ")
                    throw AscentError(.usage, "model has no input '\(name)' (inputs: \(known))")
                }
            } else {
                guard i < graph.inputs.count else {
                    throw AscentError(.usage, "model has \(graph.inputs.count) inputs, got \(arguments.count) --input files")
                }
                name = graph.inputs[i].name
            }
            feeds[name] = try tensor(path, for: graph.inputs.first { $0.name == name }!, scale: scale)
        }
        return feeds
    }

    static func tensor(_ path: String, for input: ValueInfo, scale: Float) throws -> Tensor {
        guard !path.lowercased().hasSuffix(".png") else {
            var t = try PNG.read(path: path).tensor(scale: scale)
            if let dims = input.type.shape?.dims, dims.count == 4, dims[1].value == t.shape[3], dims[3].value != t.shape[3] {
                t = try t.transposed([0, 3, 1, 2])  // NHWC picture → NCHW model
            }
            return t
        }
        return try NumPy.read(path: path)
    }
}

/// What `ascent run` prints for each output.
enum OutputReport {
    /// `<name>` with characters outside `[A-Za-z0-9._-]` replaced by `_`.
    static func fileName(_ name: String) -> String {
        String(name.unicodeScalars.map { c -> Character in
            (c.isASCII && (CharacterSet.alphanumerics.contains(c) || "._-".unicodeScalars.contains(c))) ? Character(c) : "_"
        })
    }

    static func describe(name: String, tensor t: Tensor, top: Int) -> String {
        var out = "\(name): \(t)"
        let values = t.doubles()
        let isClassifier = t.dtype.isFloatingPoint && (1...2).contains(t.shape.count) && (t.shape.last ?? 0) >= 2
        guard isClassifier, top > 0 else {
            if let lo = values.min(), let hi = values.max() {
                out += String(format: "  min %.6g  max %.6g  mean %.6g", lo, hi, values.reduce(0, +) / Double(values.count))
            }
            return out + "\n"
        }
        out += "\n"
        let classes = t.shape.last!
        for row in 0..<(values.count / classes) {
            let slice = values[(row * classes)..<((row + 1) * classes)]
            let best = slice.indices.sorted { slice[$0] > slice[$1] || (slice[$0] == slice[$1] && $0 < $1) }.prefix(top)
            let items = best.map { String(format: "%d (%.4f)", $0 - row * classes, slice[$0]) }
            out += "  \(t.shape.count == 2 ? "[\(row)] " : "")top \(best.count): " + items.joined(separator: ", ") + "\n"
        }
        return out
    }
}
