import AscentIR
import AscentKeras
import AscentONNX
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// Every model of `Fixtures/keras` (written by Tools/fixtures/keras_models.py with real
/// Keras 3 and tf-keras), in every format it was saved in, imported and run by Ascent and
/// compared with Keras's outputs: max |ours − Keras| ≤ 1e-4 × max(1, max |Keras|).
@Suite struct KerasZooTests {
    struct Variant: CustomStringConvertible, Sendable {
        var model: String
        var file: String
        var config: String?
        var description: String { "\(model)/\(file)" + (config.map { " + \($0)" } ?? "") }
    }

    static let variants: [Variant] = {
        let root = TestPaths.fixture("keras")
        let fm = FileManager.default
        var out: [Variant] = []
        for model in TestPaths.list("keras") {
            func has(_ f: String) -> Bool { fm.fileExists(atPath: root.appendingPathComponent("\(model)/\(f)").path) }
            for (file, config) in [("model.h5", nil), ("model.keras", nil), ("model.weights.h5", "model.json"),
                                   ("model_keras2.h5", nil), ("model_keras2_weights.h5", "model_keras2.json"),
                                   ("model.onnx", nil)] as [(String, String?)]
            where has(file) && (config.map(has) ?? true) {
                out.append(Variant(model: model, file: file, config: config))
            }
        }
        return out
    }()

    static func meta(_ model: String) throws -> [String: Any] {
        let data = try Data(contentsOf: TestPaths.fixture("keras/\(model)/meta.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func load(_ v: Variant) throws -> Graph {
        let dir = TestPaths.fixture("keras/\(v.model)")
        let path = dir.appendingPathComponent(v.file).path
        if v.file.hasSuffix(".onnx") { return try ONNXImporter.load(path: path) }
        return try KerasImporter.load(path: path, configPath: v.config.map { dir.appendingPathComponent($0).path })
    }

    @Test func everyModelIsCovered() {
        #expect(Set(Self.variants.map(\.model)).count >= 10)
        #expect(Self.variants.count >= 66, "the README counts 66 files, \(Self.variants.count) found")
    }

    @Test(arguments: variants)
    func matchesKeras(_ v: Variant) throws {
        let dir = TestPaths.fixture("keras/\(v.model)")
        let graph = try Self.load(v)
        let meta = try Self.meta(v.model)
        if !v.file.hasSuffix(".onnx") {
            #expect(graph.parameterCount == meta["count_params"] as? Int, "parameters")
        }
        var feeds: [String: Tensor] = [:]
        for (i, input) in graph.inputs.enumerated() {
            feeds[input.name] = try NumPy.read(path: dir.appendingPathComponent("inputs_\(i).npy").path)
        }
        let out = try Session(graph: graph).run(feeds)
        for (j, output) in graph.outputs.enumerated() {
            let name = v.file.hasSuffix(".onnx") ? "onnx_outputs_\(j).npy" : "outputs_\(j).npy"
            let reference = try NumPy.read(path: dir.appendingPathComponent(name).path)
            expectClose(out[output.name], reference, scaledTolerance: DigitsModelTests.kerasTolerance, "\(v) output \(j)")
        }
    }
}
