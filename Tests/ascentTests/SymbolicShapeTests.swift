import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// `ascent inspect` on PyTorch exports with symbolic batch and sequence sizes shows every size the
/// graph determines from the inputs' symbols, through the Shape → Gather → Concat → Reshape chains
/// exporters write (`batch*seq`), with no `--input-shape`; with one, every size is concrete.
@Suite struct SymbolicShapeTests {
    static let models = ["tiny_lm/model.onnx", "transformer_block/model.onnx", "transformer_block_dynamo/model.onnx"]

    @Test(arguments: models) func noSizeIsLeftUnknown(_ model: String) throws {
        let r = try CLI.run(["inspect", "Fixtures/onnx-models/" + model])
        #expect(r.status == 0, "\(r.stderr)")
        let unknown = r.stdout.split(separator: "\n").filter { $0.contains("[") && $0.contains("?") }
        #expect(unknown.isEmpty, "rows with unknown sizes: \(unknown.joined(separator: "\n"))")
    }

    @Test func sizesAreArithmeticOfTheInputSymbols() throws {
        let r = try CLI.run(["inspect", "Fixtures/onnx-models/tiny_lm/model.onnx"])
        let rows = r.stdout.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("/Reshape_4 ") && $0.contains("float32[batch*seq,16]") }, "\(r.stdout)")
        #expect(rows.contains { $0.hasPrefix("/MatMul ") && $0.contains("float32[batch,2,seq,seq]") }, "\(r.stdout)")
    }

    @Test func inputShapesMakeEverySizeConcrete() throws {
        let r = try CLI.run(["inspect", "Fixtures/onnx-models/tiny_lm/model.onnx", "--input-shape", "tokens=3,9", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        for node in nodes {
            for shape in (node["shapes"] as? [Any]) ?? [] {
                let dims = try #require(shape as? [Any], "node \(node["name"] ?? "?") has an unknown rank")
                #expect(dims.allSatisfy { $0 is Int }, "node \(node["name"] ?? "?"): \(dims)")
            }
        }
        #expect(nodes.contains { ($0["name"] as? String) == "/Reshape_4" && "\($0["shapes"]!)".contains("27") })
    }
}

/// Files as exporters write them (Fixtures/onnx-boundary/stale_value_info, written with the onnx
/// library; onnxruntime runs it, and its output is the reference): stale `value_info` and output
/// declarations give way to the computed shapes, which `inspect` notes; the `dim_param` `?` on both
/// spatial axes does not force a 48×192 input square; `-1` and `0` dims are unknown.
@Suite struct DeclaredShapeHintTests {
    static let model = "Fixtures/onnx-boundary/stale_value_info/model.onnx"

    @Test func inspectNotesEachStaleDeclaration() throws {
        let r = try CLI.run(["inspect", Self.model])
        #expect(r.status == 0, "\(r.stderr)")
        let notes = r.stdout.split(separator: "\n").filter { $0.hasPrefix("note: ") }
        #expect(notes == [
            "note: value '387' is declared float32[1,seqlen] but computes float32[?,4,?]; the computed type is used",
            "note: value 'logits' is declared float32[1,seqlen] but computes float32[?,?,4]; the computed type is used",
            "note: value 'relu' is declared float32[1,8,?,?] but computes float32[?,4,?,?] NCHW; the computed type is used",
        ], "\(r.stdout)")
        #expect(r.stdout.contains("  x  float32[?,3,?,?]"), "\(r.stdout)")
    }

    @Test func runsANonSquareInputAsOnnxruntimeDoes() throws {
        let dir = try TestPaths.temporaryDirectory()
        let r = try CLI.run(["run", Self.model, "--input", "Fixtures/onnx-boundary/stale_value_info/input_0.npy",
                             "--output-dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try NumPy.read(path: dir.appendingPathComponent("logits.npy").path)
        let reference = try NumPy.read(path: TestPaths.fixture("onnx-boundary/stale_value_info/output_0.npy").path)
        #expect(ours.shape == [1, 192, 4])
        expectClose(ours, reference, scaledTolerance: 1e-4, "logits vs onnxruntime")
    }
}
