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
        for name in TestPaths.list("keras") {
            let dir = root.appendingPathComponent(name)
            let files = TestPaths.list("keras/\(name)")
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
        for stem in ["extras", "transpose", "sequential"] {
            func custom(_ file: String) -> String { TestPaths.fixture("keras-custom/\(file)").path }
            out.append(Model(name: "keras-custom.\(stem)", file: custom("\(stem).h5"), inputs: [custom("\(stem)_inputs_0.npy")],
                             outputs: [custom("\(stem)_outputs_0.npy")]))
        }
        return out
    }()

    static func check(_ cases: [(model: String, inputs: [String], outputs: [String])], in dir: URL) throws -> [[String: Any]] {
        try check(cases.map { ["model": $0.model, "inputs": $0.inputs, "outputs": $0.outputs, "tolerance": kerasExportTolerance] }, in: dir)
    }

    /// Runs `Tools/checks/check_onnx.py --batch` on cases in its JSON form; one result per case.
    static func check(_ list: [[String: Any]], in dir: URL) throws -> [[String: Any]] {
        let manifest = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: list).write(to: manifest)
        let (_, output) = try ReferencePython.script("checks/check_onnx.py", ["--batch", manifest.path])
        let line = try #require(output.split(separator: "\n").last, "check_onnx.py printed nothing")
        let json = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "check_onnx.py: \(output)")
        let results = try #require(json["results"] as? [[String: Any]])
        try #require(results.count == list.count)
        return results
    }

    static func failure(_ r: [String: Any]) -> String? {
        r["ok"] as? Bool == true ? nil : "\(r["error"] ?? "") \(r["outputs"] ?? "")"
    }

    /// README (convert): ONNX fixtures sent through `.ascent` and back give onnxruntime's outputs
    /// on the original within 2e-6 (× max(1, max |reference|)).
    static let roundTripTolerance = 2e-6

    /// README (convert): exported Keras fixtures run in onnxruntime with Keras's numbers, worst
    /// difference 2.5e-5 × max(1, max |Keras|).
    static let kerasExportTolerance = 2.5e-5

    /// Models whose channels-last chains the layout pass does not yet join, with the transposes
    /// their export keeps (a known gap, not a numeric one: onnxruntime still gives Keras's numbers).
    /// `conv_lstm`: each step's NHWC convolutions read a state sliced out of a 5-D time-major value,
    /// so every step keeps its own pair; `preprocessing_3d`: `Resize` and `Conv3D` on channels-last values.
    static let transposesNotSunk = ["conv_lstm": 16, "preprocessing_3d": 4]

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
            let maxTransposes = max(graph.nodes.filter { $0.op == "Transpose" }.count + (windows ? max(1, images) : 0),
                                    Self.transposesNotSunk[m.name] ?? 0)
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
            expectClose(out[output.name], try NumPy.read(path: file), scaledTolerance: DigitsModelTests.kerasTolerance, "\(m) \(output.name)")
        }
    }

    /// Every Keras fixture file (each saved format, the Keras 2 copies, weights + architecture JSON)
    /// through `ascent convert` at the default opset: the file passes the full checker and onnxruntime
    /// gives Keras's outputs. The models with a custom layer class or a Lambda layer are refused
    /// (exit 65, naming the layer, no file written); with a converter registered the custom one
    /// exports too (below).
    @Test func everyKerasFixtureFileConvertsThroughTheCommandLine() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-keras-cli")
        let refused = ["keras-custom/model.h5": "scaled_tanh", "keras-custom/model.keras": "scaled_tanh",
                       "keras-custom/lambda.h5": "double"]
        var cases: [[String: Any]] = [], labels: [String] = []
        for (i, file) in InspectFixtureTests.kerasFiles.enumerated() {
            let source = URL(fileURLWithPath: file.arguments[0])
            let folder = source.deletingLastPathComponent(), name = source.lastPathComponent
            let key = folder.lastPathComponent + "/" + name
            let out = dir.appendingPathComponent("\(i).onnx").path
            let r = try CLI.run(["convert"] + file.arguments + ["--output", out])
            if let layer = refused[key] {
                #expect(r.status == 65 && r.stderr.contains("'\(layer)'"), "\(file): \(r.stderr)")
                #expect(!FileManager.default.fileExists(atPath: out))
                continue
            }
            try #require(r.status == 0, "\(file): \(r.stderr)")
            let here = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            let stem = String(name.prefix { $0 != "." })
            func numbered(_ prefix: String) -> [String] {
                (0..<10).map { "\(prefix)_\($0).npy" }.filter(here.contains).map { folder.appendingPathComponent($0).path }
            }
            let (inputs, outputs): ([String], [String])
            switch folder.lastPathComponent {
            case "digits": (inputs, outputs) = ([folder.appendingPathComponent("inputs.npy").path], [folder.appendingPathComponent("keras_probs.npy").path])
            case "keras-custom": (inputs, outputs) = (numbered("\(stem)_inputs"), numbered("\(stem)_outputs"))
            default: (inputs, outputs) = (numbered("inputs"), numbered("outputs"))
            }
            #expect(!inputs.isEmpty && !outputs.isEmpty, "\(file): no reference data")
            cases.append(["model": out, "inputs": inputs, "outputs": outputs, "tolerance": Self.kerasExportTolerance])
            labels.append(file.description)
        }
        #expect(cases.count + refused.count == InspectFixtureTests.kerasFiles.count)
        for (label, r) in zip(labels, try Self.check(cases, in: dir)) {
            #expect(Self.failure(r) == nil, "\(label): \(Self.failure(r) ?? "")")
            #expect(r["checker"] as? String == "passed" && r["opset"] as? Int == 17, "\(label)")
            #expect((r["outputs"] as? [Any])?.isEmpty == false, "\(label): no output compared")
        }
    }

    /// The custom-layer model, with a converter for its class, exported and run by onnxruntime.
    @Test(arguments: ["model.h5", "model.keras"])
    func customLayerModelExportsWithItsConverter(file: String) throws {
        let converters: [String: KerasLayerConverter] = ["ScaledTanh": { layer in
            let scale = layer.constant(try layer.weight(0), name: "scale")
            return [try layer.add("Mul", [try layer.add("Tanh", [layer.inputs[0]]), scale])]
        }]
        let graph = try KerasImporter.load(path: TestPaths.fixture("keras-custom/\(file)").path, customLayers: converters)
        let dir = try TestPaths.temporaryDirectory("onnx-export-custom")
        let out = dir.appendingPathComponent("custom.onnx").path
        try ONNXExporter.write(graph, to: out)
        let r = try Self.check([(out, [TestPaths.fixture("keras-custom/inputs_0.npy").path],
                                 [TestPaths.fixture("keras-custom/outputs_0.npy").path])], in: dir)[0]
        #expect(Self.failure(r) == nil, "\(Self.failure(r) ?? "")")
        #expect(r["checker"] as? String == "passed")
    }

    /// Every ONNX fixture Ascent imports (all but the files made to be refused, and the one with
    /// unsupported ops, which cannot be exported, and the model with a sequence output, which
    /// SequenceValueTests round-trips), through the command line: `.onnx` → `.ascent` →
    /// `.onnx` (opset 17). The exported file passes the full checker; onnxruntime on it agrees with
    /// onnxruntime on the original, on the same inputs; Ascent running the `.ascent` file agrees too;
    /// and the exported file imported back into Ascent computes what the `.ascent` file does.
    @Test func everyONNXFixtureRoundTripsThroughAscent() throws {
        let files = ONNXFixtureFiles.loadable.filter { $0 != "onnx/unsupported.onnx" && !ONNXFixtures.sequenceOutputs.contains($0) }
        #expect(files.count == 79, "the README counts 79 importable ONNX fixtures, not \(files.count): \(files)")
        let dir = try TestPaths.temporaryDirectory("onnx-roundtrip")
        var cases: [[String: Any]] = []
        for file in files {
            let stem = file.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ".onnx", with: "")
            let ascent = dir.appendingPathComponent("\(stem).ascent").path, exported = dir.appendingPathComponent("\(stem).onnx").path
            for (from, to) in [(TestPaths.fixture(file).path, ascent), (ascent, exported)] {
                let r = try CLI.run(["convert", from, "--output", to])
                try #require(r.status == 0, "\(file): convert to \(to): \(r.stderr)")
            }
            let graph = try AscentFile.read(path: ascent)
            let feeds = try Self.inputs(for: file, graph)
            var inputs: [String] = []
            for (k, input) in graph.inputs.enumerated() {
                let path = dir.appendingPathComponent("\(stem)_input_\(k).npy").path
                try NumPy.write(try #require(feeds[input.name]), to: path)
                inputs.append("\(input.name)=\(path)")
            }
            let ours = try Session(graph: graph).run(feeds)
            var also: [String] = []
            for (j, output) in graph.outputs.enumerated() {
                let path = dir.appendingPathComponent("\(stem)_ascent_\(j).npy").path
                try NumPy.write(try #require(ours[output.name]), to: path)
                also.append("\(output.name)=\(path)")
            }
            let back = try Session(graph: try ONNXImporter.load(path: exported)).run(feeds)
            for output in graph.outputs {
                expectClose(back[output.name], try #require(ours[output.name]), scaledTolerance: 1e-6, "\(file) \(output.name): imported back")
            }
            // The README's claim: onnxruntime on the export gives its outputs on the original within
            // 2e-6 (× max(1, max |reference|)); Ascent's own run of the file within the 1e-4 of the
            // onnxruntime cross-check.
            // onnxruntime's tools' outputs are compared as ONNXRuntimeToolsTests does: its optimizations off
            // (at its default level it fuses QDQ pairs into its own quantized kernels and rounds otherwise).
            cases.append(["model": exported, "reference": TestPaths.fixture(file).path, "inputs": inputs, "also": also,
                          "tolerance": Self.roundTripTolerance, "also_tolerance": ONNXRuntimeCrossCheckTests.tolerance,
                          "optimizations": file.hasPrefix(ONNXRuntimeToolsTests.folder + "/") ? "off" : "on"])
        }
        // onnxruntime 1.32 has no kernels for these opset 5/6 forms, and onnx.version_converter cannot
        // upgrade them: their reference is NumPy computing the node as the ONNX spec defines it.
        let unrunnable: Set<String> = ["onnx/opsets/add6_broadcast/model.onnx", "onnx/opsets/cast5/model.onnx"]
        for (file, r) in zip(files, try Self.check(cases, in: dir)) {
            // Outputs whose dtype Ascent does not keep yet fail as known issues (issue 11).
            let entries = ((r["outputs"] as? [[String: Any]]) ?? []) + ((r["also"] as? [[String: Any]]) ?? [])
            let failing = Set(entries.filter { $0["ok"] as? Bool != true }.compactMap { $0["name"] as? String })
            let stem = String(file.dropLast(5))
            let gaps = ONNXRuntimeCrossCheckTests.knownDTypeGaps.merging(ONNXRuntimeToolsTests.knownOutputDifferences) { a, _ in a }
            let known = Set(gaps.keys.filter { $0.hasPrefix(stem + ":") }.map { String($0.dropFirst(stem.count + 1)) })
            for name in failing.intersection(known).sorted() {
                withKnownIssue(Comment(rawValue: gaps["\(stem):\(name)"]!)) {
                    Issue.record("\(file) \(name): \(entries.filter { $0["name"] as? String == name })")
                }
            }
            for name in known.subtracting(failing).sorted() { Issue.record("\(file) \(name) passes now: drop it from the known gaps") }
            #expect(failing.subtracting(known).isEmpty && r["error"] == nil, "\(file): \(Self.failure(r) ?? "") \(r["also"] ?? "")")
            #expect(r["checker"] as? String == "passed", "\(file)")
            #expect(r["transpose_chains"] as? Int == 0, "\(file)")
            let reference = r["reference"] as? String ?? ""
            #expect(reference.hasPrefix(unrunnable.contains(file) ? "numpy: " : "onnxruntime"), "\(file): \(reference)")
            #expect((r["also"] as? [Any])?.count == (r["outputs"] as? [Any])?.count, "\(file): Ascent's outputs compared")
            #expect((r["outputs"] as? [Any])?.isEmpty == false, "\(file): no output compared")
        }
    }

    /// The fixture's own inputs (`input_K.npy`, `inputs_K.npy` or `inputs.npy` beside a model that
    /// has its folder to itself, or in its first subfolder that has them), else seeded values of the
    /// declared shapes (free sizes 2).
    static func inputs(for file: String, _ graph: Graph) throws -> [String: Tensor] {
        let fm = FileManager.default
        // A runnable case with stored inputs for every graph input (e.g. the probe models' case folders).
        if let stored = ONNXFixtures.runnable.first(where: { $0.model == file && !$0.inputFiles.isEmpty }),
           stored.inputFiles.count == graph.inputs.count {
            var feeds: [String: Tensor] = [:]
            for (input, path) in zip(graph.inputs, stored.inputFiles) { feeds[input.name] = try NumPy.read(path: TestPaths.fixture(path).path) }
            return feeds
        }
        let folder = TestPaths.fixture(file).deletingLastPathComponent()
        let names = try fm.contentsOfDirectory(atPath: folder.path).sorted()
        if names.filter({ $0.hasSuffix(".onnx") }).count == 1, !graph.inputs.isEmpty {
            for place in [folder] + names.map(folder.appendingPathComponent) {
                let here = (try? fm.contentsOfDirectory(atPath: place.path)) ?? []
                let stored = graph.inputs.indices.map { k in ["input_\(k).npy", "inputs_\(k).npy"] + (k == 0 ? ["inputs.npy"] : []) }
                    .compactMap { $0.first(where: here.contains) }
                guard stored.count == graph.inputs.count else { continue }
                var feeds: [String: Tensor] = [:]
                for (input, name) in zip(graph.inputs, stored) {
                    feeds[input.name] = try NumPy.read(path: place.appendingPathComponent(name).path)
                }
                return feeds
            }
        }
        // Sizes no declaration gives.
        let given: [String: [String: [Int]]] = ["onnx/graph.onnx": ["y": [2, 4, 6, 6]]]
        var random = SeededRandom(name: file)
        var feeds: [String: Tensor] = [:]
        for input in graph.inputs {
            let shape = try given[file]?[input.name] ?? #require(input.type.shape, "\(file): \(input.name) has no shape").dims.map { $0.value ?? 2 }
            let count = shape.reduce(1, *)
            let t = input.type.dtype.isFloatingPoint
                ? Tensor(shape: shape, scalars: random.floats(count, -2, 2))
                : Tensor(shape: shape, scalars: (0..<count).map { _ in Int64(random.nextUnit() * 3) })
            feeds[input.name] = t.converted(to: input.type.dtype)
        }
        return feeds
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
            "--tolerance", "\(Self.kerasExportTolerance)",
        ])
        #expect(check.status == 0, "\(check.output)")
        #expect(check.output.contains("\"opset\": 13"))
        // The default opset is 17.
        let d = try CLI.run(["convert", "Fixtures/digits/digits.keras", "--output", out])
        #expect(d.status == 0 && d.stdout.contains("(ONNX opset 17, "), "\(d.stderr)")
    }

    /// `--external-data`: the large initializers go to `OUT.onnx.data`; onnx's checker, onnxruntime
    /// and Ascent's importer read the pair, with Keras's numbers.
    @Test func convertWritesExternalData() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-external")
        let out = dir.appendingPathComponent("m.onnx").path, data = out + ".data"
        let keras = TestPaths.fixture("keras/mobilenetv2")
        let r = try CLI.run(["convert", keras.appendingPathComponent("model.keras").path, "--output", out, "--external-data"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains(" of them in m.onnx.data, 423018 parameters)"), "\(r.stdout)")
        let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        #expect(size(out) < 100_000 && size(data) > 1_600_000, "model \(size(out)) bytes, data \(size(data)) bytes")
        let inputs = keras.appendingPathComponent("inputs_0.npy").path, outputs = keras.appendingPathComponent("outputs_0.npy").path
        let check = try Self.check([(out, [inputs], [outputs])], in: dir)[0]
        #expect(Self.failure(check) == nil && check["checker"] as? String == "passed", "\(Self.failure(check) ?? "")")
        // "every initializer of 1 KiB or more in OUT.onnx.data beside the model (64-byte aligned)".
        let model = try ONNXModelProto.load(path: out)
        for w in model.graph.initializers {
            let location = Dictionary(w.externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            let elements = w.dims.reduce(1, *), bytes = Int(elements) * 4
            if w.dataLocation == .external {
                #expect(location["location"] == "m.onnx.data" && bytes >= 1024, "\(w.name): \(location)")
                #expect((Int(location["offset"] ?? "") ?? -1) % 64 == 0, "\(w.name) at offset \(location["offset"] ?? "?")")
            } else {
                #expect(bytes < 1024 || w.dataType != 1, "\(w.name): \(bytes) bytes kept in the model")
            }
        }
        let graph = try ONNXImporter.load(path: out)
        let y = try Session(graph: graph).run([graph.inputs[0].name: try NumPy.read(path: inputs)])
        expectClose(y[graph.outputs[0].name], try NumPy.read(path: outputs), scaledTolerance: DigitsModelTests.kerasTolerance, "imported back")

        let ascent = try CLI.run(["convert", inputs.replacingOccurrences(of: "inputs_0.npy", with: "model.keras"),
                                  "--output", dir.appendingPathComponent("m.ascent").path, "--external-data"])
        #expect(ascent.status == 64 && ascent.stderr.contains("--external-data applies only to .onnx output"))
        for bad in ["", "../m.data", "sub/m.data"] {
            #expect(throws: AscentError.self) {
                try ONNXExporter.write(graph, to: dir.appendingPathComponent("bad.onnx").path, options: .init(externalData: bad))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad.onnx").path))
    }

    @Test func convertRefusesBadOpsetsAndUnsupportedModels() throws {
        let dir = try TestPaths.temporaryDirectory("onnx-export-cli")
        let out = dir.appendingPathComponent("m.onnx").path
        for opset in ["0", "29"] {
            let r = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", out, "--opset", opset])
            #expect(r.status == 64 && r.stderr.contains("--opset \(opset) is not supported: use 1 to 28"), "\(r.stderr)")
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
