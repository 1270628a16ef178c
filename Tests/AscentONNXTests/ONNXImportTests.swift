import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// Paths and checks shared by the importer tests.
enum ONNXFixtures {
    /// `Fixtures/onnx/<relative>` (written by `Tools/fixtures/onnx_cases.py`).
    static func path(_ relative: String) -> String { TestPaths.fixture("onnx/\(relative)").path }

    static func npy(_ relative: String) throws -> Tensor { try NumPy.read(path: path(relative)) }

    /// The error importing `path` throws.
    static func importError(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> AscentError {
        try #require(throws: AscentError.self, sourceLocation: sourceLocation) { try ONNXImporter.load(path: path) }
    }
}

/// The importer on the real tf2onnx model `digits.onnx` (checked against the onnx package's listing
/// `digits.onnx.json`) and on graph-level fixtures.
@Suite struct ONNXImportTests {
    static let digits = TestPaths.fixture("digits/digits.onnx").path

    static func listing() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("digits/digits.onnx.json")))
        return try #require(object as? [String: Any])
    }

    @Test func digitsImportsAndValidates() throws {
        let g = try ONNXImporter.load(path: Self.digits)
        try g.validate()
        #expect(g.metadata == ["source_format": "onnx", "producer": "tf2onnx 1.17.0 None",
                               "opsets": "ai.onnx 17, ai.onnx.ml 2", "ir_version": "8"])
        #expect(g.name == "tf2onnx")
        #expect(g.unsupportedNodes.isEmpty)
        #expect(g.inputs.map(\.name) == ["input"])
        // tf2onnx's symbolic batch keeps its name; the input feeds a Reshape, not a Conv: no layout tag.
        #expect(g.inputs.first?.type == ValueType(.float32, Shape([.symbol("unk__51"), 16, 16, 1])))
        #expect(g.outputs.map(\.type.description) == ["float32[unk__52,10]"])
        // The batch size flows through the file's Shape → Gather → Slice → Concat → Reshape chain.
        #expect(try g.inferTypes()["probs"]?.description == "float32[unk__51,10]")
    }

    @Test func digitsNodesAreTheFilesNodes() throws {
        let g = try ONNXImporter.load(path: Self.digits)
        let nodes = try #require(try Self.listing()["nodes"] as? [[String: Any]])
        #expect(g.nodes.count == nodes.count)
        #expect(g.nodes.map(\.name) == nodes.map { $0["name"] as? String ?? "?" })
        #expect(g.nodes.map(\.op) == nodes.map { $0["op_type"] as? String ?? "?" })
        for (node, expected) in zip(g.nodes, nodes) {
            #expect(node.inputs == expected["inputs"] as? [String], "\(node.name)")
            #expect(node.outputs == expected["outputs"] as? [String], "\(node.name)")
            #expect(node.attributes.keys.sorted() == (expected["attributes"] as? [String])?.sorted(), "\(node.name)")
        }
        let conv = try #require(g.nodes.first { $0.op == "Conv" })
        #expect(conv.attributes["data_format"] == nil)  // the IR default, NCHW
        #expect(conv.attributes["pads"] == .ints([1, 1, 1, 1]) && conv.attributes["group"] == .int(1))
        #expect(g.nodes.first { $0.op == "Cast" }?.attributes["to"] == .int(6))
    }

    @Test func digitsInitializersMatchTheListing() throws {
        let g = try ONNXImporter.load(path: Self.digits)
        let initializers = try #require(try Self.listing()["initializers"] as? [[String: Any]])
        #expect(g.initializers.count == initializers.count)
        let dtypes: [Int: DType] = [1: .float32, 6: .int32, 7: .int64]
        for expected in initializers {
            let name = try #require(expected["name"] as? String)
            let t = try #require(g.initializers[name], "\(name)")
            #expect(t.shape == expected["dims"] as? [Int], "\(name)")
            #expect(t.dtype == dtypes[expected["data_type"] as? Int ?? -1], "\(name)")
            // NumPy's float64 sum of the values.
            expectClose(t.doubles().reduce(0, +), try #require(expected["sum"] as? Double), scaledTolerance: 1e-5, "\(name): sum")
        }
    }

    @Test func graphInputsOutputsValueInfoAndLayout() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("graph.onnx"))
        // `w` is an input with a default (an initializer): it stays an initializer only.
        #expect(g.inputs.map(\.name) == ["x", "y"])
        #expect(g.inputs[0].type == ValueType(.float32, Shape(["N", 3, 8, 8]), layout: .nchw))
        #expect(g.inputs[1].type == ValueType(.float32, Shape(["N", 4, .unknown, .unknown])))
        #expect(try #require(g.initializers["w"]).bitwiseEqual(try ONNXFixtures.npy("graph_w.npy")))
        #expect(g.initializers["b"]?.floats() == [0.5, -0.5, 1.0, 0.0])
        #expect(g.valueInfo == ["c": ValueType(.float32, Shape(["N", 4, 6, 6]))])
        #expect(g.nodes.map(\.name) == ["conv", "Relu_1", "add"])
        #expect(g.nodes.map(\.op) == ["Conv", "Relu", "Add"])
        #expect(g.outputs.map(\.type.description) == ["float32[N,4,6,6]"])
        #expect(try g.inferTypes()["z"]?.description == "float32[N,4,6,6] NCHW")
        #expect(g.metadata["producer"] == "onnx_cases.py 1" && g.metadata["opsets"] == "ai.onnx 17")
    }

    @Test func unknownOpsBecomeUnsupportedNodes() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("unsupported.onnx"))
        #expect(g.nodes.map(\.name) == ["relu", "fancy", "ms_gelu", "ml_norm", "branch", "literal", "sigmoid"])
        #expect(g.unsupportedNodes.map(\.label) == [
            "'fancy' (FancyOp, ai.onnx opset 17)",
            "'ml_norm' (Normalizer, ai.onnx.ml opset 3)",
            "'literal' (Unsupported, ai.onnx opset 17)",
        ])
        // com.microsoft's Gelu is ai.onnx's (onnxruntime's contrib ops import: Ops/Contrib.swift).
        #expect(g.nodes.first { $0.name == "ms_gelu" }?.op == OpDefinition.gelu.name)
        let fancy = try #require(g.nodes.first { $0.name == "fancy" })
        #expect(fancy.inputs == ["a"] && fancy.outputs == ["b"])
        #expect(g.nodes.last?.op == "Sigmoid")
        // If is control flow the IR holds: its branches are graph attributes.
        let branch = try #require(g.nodes.first { $0.name == "branch" })
        #expect(branch.op == "If" && branch.subgraphs.map(\.attribute) == ["else_branch", "then_branch"])
        #expect(g.metadata["opsets"] == "ai.onnx 17, com.microsoft 1, ai.onnx.ml 3")
    }

    @Test func constantNodesStayNodes() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("constants.onnx"))
        #expect(g.nodes.count == 7 && g.nodes.allSatisfy { $0.op == "Constant" && $0.inputs.isEmpty })
        #expect(g.nodes.map(\.name) == ["c_tensor", "c_float", "c_floats", "c_int", "c_ints", "Constant_5", "c_double"])
        for (i, node) in g.nodes.enumerated() {
            #expect(node.outputs == ["out_\(i)"])
            #expect(Array(node.attributes.keys) == ["value"])
            let value = try #require(node.attributes["value"]?.tensor)
            let expected = try ONNXFixtures.npy("constants/out_\(i).npy")
            #expect(value.bitwiseEqual(expected), "\(node.name): \(value) \(value.doubles()) vs \(expected.doubles())")
        }
        // float16 and float64 outputs keep their types, as their values do.
        #expect(g.outputs.map(\.type.dtype) == [.float32, .float32, .float32, .int64, .int64, .float16, .float64])
    }

    @Test func stringConstantIsAnErrorNamingTheNode() throws {
        let path = ONNXFixtures.path("constant_string.onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .invalidData && error.file == path)
        #expect(error.description == "\(path): node 'c_string' (Constant): string constants (value_string) are not supported")
    }

    @Test func truncatedFileIsInvalidData() throws {
        let path = ONNXFixtures.path("truncated.onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .invalidData && error.file == path)
        #expect(error.message.hasPrefix("not a valid ONNX protobuf"))
    }

    @Test func missingFileIsMissing() throws {
        let path = ONNXFixtures.path("no-such-model.onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .missingFile && error.file == path && error.kind.exitCode == 66)
    }
}
