import ArgumentParser
import AscentIR
import AscentModel
import AscentRuntime
import Foundation

extension Ascent {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a model forward on .npy or PNG inputs; print the top classes, write outputs as .npy.",
            discussion: """
            Inputs are matched to the model's inputs by name (NAME=FILE) or in order. A PNG becomes a \
            float32 [1,H,W,C] tensor of pixel × --scale (default 1/255, so values in [0,1]), moved to \
            [1,C,H,W] when the model's input is channels-first; --resize fits a picture of another size \
            or colour model to the input.
            """)

        @OptionGroup var model: ModelOptions
        @OptionGroup var inputs: InputFileOptions

        @Option(help: "Folder to write each output to, as <output name>.npy.")
        var outputDir: String?

        @Option(help: "How many top classes to print for a classifier output.")
        var top: Int = 5

        @OptionGroup var labels: LabelOptions
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
        }

        func run() throws {
            try reportingErrors {
                if let outputDir { try checkFolder(containing: outputDir, option: "--output-dir") }
                let loaded = try model.load()
                if inputs.inputs.isEmpty && !loaded.graph.inputs.isEmpty {
                    let names = loaded.graph.inputs.map(\.name).joined(separator: ", ")
                    throw AscentError(.usage, "give at least one --input (model inputs: \(names))")
                }
                let names = try labels.labels(for: loaded)
                let session: Session
                do { session = try Session(graph: loaded.graph, options: threads.session) } catch let e as AscentError { throw e.inFile(model.model) }
                let feeds = try inputs.valueFeeds(for: loaded)
                let outputs: [String: GraphValue]
                do { outputs = try session.run(values: feeds) } catch let e as AscentError { throw e.inFile(model.model) }
                for name in loaded.graph.outputs.map(\.name) {
                    guard let value = outputs[name] else { continue }
                    if let dir = outputDir { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
                    let path = outputDir.map { ($0 as NSString).appendingPathComponent(OutputReport.fileName(name)) }
                    switch value {
                    case .tensor(let t):
                        emit(OutputReport.describe(name: name, tensor: t, top: top, labels: names))
                        if let path {
                            try NumPy.write(t, to: path + ".npy")
                            emit("  wrote \(path).npy\n")
                        }
                    case .sequence(let ts):
                        // A sequence: a folder of its tensors in order, 0.npy, 1.npy... (empty for an empty sequence).
                        emit("\(name): sequence of \(ts.count) tensor\(ts.count == 1 ? "" : "s")\n")
                        for (k, t) in ts.enumerated() { emit(OutputReport.describe(name: "  [\(k)]", tensor: t, top: 0)) }
                        if let path {
                            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                            func file(_ k: Int) -> String { (path as NSString).appendingPathComponent("\(k).npy") }
                            for (k, t) in ts.enumerated() { try NumPy.write(t, to: file(k)) }
                            var stale = ts.count  // a longer sequence's tensors from an earlier run
                            while FileManager.default.fileExists(atPath: file(stale)) { try FileManager.default.removeItem(atPath: file(stale)); stale += 1 }
                            emit("  wrote \(path)/ (\(ts.count) tensor\(ts.count == 1 ? "" : "s"))\n")
                        }
                    case .none:
                        emit("\(name): none (an optional without a value; nothing written)\n")
                    }
                }
            }
        }
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

    /// `probs: float32[1,10]`, then for a classifier-shaped output the top classes of each row
    /// (`  [0] top 3: 7 seven (0.9990), ...`), else the value range.
    static func describe(name: String, tensor t: Tensor, top: Int, labels: ClassLabels? = nil) -> String {
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
            let items = best.map { i -> String in
                let k = i - row * classes
                return (labels?.describe(k) ?? "\(k)") + String(format: " (%.4f)", slice[i])
            }
            out += "  \(t.shape.count == 2 ? "[\(row)] " : "")top \(best.count): " + items.joined(separator: ", ") + "\n"
        }
        return out
    }
}
