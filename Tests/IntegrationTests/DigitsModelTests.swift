import AscentIR
import AscentKeras
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// The digits classifier, imported from each format Keras wrote, run by Ascent and
/// compared with the outputs Keras computed (`Tools/fixtures/digits.py`).
@Suite struct DigitsModelTests {
    /// The bar of the Keras import claim (README, Status): max |ours − Keras| ≤ 1e-4 × max(1, max |Keras|).
    static let kerasTolerance = 1e-4

    @Test(arguments: ["digits.h5", "digits.keras"])
    func kerasFormatsMatchKeras(file: String) throws {
        let graph = try KerasImporter.load(path: TestPaths.fixture("digits/\(file)").path)
        let session = try Session(graph: graph)
        let inputs = try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)
        let out = try session.run(["input": inputs])
        let probs = try #require(out["probs"])
        expectClose(probs, try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path), scaledTolerance: Self.kerasTolerance, "\(file) probs")
        // The held-out predictions agree with the labels as often as Keras's do.
        let labels = try NumPy.read(path: TestPaths.fixture("digits/labels.npy").path).int64s()
        let reference = try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path).doubles()
        let ours = probs.doubles()
        for i in 0..<labels.count {
            let row = ours[(i * 10)..<(i * 10 + 10)], ref = reference[(i * 10)..<(i * 10 + 10)]
            #expect(row.firstIndex(of: row.max()!) == ref.firstIndex(of: ref.max()!), "sample \(i)")
        }
    }

    /// README: "98% held-out accuracy on scikit-learn's digits" — Keras's own measurement when the
    /// fixture was trained (Tools/fixtures/digits.py, 360 held-out pictures; only 16 are stored,
    /// and Ascent agrees with Keras on each of those above).
    @Test func heldOutAccuracyIsTheREADMEs() throws {
        let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("digits/metadata.json"))) as? [String: Any])
        #expect((meta["heldout_accuracy"] as? Double ?? 0) >= 0.98 && meta["heldout_size"] as? Int == 360, "\(meta["heldout_accuracy"] ?? "?")")
    }

    /// The pre-softmax logits too (the probe maximizes those).
    @Test func logitsMatchKeras() throws {
        var graph = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let logits = try #require(graph.nodes.first { $0.name == "logits" && $0.op == "Add" }?.outputs.first)
        graph.outputs = [ValueInfo(name: logits, type: ValueType(.float32, nil))]
        let out = try Session(graph: graph).run(["input": try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)])
        expectClose(out[logits], try NumPy.read(path: TestPaths.fixture("digits/keras_logits.npy").path), scaledTolerance: Self.kerasTolerance, "logits")
    }

    /// A model saved to `.ascent` and loaded back (memory-mapped) computes the same numbers.
    @Test func ascentFileRunsTheSame() throws {
        let graph = try KerasImporter.load(path: TestPaths.fixture("digits/digits.keras").path)
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("digits.ascent").path
        try AscentFile.write(graph, to: path)
        let inputs = ["input": try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)]
        let a = try Session(graph: graph).run(inputs)["probs"]!
        let b = try Session(graph: try AscentFile.read(path: path)).run(inputs)["probs"]!
        #expect(a.bitwiseEqual(b))
    }
}
