import AscentIR
import Foundation

/// Every ONNX file under `Fixtures/`, sorted into the ones a runtime can run (with their inputs and,
/// where the generator stored them, reference outputs) and the ones that exist to be refused.
///
/// Used by the live onnxruntime cross-check (IntegrationTests) and the `ascent run` test (ascentTests).
/// A new `.onnx` fixture must be listed here; `ONNXFixtures.unclassified` names any that are not.
public enum ONNXFixtures {
    /// An input drawn at test time (seeded): float32 roughly N(0,1), or int64 uniform in `integers`.
    public struct GeneratedInput: Sendable {
        public var name: String
        public var shape: [Int]
        public var integers: Range<Int64>? = nil
    }

    /// One runnable model with one set of inputs.
    public struct Case: Sendable, CustomStringConvertible {
        /// A short label, e.g. `keras/mlp` or `onnx-models/tiny_lm/batch3_seq9`.
        public var name: String
        /// The model, relative to `Fixtures/`.
        public var model: String
        /// Input files relative to `Fixtures/`, in the order of the model's inputs.
        public var inputFiles: [String] = []
        /// Inputs written at test time, fed by name (graph inputs that are also initializers left out).
        public var generated: [GeneratedInput] = []
        /// Stored reference outputs (relative to `Fixtures/`) in the order of the graph's outputs, if any.
        public var references: [String] = []
        /// Why onnxruntime cannot run it, if it cannot.
        public var onnxruntimeRefuses: String?

        public var description: String { name }

        /// `[NAME=]FILE` arguments (absolute paths) for `ascent run` and `Tools/checks/run_onnxruntime.py`;
        /// generated inputs are written into `folder` first.
        public func inputArguments(in folder: URL) throws -> [String] {
            var arguments = inputFiles.map { TestPaths.fixture($0).path }
            for (k, input) in generated.enumerated() {
                var random = SeededRandom(name: "\(name) \(k)")
                let path = folder.appendingPathComponent("\(name.replacingOccurrences(of: "/", with: "_"))_\(input.name).npy").path
                if let range = input.integers {
                    let values = (0..<input.shape.reduce(1, *)).map { _ in range.lowerBound + Int64(random.nextUnit() * Double(range.count)) }
                    try NumPy.write(Tensor(shape: input.shape, scalars: values), to: path)
                } else {
                    try NumPy.write(random.normal(input.shape), to: path)
                }
                arguments.append("\(input.name)=\(path)")
            }
            return arguments
        }
    }

    /// Models that are meant to be refused at import (or cannot run at all), with the reason.
    public static let notRunnable: [String: String] = {
        var out: [String: String] = [:]
        for bad in ["complex", "negative_dim", "no_data", "overflow", "raw_size", "string", "typed_count"] {
            out["onnx/bad_\(bad).onnx"] = "a broken or unsupported initializer (import refuses it)"
        }
        out["onnx/bad_uint64.onnx"] = "a uint64 initializer above Int64.max that nothing reads (imported by ONNXTensorImportTests)"
        out["onnx/constant_string.onnx"] = "a string Constant (import refuses it)"
        out["onnx/truncated.onnx"] = "a truncated file"
        out["onnx/unsupported.onnx"] = "unknown and non-default-domain ops (inspect only; running lists them)"
        for refused in ["absolute", "bad_length", "dotdot", "missing", "negative_offset", "past_end", "symlink"] {
            out["onnx/external/\(refused).onnx"] = "external data the importer must refuse"
        }
        return out
    }()

    /// Models with a sequence output, which the tensor-only harnesses (the live onnxruntime
    /// cross-check, `ascent run` over every fixture) leave to SequenceValueTests.
    public static let sequenceOutputs: Set<String> = ["onnx-control-flow/list_script/model.onnx"]

    /// Every runnable ONNX fixture with its inputs.
    public static let runnable: [Case] = {
        let fm = FileManager.default
        func files(_ folder: String, _ prefix: String) -> [String] {
            let names = TestPaths.list(folder)
            let matching = names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".npy") }
            // input_0, input_1, ... in numeric order
            return matching.sorted { index($0) < index($1) }.map { "\(folder)/\($0)" }
        }
        func subfolders(_ folder: String) -> [String] {
            let names = TestPaths.list(folder)
            return names.filter {
                var isDir: ObjCBool = false
                return fm.fileExists(atPath: TestPaths.fixture("\(folder)/\($0)").path, isDirectory: &isDir) && isDir.boolValue
            }.sorted()
        }
        var cases: [Case] = [Case(name: "digits", model: "digits/digits.onnx", inputFiles: ["digits/inputs.npy"],
                                  references: ["digits/onnx_probs.npy"])]
        for model in subfolders("keras") where fm.fileExists(atPath: TestPaths.fixture("keras/\(model)/model.onnx").path) {
            cases.append(Case(name: "keras/\(model)", model: "keras/\(model)/model.onnx",
                              inputFiles: files("keras/\(model)", "inputs_"),
                              references: files("keras/\(model)", "onnx_outputs_")))
        }
        let oldKernels = ["add6_broadcast": "Add-6", "batchnorm6": "BatchNormalization-6", "cast5": "Cast-5"]
        for name in subfolders("onnx/opsets") {
            var c = Case(name: "onnx/opsets/\(name)", model: "onnx/opsets/\(name)/model.onnx",
                         inputFiles: files("onnx/opsets/\(name)", "input_"),
                         references: files("onnx/opsets/\(name)", "output_"))
            if let op = oldKernels[name] { c.onnxruntimeRefuses = "onnxruntime 1.32 has no \(op) kernel (opset < 7)" }
            cases.append(c)
        }
        // Exporter-style declarations and every dtype at the boundary (Tools/fixtures/onnx_boundary.py).
        for name in subfolders("onnx-boundary") {
            cases.append(Case(name: "onnx-boundary/\(name)", model: "onnx-boundary/\(name)/model.onnx",
                              inputFiles: files("onnx-boundary/\(name)", "input_"),
                              references: files("onnx-boundary/\(name)", "output_")))
        }
        cases.append(Case(name: "onnx/graph", model: "onnx/graph.onnx",
                          generated: [GeneratedInput(name: "x", shape: [2, 3, 8, 8]), GeneratedInput(name: "y", shape: [2, 4, 6, 6])]))
        cases.append(Case(name: "onnx/constants", model: "onnx/constants.onnx", references: files("onnx/constants", "out_")))
        cases.append(Case(name: "onnx/encodings", model: "onnx/encodings.onnx", generated: [GeneratedInput(name: "x", shape: [1])]))
        for name in ["good", "linked"] {
            cases.append(Case(name: "onnx/external/\(name)", model: "onnx/external/\(name).onnx",
                              generated: [GeneratedInput(name: "x", shape: [1])]))
        }
        for model in subfolders("onnx-models") {
            for shape in subfolders("onnx-models/\(model)") {
                let folder = "onnx-models/\(model)/\(shape)"
                cases.append(Case(name: folder, model: "onnx-models/\(model)/model.onnx",
                                  inputFiles: files(folder, "input_"), references: files(folder, "output_")))
            }
        }
        // Control flow (If, Loop, Scan): PyTorch exports, onnxruntime's outputs per case. (The model
        // with a sequence output is run, compared and round-tripped by SequenceValueTests.)
        for model in subfolders("onnx-control-flow") where !sequenceOutputs.contains("onnx-control-flow/\(model)/model.onnx") {
            for name in subfolders("onnx-control-flow/\(model)") {
                let folder = "onnx-control-flow/\(model)/\(name)"
                cases.append(Case(name: folder, model: "onnx-control-flow/\(model)/model.onnx",
                                  inputFiles: files(folder, "input_"), references: files(folder, "output_")))
            }
        }
        // The PyTorch models of the attribution references (their logits as PyTorch computed them).
        for model in ["cnn", "conv1d"] {
            cases.append(Case(name: "explain/\(model)", model: "explain/\(model)/model.onnx",
                              inputFiles: ["explain/\(model)/input.npy"], references: ["explain/\(model)/logits.npy"]))
        }
        // The probe models exported from PyTorch (Tools/fixtures/probe_torch.py) at each of their cases.
        for model in subfolders("probe-torch") {
            for c in subfolders("probe-torch/\(model)") {
                let folder = "probe-torch/\(model)/\(c)"
                let inputs = ["x", "wave", "h0"].map { "\(folder)/\($0).npy" }.filter { fm.fileExists(atPath: TestPaths.fixture($0).path) }
                cases.append(Case(name: folder, model: "probe-torch/\(model)/model.onnx", inputFiles: inputs,
                                  references: files(folder, "output_")))
            }
        }
        // Further dynamic shapes, onnxruntime's outputs computed live: a long sequence and a sequence of one.
        for (batch, seq) in [(1, 17), (4, 1)] {
            for model in ["transformer_block", "transformer_block_dynamo"] {
                cases.append(Case(name: "onnx-models/\(model)/batch\(batch)_seq\(seq)", model: "onnx-models/\(model)/model.onnx",
                                  generated: [GeneratedInput(name: "x", shape: [batch, seq, 32])]))
            }
            cases.append(Case(name: "onnx-models/tiny_lm/batch\(batch)_seq\(seq)", model: "onnx-models/tiny_lm/model.onnx",
                              generated: [GeneratedInput(name: "tokens", shape: [batch, seq], integers: 0..<50)]))
        }
        return cases
    }()

    /// `.onnx` files under `Fixtures/` (but `fuzz/`) that are neither runnable cases nor listed in `notRunnable`.
    public static var unclassified: [String] {
        let root = TestPaths.fixture("")
        let known = Set(runnable.map(\.model)).union(notRunnable.keys).union(sequenceOutputs)
        var found: [String] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.pathExtension == "onnx" {
                let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count))
                    .trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                // Fuzzing seeds (Fixtures/fuzz) are inputs for the fuzzers, not models to run; onnxruntime's
                // tools' outputs (Fixtures/onnx-ort) are run by ONNXRuntimeToolsTests against onnxruntime with
                // its graph optimizations off (at its default level it computes QDQ models differently).
                if !known.contains(relative) && !relative.hasPrefix("fuzz/") && !relative.hasPrefix("onnx-ort/") {
                    found.append(relative)
                }
            }
        }
        return found.sorted()
    }

    private static func index(_ file: String) -> Int {
        let digits = file.dropLast(4).reversed().prefix { $0.isNumber }
        return Int(String(digits.reversed())) ?? 0
    }
}
