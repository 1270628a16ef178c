import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// Old-opset forms rewritten into the latest forms the IR uses (`Fixtures/onnx/opsets/<case>`).
/// Where onnxruntime ran the model, the inferred output shapes are checked against its outputs.
@Suite struct ONNXOpsetTests {
    static func load(_ name: String) throws -> Graph {
        try ONNXImporter.load(path: ONNXFixtures.path("opsets/\(name)/model.onnx"))
    }

    /// The inferred types of the graph outputs agree with onnxruntime's outputs (dtype and shape).
    static func expectReferenceShapes(_ g: Graph, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let types = try g.inferTypes()
        for (i, output) in g.outputs.enumerated() {
            let reference = try ONNXFixtures.npy("opsets/\(name)/output_\(i).npy")
            #expect(types[output.name] == ValueType(reference.dtype, Shape(reference.shape)) ||
                    types[output.name]?.shape == Shape(reference.shape), "\(name) \(output.name)", sourceLocation: sourceLocation)
        }
    }

    static func ints(_ g: Graph, _ value: String) -> [Int64]? { g.initializers[value]?.int64s() }

    @Test func softmaxBefore13FlattensAtAxis() throws {
        let g = try Self.load("softmax11")
        #expect(g.nodes.map(\.op) == ["Shape", "Flatten", "Softmax", "Reshape"])
        #expect(g.nodes.map(\.name) == ["softmax/shape", "softmax/flatten", "softmax", "softmax/reshape"])
        #expect(g.nodes[1].attributes == ["axis": .int(1)] && g.nodes[2].attributes == ["axis": .int(-1)])
        #expect(g.nodes[0].inputs == ["x"] && g.nodes[1].inputs == ["x"])
        #expect(g.nodes[3].inputs == [g.nodes[2].outputs[0], g.nodes[0].outputs[0]] && g.nodes[3].outputs == ["y"])
        #expect(try g.inferTypes()[g.nodes[2].outputs[0]]?.description == "float32[2,12]")
        try Self.expectReferenceShapes(g, "softmax11")
    }

    @Test func softmaxBefore13AlongTheLastAxisIsOneNode() throws {
        let g = try Self.load("logsoftmax11_last")
        #expect(g.nodes == [Node(name: "logsoftmax", op: "LogSoftmax", inputs: ["x"], outputs: ["y"], attributes: ["axis": .int(-1)])])
        try Self.expectReferenceShapes(g, "logsoftmax11_last")
    }

    @Test func clipBefore11AttributesBecomeInputs() throws {
        let g = try Self.load("clip6")
        #expect(g.nodes.map(\.inputs) == [["x", "clip/min", "clip/max"], ["x", "", "clip_max/max"]])
        #expect(g.nodes.allSatisfy { $0.attributes.isEmpty })
        #expect(g.initializers["clip/min"]?.scalars(as: Float.self) == [-0.5] && g.initializers["clip/min"]?.shape == [])
        #expect(g.initializers["clip/max"]?.scalars(as: Float.self) == [1.0])
        #expect(g.initializers["clip_max/max"]?.scalars(as: Float.self) == [0.25])
        try Self.expectReferenceShapes(g, "clip6")
    }

    @Test func sliceBefore10AttributesBecomeInputs() throws {
        let g = try Self.load("slice9")
        #expect(g.nodes.map(\.inputs) == [["x", "slice/starts", "slice/ends", "slice/axes"]])
        #expect(Self.ints(g, "slice/starts") == [1, 0] && Self.ints(g, "slice/ends") == [3, -1] && Self.ints(g, "slice/axes") == [0, 2])
        #expect(g.initializers["slice/starts"]?.dtype == .int64 && g.nodes[0].attributes.isEmpty)
        try Self.expectReferenceShapes(g, "slice9")
    }

    @Test func squeezeAndUnsqueezeBefore13AxesBecomeInputs() throws {
        let g = try Self.load("squeeze11")
        #expect(g.nodes.map(\.inputs) == [["x", "squeeze/axes"], ["s", "unsqueeze/axes"]])
        #expect(Self.ints(g, "squeeze/axes") == [1] && Self.ints(g, "unsqueeze/axes") == [0, 3])
        #expect(try g.inferTypes()["s"]?.description == "float32[2,3]")
        try Self.expectReferenceShapes(g, "squeeze11")
    }

    @Test func reduceBefore13And18AxesBecomeInputs() throws {
        let g = try Self.load("reduce11")
        #expect(g.nodes.map(\.inputs) == [["x", "sum/axes"], ["x", "mean/axes"]])
        #expect(g.nodes[0].attributes == ["keepdims": .int(0)] && g.nodes[1].attributes.isEmpty)
        #expect(Self.ints(g, "sum/axes") == [1] && Self.ints(g, "mean/axes") == [0, 2])
        try Self.expectReferenceShapes(g, "reduce11")
    }

    @Test func splitBefore13SizesBecomeAnInput() throws {
        let g = try Self.load("split11")
        #expect(g.nodes.map(\.inputs) == [["x", "split/split"]] && g.nodes[0].attributes == ["axis": .int(1)])
        #expect(Self.ints(g, "split/split") == [1, 3])
        try Self.expectReferenceShapes(g, "split11")
    }

    @Test func padBefore11AttributesBecomeInputs() throws {
        let g = try Self.load("pad10")
        #expect(g.nodes.map(\.inputs) == [["x", "pad/pads", "pad/value"]] && g.nodes[0].attributes.isEmpty)
        #expect(Self.ints(g, "pad/pads") == [0, 1, 0, 2] && g.initializers["pad/value"]?.scalars(as: Float.self) == [1.5])
        try Self.expectReferenceShapes(g, "pad10")
    }

    @Test func reshapeBefore5ShapeBecomesAnInput() throws {
        let g = try Self.load("reshape4")
        #expect(g.nodes.map(\.inputs) == [["x", "reshape/shape"]] && Self.ints(g, "reshape/shape") == [3, -1])
        #expect(try g.inferTypes()["y"]?.description == "float32[3,2]")
    }

    @Test func castBefore6NamesTheType() throws {
        let g = try Self.load("cast5")
        #expect(g.nodes.first?.attributes == ["to": .int(1)])
        #expect(try g.inferTypes()["y"]?.description == "float32[2,3]")
    }

    @Test func addBefore7BroadcastsAtAxis() throws {
        let g = try Self.load("add6_broadcast")
        #expect(g.nodes.map(\.op) == ["Unsqueeze", "Add"])
        #expect(g.nodes[0].inputs == ["b", "add/axes"] && Self.ints(g, "add/axes") == [1, 2])
        #expect(g.nodes[1].inputs == ["a", g.nodes[0].outputs[0]] && g.nodes[1].attributes.isEmpty)
        #expect(try g.inferTypes()[g.nodes[0].outputs[0]]?.description == "float32[3,1,1]")
        #expect(try g.inferTypes()["y"]?.description == "float32[2,3,4,5]")
    }

    @Test func batchNormalizationIgnoresLegacyAttributes() throws {
        let g = try Self.load("batchnorm6")
        // IR version 3: every initializer is also listed as an input; they stay initializers.
        #expect(g.inputs.map(\.name) == ["x"])
        #expect(g.nodes.map(\.op) == ["BatchNormalization"] && g.nodes[0].outputs == ["y"])
        #expect(g.nodes[0].attributes == ["epsilon": .float(Double(Float(1e-3)))])
        #expect(g.initializers["var"]?.floats() == [1.0, 0.5, 2.0])
    }

    @Test func dropoutIsTheIdentity() throws {
        let g = try Self.load("dropout10")
        #expect(g.nodes == [Node(name: "dropout", op: "Identity", inputs: ["x"], outputs: ["y"])])
        try Self.expectReferenceShapes(g, "dropout10")
    }

    @Test func handlersFollowTheOpHistories() throws {
        // ReduceMean's axes were an attribute before opset 18, Softmax's axis meant a 2-D coercion before 13.
        #expect(OpDefinition.reduceMean.onnx?.changes.contains {
            if case let .inputWasAttribute(1, "axes", until) = $0 { return until == 18 }
            return false
        } == true)
        #expect(OpDefinition.softmax.onnx?.versions == [1, 11, 13])
        let upsample = try #require(ONNXOps.aliases["Upsample"])
        #expect(upsample.converter(opset: 6) == nil && upsample.converter(opset: 9) != nil)
        #expect(ONNXOps.converter(op: "Relu", domain: "", opset: 17) != nil)
        #expect(ONNXOps.converter(op: "Relu", domain: "com.microsoft", opset: 17) == nil)
        #expect(ONNXOps.converter(op: "Unsupported", domain: "", opset: 17) == nil)
        #expect(ONNXOps.converter(op: "Loop", domain: "ai.onnx", opset: 17) != nil, "control flow imports")
        #expect(ONNXOps.converter(op: "ConvGradInput", domain: "", opset: 17) == nil, "Ascent's own ops are not ONNX ops")
    }
}
