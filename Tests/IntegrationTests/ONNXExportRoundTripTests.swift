import AscentIR
import AscentKeras
import AscentONNX
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// ONNX export end to end: every Keras fixture model exported and checked by the reference tools
/// (`onnx.checker.check_model(full_check=True)`, onnxruntime against Keras's outputs), exported ONNX
/// models imported back, ONNX models re-exported, and `ascent convert ... --output x.onnx`.
@Suite struct ONNXExportRoundTripTests {
    /// A Keras model with its reference inputs and outputs.
    struct Model: CustomStringConvertible, Sendable {
        var name: String
        var file: String
        var inputs: [String]
        var outputs: [String]
        var description: String { name }
    }

    /// `Fixtures/keras/*/model.h5` (`model.keras` where there is no `.h5`) and `Fixtures/digits/digits.h5`.
    static let models: [Model] = {
        let root = TestPaths.fixture("keras")
        let fm = FileManager.default
        var out: [Model] = []
        for name in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            let dir = root.appendingPathComponent(name)
            let files = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
            guard let model = ["model.h5", "model.keras"].first(where: files.contains) else { continue }
            func numbered(_ prefix: String) -> [String] {
                (0..<10).map { "\(prefix)_\($0).npy" }.filter(files.contains).map { dir.appendingPathComponent($0).path }
            }
            out.append(Model(name: name, file: dir.appendingPathComponent(model).path,
                             inputs: numbered("inputs"), outputs: numbered("outputs")))
        }
        let digits = TestPaths.fixture("digits")
        out.append(Model(name: "digits", file: digits.appendingPathComponent("digits.h5").path,
                         inputs: [digits.appendingPathComponent("inputs.npy").path],
                         outputs: [digits.appendingPathComponent("keras_probs.npy").path]))
        return out
    }()

    static func check(_ cases: [(model: String, inputs: [String], outputs: [String])], in dir: URL) throws -> [[String: Any]] {
        let list = cases.map { ["model": $0.model, "inputs": $0.inputs, "outputs": $0.outputs] as [String: Any] }
        let manifest = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: list).write(to: manifest)
        let (_, output) = try ReferencePython.script("checks/check_onnx.py", ["--batch", manifest.path])
        let line = try #require(output.split(separator: "\n").last, "check_onnx.py printed nothing")
        let json = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "check_onnx.py: \(output)")
        let results = try #require(json["results"] as? [[String: Any]])
        try #require(results.count == cases.count)
        return results
    }

    static func failure(_ r: [String: Any]) -> String? {
        r["ok"] as? Bool == true ? nil : "\(r["error"] ?? "") \(r["outputs"] ?? "")"
    }

    @Test func fixturesAreThere() {
        #expect(Self.models.count >= 11)
        #expect(Self.models.contains { $0.name == "mobilenetv2" && $0.file.hasSuffix("model.keras") })
    }

    /// Every model at opset 17 (and 13 and 21): passes the checker, onnxruntime matches Keras,
    /// transposes stay at the ends of channels-last chains (none reads another), Keras layer names
    /// name the nodes.
    @Test func kerasModelsExportAndMatchKerasInOnnxruntime() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-keras")
        var cases: [(model: String, inputs: [String], outputs: [String])] = []
        var expectations: [(label: String, maxTransposes: Int, layers: [String])] = []
        for m in Self.models {
            let graph = try KerasImporter.load(path: m.file)
            // Transposes the model asks for (Permute layers) plus, with channels-last convolutions or
            // pooling, one where each channels-last chain starts (an image input or an embedding).
            let windows = graph.nodes.contains { $0.attributes["data_format"]?.string == "NHWC" }
            let images = graph.inputs.filter { $0.type.layout != nil && $0.type.layout != .nc && $0.type.layout!.isChannelsLast }.count
            let maxTransposes = graph.nodes.filter { $0.op == "Transpose" }.count + (windows ? max(1, images) : 0)
            let layers = Set(graph.nodes.filter { ["Conv", "MatMul", "BatchNormalization"].contains($0.op) }.map(\.name)).sorted()
            for opset in [17, 13, 21] {
                let path = dir.appendingPathComponent("\(m.name)_\(opset).onnx").path
                try ONNXExporter.write(graph, to: path, options: .init(opset: opset))
                cases.append((path, m.inputs, m.outputs))
                expectations.append(("\(m.name) at opset \(opset)", maxTransposes, layers))
            }
        }
        let results = try Self.check(cases, in: dir)
        for (e, r) in zip(expectations, results) {
            #expect(Self.failure(r) == nil, "\(e.label): \(Self.failure(r) ?? "")")
            #expect(r["checker"] as? String == "passed", "\(e.label)")
            #expect(r["producer"] as? String == "ascent")
            #expect(r["transpose_chains"] as? Int == 0, "\(e.label): a Transpose reads another")
            let transposes = (r["ops"] as? [String: Int])?["Transpose"] ?? 0
            #expect(transposes <= e.maxTransposes, "\(e.label): \(transposes) transposes")
            let names = Set(r["node_names"] as? [String] ?? [])
            for layer in e.layers { #expect(names.contains(layer), "\(e.label): no node named '\(layer)'") }
            #expect((r["outputs"] as? [Any])?.isEmpty == false, "\(e.label): no output compared")
        }
        // The channels-last conv models need just the input's transpose.
        for name in ["cnn_bn", "mobilenetv2", "residual", "separable", "digits", "text_conv1d"] {
            let i = try #require(expectations.firstIndex { $0.label == "\(name) at opset 17" })
            #expect((results[i]["ops"] as? [String: Int])?["Transpose"] == 1, "\(name): \(results[i]["ops"] ?? "")")
            #expect((results[i]["ops"] as? [String: Int])?["BatchNormalization"] == nil)
        }
    }

    /// The exported files, imported back by Ascent and run by Ascent's runtime, still match Keras.
    @Test(arguments: models)
    func exportedModelsImportBackAndMatchKeras(_ m: Model) throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-back")
        let path = dir.appendingPathComponent("model.onnx").path
        try ONNXExporter.write(try KerasImporter.load(path: m.file), to: path)
        let graph = try ONNXImporter.load(path: path)
        var feeds: [String: Tensor] = [:]
        for (input, file) in zip(graph.inputs, m.inputs) { feeds[input.name] = try NumPy.read(path: file) }
        let out = try Session(graph: graph).run(feeds)
        for (output, file) in zip(graph.outputs, m.outputs) {
            DigitsModelTests.expectClose(try #require(out[output.name]), try NumPy.read(path: file), "\(m) \(output.name)")
        }
    }

    /// ONNX models (tf2onnx's) imported, exported and imported again compute the same outputs, and
    /// the re-exported files pass the checker with onnxruntime matching the original's outputs.
    @Test func onnxModelsRoundTrip() throws {
        var sources: [(file: String, inputs: [String], outputs: [String])] = [
            (TestPaths.fixture("digits/digits.onnx").path, [TestPaths.fixture("digits/inputs.npy").path],
             [TestPaths.fixture("digits/onnx_probs.npy").path]),
        ]
        for m in Self.models {
            let dir = URL(fileURLWithPath: m.file).deletingLastPathComponent()
            let onnx = dir.appendingPathComponent("model.onnx").path
            guard FileManager.default.fileExists(atPath: onnx) else { continue }
            sources.append((onnx, m.inputs, m.outputs.map { $0.replacingOccurrences(of: "/outputs_", with: "/onnx_outputs_") }))
        }
        #expect(sources.count >= 5)
        let dir = try TestPaths.temporaryDirectory("onnx-export-roundtrip")
        var cases: [(model: String, inputs: [String], outputs: [String])] = []
        for (i, s) in sources.enumerated() {
            let first = try ONNXImporter.load(path: s.file)
            let path = dir.appendingPathComponent("roundtrip_\(i).onnx").path
            try ONNXExporter.write(first, to: path)
            let second = try ONNXImporter.load(path: path)
            #expect(second.inputs.map(\.name) == first.inputs.map(\.name), "\(s.file)")
            #expect(second.outputs.map(\.name) == first.outputs.map(\.name), "\(s.file)")
            #expect(second.inputs.map(\.type) == first.inputs.map(\.type), "\(s.file)")
            var feeds: [String: Tensor] = [:]
            for (input, file) in zip(first.inputs, s.inputs) { feeds[input.name] = try NumPy.read(path: file) }
            let a = try Session(graph: first).run(feeds), b = try Session(graph: second).run(feeds)
            for output in first.outputs {
                let x = try #require(a[output.name]), y = try #require(b[output.name])
                #expect(x.shape == y.shape)
                let diff = zip(x.doubles(), y.doubles()).map { abs($0 - $1) }.max() ?? 0
                #expect(diff <= 1e-6 * max(1, x.doubles().map(abs).max() ?? 0), "\(s.file) \(output.name): \(diff)")
            }
            cases.append((path, s.inputs, s.outputs))
        }
        for (s, r) in zip(sources, try Self.check(cases, in: dir)) {
            #expect(Self.failure(r) == nil, "\(s.file): \(Self.failure(r) ?? "")")
            #expect(r["transpose_chains"] as? Int == 0, "\(s.file)")
        }
    }

    // MARK: - Command line

    @Test func convertWritesONNXAtTheAskedOpset() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-cli")
        let out = dir.appendingPathComponent("digits.onnx").path
        let r = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", out, "--opset", "13"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("wrote \(out) (ONNX opset 13, "), "\(r.stdout)")
        let check = try ReferencePython.script("checks/check_onnx.py", [
            out, "--input", TestPaths.fixture("digits/inputs.npy").path, "--output", TestPaths.fixture("digits/keras_probs.npy").path,
        ])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("\"opset\": 13"))
        // The default opset is 17.
        let d = try CLI.run(["convert", "Fixtures/digits/digits.keras", "--output", out])
        #expect(d.status == 0 && d.stdout.contains("(ONNX opset 17, "), "\(d.stderr)")
    }

    @Test func convertRefusesBadOpsetsAndUnsupportedModels() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-cli")
        let out = dir.appendingPathComponent("m.onnx").path
        for opset in ["12", "22"] {
            let r = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", out, "--opset", opset])
            #expect(r.status == 64 && r.stderr.contains("--opset \(opset) is not supported: use 13 to 21"), "\(r.stderr)")
        }
        let ascent = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", dir.appendingPathComponent("m.ascent").path,
                                  "--opset", "17"])
        #expect(ascent.status == 64 && ascent.stderr.contains("--opset applies only to .onnx output"), "\(ascent.stderr)")
        let other = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", dir.appendingPathComponent("m.pb").path])
        #expect(other.status == 64 && other.stderr.contains("--output must end in .ascent or .onnx"), "\(other.stderr)")
        let unsupported = try CLI.run(["convert", "Fixtures/onnx/unsupported.onnx", "--output", out])
        #expect(unsupported.status == 65)
        #expect(unsupported.stderr.hasPrefix("ascent: Fixtures/onnx/unsupported.onnx: cannot export to ONNX opset 17: "), "\(unsupported.stderr)")
        #expect(unsupported.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
