import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// Models built in memory for the cases no exporter writes: malformed attributes, odd types,
/// unsupported forms of known ops, nodes out of order, and random corruption of a real file.
@Suite struct ONNXEdgeCaseTests {
    static func x(_ shape: [ONNXDimension]? = [.param("N"), .value(4)], type: Int32 = 1) -> ONNXValueInfoProto {
        ONNXValueInfoProto(name: "x", elemType: type, shape: shape)
    }

    static func model(_ nodes: [ONNXNodeProto], inputs: [ONNXValueInfoProto] = [x()], outputs: [String] = ["y"],
                      initializers: [ONNXTensorProto] = [], opset: Int64? = 17) -> ONNXModelProto {
        ONNXModelProto(irVersion: 8, opsetImports: opset.map { [ONNXOperatorSet(version: $0)] } ?? [],
                       graph: ONNXGraphProto(name: "g", nodes: nodes, initializers: initializers, inputs: inputs,
                                             outputs: outputs.map { ONNXValueInfoProto(name: $0, elemType: 1) }))
    }

    static func load(_ model: ONNXModelProto) throws -> Graph {
        try ONNXImporter.load(model: model, folder: ".", fileName: "mem.onnx")
    }

    static func error(_ model: ONNXModelProto, sourceLocation: SourceLocation = #_sourceLocation) throws -> AscentError {
        try #require(throws: AscentError.self, sourceLocation: sourceLocation) { try load(model) }
    }

    static func attribute(_ name: String, ints: [Int64]) -> ONNXAttributeProto {
        ONNXAttributeProto(name: name, type: .ints, ints: ints)
    }

    @Test func attributeErrorsNameNodeAttributeAndFile() throws {
        let bad = ONNXAttributeProto(name: "approximate", type: .string, s: [0xff, 0xfe])
        let e = try Self.error(Self.model([ONNXNodeProto(name: "g1", opType: "Gelu", inputs: ["x"], outputs: ["y"], attributes: [bad])]))
        #expect(e.description == "mem.onnx: node 'g1' (Gelu): attribute 'approximate': string is not valid UTF-8")
        let two = [ONNXAttributeProto(name: "value_int", type: .int, i: 1), ONNXAttributeProto(name: "value_float", type: .float, f: 1)]
        let c = try Self.error(Self.model([ONNXNodeProto(opType: "Constant", outputs: ["y"], attributes: two)], inputs: []))
        #expect(c.description == "mem.onnx: node 'Constant_0' (Constant): needs exactly one value attribute, has value_float, value_int")
    }

    @Test func withoutAnOpsetImportOpsetOneApplies() throws {
        // Softmax-1 flattens at axis 1; with the rank unknown the import keeps the general form.
        let g = try Self.load(Self.model([ONNXNodeProto(name: "s", opType: "Softmax", inputs: ["x"], outputs: ["y"])],
                                         inputs: [Self.x(nil)], opset: nil))
        #expect(g.nodes.map(\.op) == ["Shape", "Flatten", "Softmax", "Reshape"])
        #expect(g.metadata["opsets"] == "")
    }

    @Test func nodesOutOfOrderAreSorted() throws {
        let g = try Self.load(Self.model([
            ONNXNodeProto(name: "second", opType: "Neg", inputs: ["a"], outputs: ["y"]),
            ONNXNodeProto(name: "first", opType: "Relu", inputs: ["x"], outputs: ["a"]),
        ]))
        #expect(g.nodes.map(\.name) == ["first", "second"])
    }

    @Test func interfaceTypes() throws {
        // Every numeric type is kept as declared: a uint16 input, a Cast to float64.
        let wide = try Self.load(Self.model([ONNXNodeProto(opType: "Cast", inputs: ["x"], outputs: ["y"],
                                                           attributes: [ONNXAttributeProto(name: "to", type: .int, i: 11)])],
                                            inputs: [Self.x(type: 4)]))
        #expect(wide.inputs.first?.type.description == "uint16[N,4]")
        #expect(wide.nodes.first?.attributes["to"] == .int(11))
        let text = try Self.error(Self.model([], inputs: [Self.x(type: 8)], outputs: []))
        #expect(text.description == "mem.onnx: input 'x' has element type string, which Ascent cannot import")
        var sequence = Self.model([ONNXNodeProto(name: "zip", opType: "ZipMap", domain: "ai.onnx.ml", inputs: ["x"], outputs: ["m"])])
        // ZipMap gives a sequence of maps: left out of the outputs (as is a sequence declared without its element type).
        sequence.graph.outputs = [ONNXValueInfoProto(name: "m", kind: .sequence, inner: [.map])]
        let g = try Self.load(sequence)
        #expect(g.outputs.isEmpty && g.metadata["unsupported_outputs"] == "m (a sequence of maps)")
        sequence.graph.outputs = [ONNXValueInfoProto(name: "m", kind: .sequence)]
        #expect(try Self.load(sequence).metadata["unsupported_outputs"] == "m (a sequence without an element type)")
        #expect(g.unsupportedNodes.map(\.label) == ["'zip' (ZipMap, ai.onnx.ml opset ?)"])
    }

    @Test func formsWithoutAnInferenceMeaningAreUnsupported() throws {
        func node(_ op: String, inputs: [String] = ["x"], outputs: [String] = ["y"], _ attributes: [ONNXAttributeProto] = []) -> ONNXNodeProto {
            ONNXNodeProto(name: "n", opType: op, inputs: inputs, outputs: outputs, attributes: attributes)
        }
        let cases: [(ONNXNodeProto, [String], [ONNXTensorProto])] = [
            (node("Cast", [ONNXAttributeProto(name: "to", type: .int, i: 8)]), ["y"], []),  // to string
            (node("Relu", [ONNXAttributeProto(name: "body", type: .graph, g: ONNXGraphProto())]), ["y"], []),
            (node("Dropout", outputs: ["y", "mask"]), ["y", "mask"], []),
            (node("Dropout", inputs: ["x", "", "train"]), ["y"],
             [ONNXTensorProto(name: "train", dataType: 9, int32Data: [1])]),
            (node("BatchNormalization", inputs: ["x", "s", "s", "s", "s"], outputs: ["y", "mean"],
                  [ONNXAttributeProto(name: "training_mode", type: .int, i: 0)]), ["y", "mean"],
             [ONNXTensorProto(name: "s", dataType: 1, dims: [4], floatData: [1, 1, 1, 1])]),
        ]
        for (n, outputs, initializers) in cases {
            let g = try Self.load(Self.model([n], outputs: outputs, initializers: initializers))
            #expect(g.nodes.map(\.op) == [Node.unsupportedOp], "\(n.opType)")
        }
        // Unread running-statistics outputs are dropped; a constant false training_mode is fine.
        let bn = try Self.load(Self.model([node("BatchNormalization", inputs: ["x", "s", "s", "s", "s"], outputs: ["y", "mean"])],
                                          initializers: [ONNXTensorProto(name: "s", dataType: 1, dims: [4], floatData: [1, 1, 1, 1])]))
        #expect(bn.nodes.first?.outputs == ["y"])
        let dropout = try Self.load(Self.model([node("Dropout", inputs: ["x", "", "train"])],
                                               initializers: [ONNXTensorProto(name: "train", dataType: 9, int32Data: [0])]))
        #expect(dropout.nodes.first?.op == "Identity")
        // Add-6 aligned at an axis needs both ranks.
        let add = node("Add", inputs: ["x", "b"], [ONNXAttributeProto(name: "broadcast", type: .int, i: 1),
                                                   ONNXAttributeProto(name: "axis", type: .int, i: 0)])
        let unknownRank = try Self.load(Self.model([add], inputs: [Self.x(nil), ONNXValueInfoProto(name: "b", elemType: 1)], opset: 6))
        #expect(unknownRank.nodes.map(\.op) == [Node.unsupportedOp])
    }

    @Test func declaredShapesThatOverflowAreRefused() throws {
        let huge = ONNXValueInfoProto(name: "x", elemType: 1, shape: [.value(1 << 40), .value(1 << 40), .value(1 << 40)])
        let flatten = ONNXNodeProto(name: "f", opType: "Flatten", inputs: ["x"], outputs: ["y"],
                                    attributes: [ONNXAttributeProto(name: "axis", type: .int, i: 0)])
        let e = try Self.error(Self.model([flatten], inputs: [huge]))
        #expect(e.description == "mem.onnx: value 'x' is declared with shape [1099511627776,1099511627776,1099511627776], whose size overflows")
    }

    @Test func initializersNeedDistinctNames() throws {
        let t = ONNXTensorProto(name: "w", dataType: 1, floatData: [1])
        #expect(try Self.error(Self.model([], outputs: [], initializers: [t, t])).message == "initializer 'w' is defined twice")
        #expect(try Self.error(Self.model([], outputs: [], initializers: [ONNXTensorProto(dataType: 1, floatData: [1])]))
            .message == "initializer #0 has no name")
    }

    @Test func boolBytesOtherThanZeroAndOneMeanTrue() throws {
        let t = ONNXTensorProto(name: "b", dataType: 9, dims: [3], rawData: [0, 2, 1])
        let g = try Self.load(Self.model([], outputs: [], initializers: [t]))
        #expect(g.initializers["b"]?.scalars(as: Bool.self) == [false, true, true])
    }

    /// Random byte corruption of a real model: the import fails with an AscentError or succeeds, never crashes.
    @Test func corruptedFilesNeverCrash() throws {
        let original = [UInt8](try Data(contentsOf: TestPaths.fixture("digits/digits.onnx")))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var imported = 0
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            guard let model = try? ONNXModelProto.decode(bytes: bytes, fileName: "corrupt.onnx") else { continue }
            do {
                _ = try ONNXImporter.load(model: model, folder: ".", fileName: "corrupt.onnx")
                imported += 1
            } catch let e as AscentError {
                #expect(e.file == "corrupt.onnx")
            }
        }
        #expect(imported > 0)
    }
}
