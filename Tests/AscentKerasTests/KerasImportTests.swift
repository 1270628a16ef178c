import AscentIR
@testable import AscentKeras
import AscentTestSupport
import Foundation
import Testing

@Suite struct KerasImportTests {
    static let formats = ["digits.h5", "digits.keras"]

    /// Keras's own facts about the digits model, written by Tools/fixtures/digits.py.
    func kerasMetadata() throws -> [String: Any] {
        let data = try Data(contentsOf: TestPaths.fixture("digits/metadata.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(arguments: formats)
    func importsTheDigitsModel(file: String) throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/\(file)").path)
        try g.validate()
        let meta = try kerasMetadata()
        #expect(g.parameterCount == meta["count_params"] as? Int)
        #expect(g.inputs.map(\.type.description) == ["float32[N,16,16,1] NHWC"])
        #expect(g.outputs.map(\.name) == ["probs"])
        #expect(try g.inferTypes()["probs"]?.description == "float32[N,10]")
        #expect(g.unsupportedNodes.isEmpty)
        // Every Keras layer is present under its own name.
        let layers = try #require(meta["layers"] as? [[String: String]])
        let nodeNames = Set(g.nodes.map(\.name)).union(g.inputs.map(\.name))
        for layer in layers { #expect(nodeNames.contains(layer["name"]!), "layer \(layer["name"]!)") }
        #expect(g.metadata["keras_version"] == "3.15.1")
    }

    /// The legacy HDF5 and the Keras 3 archive hold the same model: same graph, same weights.
    @Test func legacyAndArchiveAgree() throws {
        let h5 = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let zip = try KerasImporter.load(path: TestPaths.fixture("digits/digits.keras").path)
        func body(_ g: Graph) -> String { g.printed().split(separator: "\n").filter { !$0.contains(" meta ") }.joined(separator: "\n") }
        #expect(body(h5) == body(zip))
        for (name, t) in h5.initializers { #expect(zip.initializers[name]?.bitwiseEqual(t) == true, "\(name)") }
    }

    /// Weights come through bit-exact: the conv1 kernel equals the HDF5 dataset h5py listed.
    @Test func weightsKeepKerasLayout() throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let kernel = try #require(g.initializers["conv1/kernel"])
        #expect(kernel.shape == [3, 3, 1, 8])
        let file = try HDF5File(path: TestPaths.fixture("digits/digits.h5").path)
        let raw = try file.dataset(at: "/model_weights/conv1/conv1/kernel").readBytes()
        #expect(kernel.withUnsafeBytes { Array($0) } == raw)
        let conv = try #require(g.nodes.first { $0.op == "Conv" && $0.name == "conv1" })
        #expect(conv.attributes["data_format"] == .string("NHWC"))
        #expect(conv.attributes["auto_pad"] == .string("SAME_UPPER"))
    }

    @Test func weightsOnlyNeedsConfig() throws {
        // A Keras 3 weights store (model.weights.h5 from the archive) with the archive's config.json.
        let dir = try TestPaths.temporaryDirectory()
        let archive = try ZipArchive(bytes: [UInt8](try Data(contentsOf: TestPaths.fixture("digits/digits.keras"))), fileName: "digits.keras")
        let weights = dir.appendingPathComponent("digits.weights.h5")
        let config = dir.appendingPathComponent("digits.json")
        try Data(try archive.read("model.weights.h5")).write(to: weights)
        try Data(try archive.read("config.json")).write(to: config)
        let e = try #require(throwsAscent { _ = try KerasImporter.load(path: weights.path) })
        #expect(e.kind == .invalidData && e.description.contains("--config"))
        let g = try KerasImporter.load(path: weights.path, configPath: config.path)
        #expect(g.metadata["source_format"] == "keras-weights")
        #expect(g.parameterCount == (try kerasMetadata()["count_params"] as? Int))
    }

    @Test func badFilesGiveTypedErrors() throws {
        let missing = try #require(throwsAscent { _ = try KerasImporter.load(path: "/nonexistent/model.h5") })
        #expect(missing.kind == .missingFile)
        #expect(missing.description.hasPrefix("/nonexistent/model.h5: "))
        let dir = try TestPaths.temporaryDirectory()
        for file in KerasImportTests.formats {
            let bytes = [UInt8](try Data(contentsOf: TestPaths.fixture("digits/\(file)")))
            let bad = dir.appendingPathComponent("bad-" + file).path
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 16)) {
                try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: bad))
                let e = try #require(throwsAscent { _ = try KerasImporter.load(path: bad) }, "\(file) cut at \(cut)")
                #expect(e.kind == .invalidData, "\(file) cut at \(cut): \(e)")
                #expect(e.description.hasPrefix(bad), "\(e)")
            }
        }
    }

    private func throwsAscent(_ body: () throws -> Void) -> AscentError? {
        do { try body(); return nil } catch let e as AscentError { return e } catch {
            Issue.record("non-Ascent error \(error)")
            return nil
        }
    }
}
