import AscentIR
import AscentONNX
import AscentTestSupport
import Foundation
import Testing

/// Sequence values in a real export (`Fixtures/onnx-control-flow/list_script`, written by
/// `Tools/fixtures/torch_sequences.py`: PyTorch's TorchScript exporter writing SplitToSequence,
/// Loops carrying sequences, ConcatFromSequence and a sequence output): `ascent run` against
/// onnxruntime, `.ascent` and ONNX round trips, `inspect`, and the gradient's refusal.
@Suite struct SequenceValueTests {
    /// As the control-flow fixtures: outputs within 1e-4 × max(1, max |onnxruntime|).
    static let tolerance = 1e-4
    static let root = TestPaths.fixture("onnx-control-flow/list_script")
    static var model: String { root.appendingPathComponent("model.onnx").path }

    static let cases: [String] = {
        guard let data = try? Data(contentsOf: root.appendingPathComponent("meta.json")),
              let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = meta["cases"] as? [[String: Any]] else { return [] }
        return cases.compactMap { $0["folder"] as? String }
    }()

    /// onnxruntime's outputs of a case: `output_<j>.npy`, or the folder `output_<j>/` of a sequence's tensors.
    static func reference(_ folder: URL, _ j: Int) throws -> GraphValue {
        let file = folder.appendingPathComponent("output_\(j).npy")
        if FileManager.default.fileExists(atPath: file.path) { return .tensor(try NumPy.read(path: file.path)) }
        return .sequence(try tensors(in: folder.appendingPathComponent("output_\(j)")))
    }

    /// `0.npy`, `1.npy`... in `folder`, in order.
    static func tensors(in folder: URL) throws -> [Tensor] {
        var out: [Tensor] = []
        while FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(out.count).npy").path) {
            out.append(try NumPy.read(path: folder.appendingPathComponent("\(out.count).npy").path))
        }
        return out
    }

    static func expectMatches(_ ours: GraphValue, _ reference: GraphValue, _ what: String) {
        switch (ours, reference) {
        case (.tensor(let a), .tensor(let b)): expectClose(a, b, scaledTolerance: tolerance, what)
        case (.sequence(let a), .sequence(let b)):
            #expect(a.count == b.count, "\(what): \(a.count) tensors, onnxruntime \(b.count)")
            for (k, (x, y)) in zip(a, b).enumerated() { expectClose(x, y, scaledTolerance: tolerance, "\(what)[\(k)]") }
        default: Issue.record("\(what): \(ours.summary), onnxruntime \(reference.summary)")
        }
    }

    @Test func fixtureIsThere() throws {
        #expect(Self.cases.count == 3)
        let graph = try ONNXImporter.load(path: Self.model)
        #expect(graph.outputs.map(\.type.kind) == [.tensor, .tensor, .sequence])
        let ops = Set(graph.nodes.map(\.op))
        #expect(ops.isSuperset(of: ["SplitToSequence", "SequenceEmpty", "Loop", "ConcatFromSequence"]), "\(ops)")
    }

    /// `ascent run` writes the tensor outputs as `.npy` and the sequence output as a folder of its
    /// tensors, each as onnxruntime computes them (three batch and time sizes, one with a single step).
    @Test(arguments: cases) func runMatchesOnnxruntime(_ name: String) throws {
        let dir = try TestPaths.temporaryDirectory("sequence-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = Self.root.appendingPathComponent(name)
        let r = try CLI.run(["run", Self.model, "--input", "x=\(data.appendingPathComponent("input_0.npy").path)",
                             "--output-dir", dir.path, "--top", "0"])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("chunks: sequence of "), "\(r.stdout)")
        for (j, output) in ["y", "pooled"].enumerated() {
            Self.expectMatches(.tensor(try NumPy.read(path: dir.appendingPathComponent("\(output).npy").path)),
                               try Self.reference(data, j), "\(name): \(output)")
        }
        Self.expectMatches(.sequence(try Self.tensors(in: dir.appendingPathComponent("chunks"))), try Self.reference(data, 2),
                           "\(name): chunks")
    }

    /// `.ascent` keeps the sequence types (the same graph back, and the same numbers through `ascent
    /// run`), and the ONNX export passes the full checker and gives onnxruntime's outputs on the
    /// original (the sequence output tensor by tensor).
    @Test func convertRoundTrips() throws {
        let dir = try TestPaths.temporaryDirectory("sequence-convert")
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try ONNXImporter.load(path: Self.model)
        let ascent = dir.appendingPathComponent("list.ascent").path, onnx = dir.appendingPathComponent("list.onnx").path
        try AscentFile.write(original, to: ascent)
        #expect(try AscentFile.read(path: ascent) == original, ".ascent round trip")
        let data = Self.root.appendingPathComponent(Self.cases[0])
        let out = dir.appendingPathComponent("out")
        let run = try CLI.run(["run", ascent, "--input", "x=\(data.appendingPathComponent("input_0.npy").path)", "--output-dir", out.path])
        try #require(run.status == 0, "\(run.stderr)")
        Self.expectMatches(.sequence(try Self.tensors(in: out.appendingPathComponent("chunks"))), try Self.reference(data, 2), ".ascent: chunks")
        let r = try CLI.run(["convert", ascent, "--output", onnx, "--opset", "17"])
        try #require(r.status == 0, "\(r.stderr)")
        let checks: [[String: Any]] = Self.cases.map { c in
            ["model": onnx, "inputs": ["x=" + Self.root.appendingPathComponent(c).appendingPathComponent("input_0.npy").path],
             "outputs": [], "reference": Self.model, "tolerance": ONNXExportRoundTripTests.roundTripTolerance]
        }
        for (check, result) in zip(checks, try ONNXExportRoundTripTests.check(checks, in: dir)) {
            #expect(ONNXExportRoundTripTests.failure(result) == nil, "\(check["inputs"]!): \(ONNXExportRoundTripTests.failure(result) ?? "")")
            let outputs = result["outputs"] as? [[String: Any]] ?? []
            #expect(outputs.count == 3 && outputs.contains { $0["sequence"] as? Bool == true }, "\(result)")
        }
    }

    /// `inspect` types sequence values as `seq(...)`, in text and JSON.
    @Test func inspectShowsSequences() throws {
        let r = try CLI.run(["inspect", Self.model], environment: ["COLUMNS": "120"])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  chunks  seq(float32["), "\(r.stdout)")
        #expect(r.stdout.contains("SplitToSequence    seq(float32[batch,4])"), "\(r.stdout)")
        let json = try CLI.run(["inspect", Self.model, "--format", "json"])
        #expect(json.stdout.contains("\"kind\":\"sequence\",\"name\":\"chunks\""), "\(json.stdout)")
    }

    /// Gradients do not flow through sequences: `ascent grad` refuses in one line naming the node.
    @Test func gradientRefusesSequences() throws {
        let dir = try TestPaths.temporaryDirectory("sequence-grad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = Self.root.appendingPathComponent(Self.cases[0]).appendingPathComponent("input_0.npy").path
        let r = try CLI.run(["grad", Self.model, "--input", "x=\(x)", "--target", "output:pooled:0",
                             "--output", dir.appendingPathComponent("g.npy").path])
        #expect(r.status == 65, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("no gradient through sequence or optional values: '/SplitToSequence' (SplitToSequence)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
