import AscentIR
import AscentKeras
import AscentRuntime
import AscentTestSupport
import Testing

/// The digits classifier, imported from each format Keras wrote, run by Ascent and
/// compared with the outputs Keras computed (`Tools/fixtures/digits.py`).
@Suite struct DigitsModelTests {
    /// max |ours − reference| ≤ 1e-4 × max(1, max |reference|), the bar of the Keras issue.
    static func expectClose(_ ours: Tensor, _ reference: Tensor, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours.shape == reference.shape, "\(what): shape", sourceLocation: sourceLocation)
        let a = ours.doubles(), b = reference.doubles()
        let scale = max(1, b.map(abs).max() ?? 0)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        #expect(diff <= 1e-4 * scale, "\(what): max abs diff \(diff)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["digits.h5", "digits.keras"])
    func kerasFormatsMatchKeras(file: String) throws {
        let graph = try KerasImporter.load(path: TestPaths.fixture("digits/\(file)").path)
        let session = try Session(graph: graph)
        let inputs = try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)
        let out = try session.run(["input": inputs])
        let probs = try #require(out["probs"])
        Self.expectClose(probs, try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path), "\(file) probs")
        // The held-out predictions agree with the labels as often as Keras's do.
        let labels = try NumPy.read(path: TestPaths.fixture("digits/labels.npy").path).int64s()
        let reference = try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path).doubles()
        let ours = probs.doubles()
        for i in 0..<labels.count {
            let row = ours[(i * 10)..<(i * 10 + 10)], ref = reference[(i * 10)..<(i * 10 + 10)]
            #expect(row.firstIndex(of: row.max()!) == ref.firstIndex(of: ref.max()!), "sample \(i)")
        }
    }

    /// The pre-softmax logits too (the probe maximizes those).
    @Test func logitsMatchKeras() throws {
        var graph = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let logits = try #require(graph.nodes.first { $0.name == "logits" && $0.op == "Add" }?.outputs.first)
        graph.outputs = [ValueInfo(name: logits, type: ValueType(.float32, nil))]
        let out = try Session(graph: graph).run(["input": try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)])
        Self.expectClose(try #require(out[logits]), try NumPy.read(path: TestPaths.fixture("digits/keras_logits.npy").path), "logits")
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
