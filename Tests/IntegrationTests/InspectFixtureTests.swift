import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// Every `.onnx` file under `Fixtures/`, relative to it: the ones import must refuse, and the rest.
enum ONNXFixtureFiles {
    /// Files that exist to be refused (broken initializers, string constants, unsafe external data...).
    static let refused: Set<String> = {
        var out: Set<String> = ["onnx/constant_string.onnx", "onnx/truncated.onnx"]
        for name in ["complex", "negative_dim", "no_data", "overflow", "raw_size", "string", "typed_count"] {
            out.insert("onnx/bad_\(name).onnx")
        }
        for name in ["absolute", "bad_length", "dotdot", "missing", "negative_offset", "past_end", "symlink"] {
            out.insert("onnx/external/\(name).onnx")
        }
        return out
    }()

    /// Every `.onnx` file, sorted (a fuzzing corpus under `fuzz/` is no fixture).
    static let all: [String] = {
        let root = TestPaths.fixture("").standardizedFileURL.path
        var found: [String] = []
        for case let url as URL in FileManager.default.enumerator(at: TestPaths.fixture(""), includingPropertiesForKeys: nil)!
        where url.pathExtension == "onnx" {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.count)).trimmingCharacters(in: ["/"])
            if !relative.hasPrefix("fuzz/") { found.append(relative) }
        }
        return found.sorted()
    }()

    /// The files Ascent imports.
    static var loadable: [String] { all.filter { !refused.contains($0) } }
}

/// `ascent inspect --format json` against the tools that define the formats: on every ONNX fixture
/// the node count, op histogram, node names, inputs, outputs and weight count are what the `onnx`
/// package reports (live); on every Keras fixture file the parameter count is Keras's
/// `count_params()`, recorded when the fixture was written.
@Suite struct InspectFixtureTests {
    static func describe(_ arguments: [String]) throws -> ModelDescription {
        let r = try CLI.run(["inspect"] + arguments + ["--format", "json"])
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        return try JSONDecoder().decode(ModelDescription.self, from: Data(r.stdout.utf8))
    }

    @Test func everyONNXFixtureMatchesTheOnnxPackage() throws {
        let files = ONNXFixtureFiles.loadable
        #expect(files.count >= 24, "\(files)")
        let paths = files.map { TestPaths.fixture($0).path }
        let (status, output) = try ReferencePython.script("checks/onnx_summary.py", paths)
        try #require(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").last)
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [String: Any]])
        for (file, path) in zip(files, paths) {
            let ours = try Self.describe([path])
            let theirs = try #require(reference[path], "\(file)")
            let ops = try #require(theirs["nodes"] as? [String], "\(file): \(theirs["error"] ?? "")")
            #expect(ours.format == "onnx")
            #expect(ours.nodes.count == ops.count, "\(file): \(ours.nodes.count) nodes, onnx has \(ops.count)")
            let histogram = ours.nodes.reduce(into: [String: Int]()) { $0[$1.op, default: 0] += 1 }
            #expect(histogram == theirs["histogram"] as? [String: Int], "\(file): \(histogram) vs \(theirs["histogram"] ?? "")")
            #expect(ours.nodes.map(\.op) == ops, "\(file): node order")
            // Empty names are resolved as `<op>_<index>`; the others are the file's.
            let names = (theirs["names"] as? [String] ?? []).enumerated().map { $1.isEmpty ? "\(ops[$0])_\($0)" : $1 }
            #expect(ours.nodes.map(\.name) == names, "\(file)")
            #expect(ours.parameters == theirs["initializer_scalars"] as? Int, "\(file): \(ours.parameters) parameters")
            #expect(ours.inputs.map(\.name) == theirs["inputs"] as? [String], "\(file)")
            #expect(ours.outputs.map(\.name) == theirs["outputs"] as? [String], "\(file)")
        }
    }

    @Test func refusedONNXFixturesAreRefused() throws {
        #expect(ONNXFixtureFiles.refused.isSubset(of: ONNXFixtureFiles.all), "a refused fixture is missing")
        for file in ONNXFixtureFiles.refused.sorted() {
            let r = try CLI.run(["inspect", TestPaths.fixture(file).path, "--format", "json"])
            #expect(r.status == 65 || r.status == 66, "\(file): exit \(r.status)")
            #expect(r.stdout.isEmpty && r.stderr.split(separator: "\n").count == 1, "\(file): \(r.stderr)")
        }
    }

    /// A Keras fixture file, the arguments that read it, and Keras's count.
    struct KerasFile: CustomStringConvertible, Sendable {
        var arguments: [String]
        var countParams: Int
        var description: String { arguments.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " ") }
    }

    /// Every Keras model file under `Fixtures/`: each saved format, the Keras 2 copies, and
    /// weights-only files with their architecture JSON.
    static let kerasFiles: [KerasFile] = {
        let fm = FileManager.default
        func json(_ relative: String) -> [String: Any] {
            let data = (try? Data(contentsOf: TestPaths.fixture(relative))) ?? Data()
            return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
        }
        func path(_ relative: String) -> String? {
            let p = TestPaths.fixture(relative).path
            return fm.fileExists(atPath: p) ? p : nil
        }
        var out: [KerasFile] = []
        let root = TestPaths.fixture("keras").path
        for name in TestPaths.list("keras") {
            guard let count = json("keras/\(name)/meta.json")["count_params"] as? Int else { continue }
            for file in ["model.h5", "model.keras", "model_keras2.h5"] {
                if let p = path("keras/\(name)/\(file)") { out.append(KerasFile(arguments: [p], countParams: count)) }
            }
            for (weights, config) in [("model.weights.h5", "model.json"), ("model_keras2_weights.h5", "model_keras2.json")] {
                if let w = path("keras/\(name)/\(weights)"), let c = path("keras/\(name)/\(config)") {
                    out.append(KerasFile(arguments: [w, "--config", c], countParams: count))
                }
            }
        }
        if let count = json("digits/metadata.json")["count_params"] as? Int {
            for file in ["digits.h5", "digits.keras"] {
                if let p = path("digits/\(file)") { out.append(KerasFile(arguments: [p], countParams: count)) }
            }
        }
        let custom = json("keras-custom/meta.json")["count_params"] as? [String: Int] ?? [:]
        for (stem, count) in custom.sorted(by: { $0.key < $1.key }) {
            for ext in ["h5", "keras"] {
                if let p = path("keras-custom/\(stem).\(ext)") { out.append(KerasFile(arguments: [p], countParams: count)) }
            }
            if let w = path("keras-custom/\(stem).weights.h5"), let c = path("keras-custom/\(stem).json") {
                out.append(KerasFile(arguments: [w, "--config", c], countParams: count))
            }
        }
        return out
    }()

    @Test func everyKerasFixtureFileIsListed() throws {
        // Every .h5/.keras model file under the Keras fixture folders is among the checked files.
        let listed = Set(Self.kerasFiles.map { URL(fileURLWithPath: $0.arguments[0]).standardizedFileURL.path })
        var missing: [String] = []
        for folder in ["keras", "keras-custom", "digits"] {
            let root = TestPaths.fixture(folder)
            for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
            where ["h5", "keras"].contains(url.pathExtension) {
                if !listed.contains(url.standardizedFileURL.path) { missing.append(url.path) }
            }
        }
        #expect(missing.isEmpty, "not checked: \(missing)")
        #expect(Self.kerasFiles.count >= 70, "the README counts 70 Keras fixture files, \(Self.kerasFiles.count) found")
    }

    @Test(arguments: kerasFiles)
    func kerasParameterCountIsKeras(_ file: KerasFile) throws {
        let ours = try Self.describe(file.arguments)
        #expect(ours.parameters == file.countParams, "\(file): \(ours.parameters), Keras counts \(file.countParams)")
        #expect(ours.format == (file.arguments[0].hasSuffix(".keras") ? "keras" : "keras-h5"))
        #expect(ours.producer?.hasPrefix("keras ") == true, "\(file): \(ours.producer ?? "nil")")
    }
}
