import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// The ONNX protobuf bridge against the tf2onnx fixture `digits.onnx` and the listing the onnx
/// Python package wrote of it (`digits.onnx.json`), the encoder, and bad input.
@Suite struct ONNXProtobufTests {
    static let fixture = TestPaths.fixture("digits/digits.onnx")

    static func listing() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("digits/digits.onnx.json")))
        return try #require(object as? [String: Any])
    }

    /// The sum of a tensor's values, from `raw_data` (little-endian) or the typed field.
    static func sum(_ tensor: ONNXTensorProto) -> Double? {
        func raw<T>(_ type: T.Type, _ convert: (T) -> Double) -> Double? {
            guard let bytes = tensor.rawBytes else { return nil }
            return bytes.withUnsafeBytes { buffer in
                stride(from: 0, to: buffer.count, by: MemoryLayout<T>.size)
                    .map { convert(buffer.loadUnaligned(fromByteOffset: $0, as: T.self)) }.reduce(0, +)
            }
        }
        switch tensor.dataType {
        case 1: return raw(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
            ?? tensor.floatData.reduce(0) { $0 + Double($1) }
        case 6: return raw(Int32.self) { Double(Int32(littleEndian: $0)) } ?? tensor.int32Data.reduce(0) { $0 + Double($1) }
        case 7: return raw(Int64.self) { Double(Int64(littleEndian: $0)) } ?? tensor.int64Data.reduce(0) { $0 + Double($1) }
        case 11: return raw(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) } ?? tensor.doubleData.reduce(0, +)
        default: return nil
        }
    }

    /// A value-info shape in the listing's terms: ints, strings, nil for unknown dimensions.
    static func jsonShape(_ shape: [ONNXDimension]?) -> [Any?]? {
        shape?.map { dimension -> Any? in
            switch dimension {
            case .value(let value): Int(value)
            case .param(let name): name
            case .unknown: nil
            }
        }
    }

    static func sameShape(_ decoded: [Any?]?, _ json: Any?) -> Bool {
        guard let decoded, let json = json as? [Any] else { return decoded == nil && (json == nil || json is NSNull) }
        return decoded.count == json.count && zip(decoded, json).allSatisfy { mine, theirs in
            switch (mine, theirs) {
            case (let m as Int, let t as Int): m == t
            case (let m as String, let t as String): m == t
            case (nil, is NSNull): true
            default: false
            }
        }
    }

    @Test func decodesWhatTheOnnxPackageSaw() throws {
        let json = try Self.listing()
        let model = try ONNXModelProto.load(path: Self.fixture.path)
        #expect(model.irVersion == json["ir_version"] as? Int64)
        #expect(model.producerName == json["producer_name"] as? String)
        #expect(model.producerVersion == json["producer_version"] as? String)
        let opsets = try #require(json["opset_import"] as? [[String: Any]])
        #expect(model.opsetImports == opsets.map {
            ONNXOperatorSet(domain: $0["domain"] as? String ?? "?", version: $0["version"] as? Int64 ?? -1)
        })
        #expect(model.graph.name == json["graph_name"] as? String)

        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(model.graph.nodes.count == nodes.count)
        for (node, expected) in zip(model.graph.nodes, nodes) {
            #expect(node.name == expected["name"] as? String)
            #expect(node.opType == expected["op_type"] as? String)
            #expect(node.domain == expected["domain"] as? String)
            #expect(node.inputs == expected["inputs"] as? [String], "\(node.name)")
            #expect(node.outputs == expected["outputs"] as? [String], "\(node.name)")
            #expect(node.attributes.map(\.name) == expected["attributes"] as? [String], "\(node.name)")
        }

        let initializers = try #require(json["initializers"] as? [[String: Any]])
        #expect(model.graph.initializers.count == initializers.count)
        for (tensor, expected) in zip(model.graph.initializers, initializers) {
            #expect(tensor.name == expected["name"] as? String)
            #expect(tensor.dataType == expected["data_type"] as? Int32, "\(tensor.name)")
            #expect(tensor.dims == expected["dims"] as? [Int64], "\(tensor.name)")
            let sum = try #require(Self.sum(tensor), "\(tensor.name)")
            expectClose(sum, try #require(expected["sum"] as? Double), scaledTolerance: 1e-5, "\(tensor.name): sum")
        }

        for (values, key) in [(model.graph.inputs, "inputs"), (model.graph.outputs, "outputs")] {
            let expected = try #require(json[key] as? [[String: Any]])
            #expect(values.map(\.name) == expected.map { $0["name"] as? String ?? "?" })
            for (value, reference) in zip(values, expected) {
                #expect(value.kind == .tensor && value.elemType == reference["elem_type"] as? Int32)
                #expect(Self.sameShape(Self.jsonShape(value.shape), reference["shape"]), "\(value.name)")
            }
        }
        #expect(model.graph.sparseInitializerCount == 0)
    }

    @Test func readsConvAttributes() throws {
        let model = try ONNXModelProto.load(path: Self.fixture.path)
        let conv = try #require(model.graph.nodes.first { $0.opType == "Conv" })
        let strides = try #require(conv.attributes.first { $0.name == "strides" })
        #expect(strides.type == .ints && strides.ints == [1, 1])
        let group = try #require(conv.attributes.first { $0.name == "group" })
        #expect(group.type == .int && group.i == 1)
        let cast = try #require(model.graph.nodes.first { $0.opType == "Cast" })
        #expect(cast.attributes.first?.type == .int)
    }

    @Test func roundTripsTheFixture() throws {
        let original = [UInt8](try Data(contentsOf: Self.fixture))
        let model = try ONNXModelProto.decode(bytes: original, fileName: "digits.onnx")
        let encoded = try model.encode()
        #expect(try ONNXModelProto.decode(bytes: encoded, fileName: "encoded") == model)
        #expect(try ONNXModelProto.decode(bytes: encoded, fileName: "encoded").encode() == encoded)
        // tf2onnx writes empty strings (node domains) that the encoder leaves unset: a little shorter.
        #expect(encoded.count <= original.count && encoded.count > original.count * 9 / 10)
    }

    /// A model exercising every field the bridge carries, nested graphs included.
    static func syntheticModel() -> ONNXModelProto {
        let weights = ONNXTensorProto(name: "w", dataType: 1, dims: [2], rawData: [0, 0, 128, 63, 0, 0, 0, 64])
        let branch = ONNXGraphProto(
            name: "then", nodes: [ONNXNodeProto(opType: "Identity", inputs: ["w"], outputs: ["y"])],
            outputs: [ONNXValueInfoProto(name: "y", elemType: 1, shape: [.value(2)])])
        let attributes = [
            ONNXAttributeProto(name: "zero_i", type: .int), ONNXAttributeProto(name: "zero_f", type: .float),
            ONNXAttributeProto(name: "empty_s", type: .string),
            ONNXAttributeProto(name: "alpha", type: .float, f: 0.25),
            ONNXAttributeProto(name: "mode", type: .string, s: Array("reflect ✓".utf8)),
            ONNXAttributeProto(name: "value", type: .tensor, t: weights),
            ONNXAttributeProto(name: "then_branch", type: .graph, g: branch),
            ONNXAttributeProto(name: "floats", type: .floats, floats: [1.5, -2]),
            ONNXAttributeProto(name: "ints", type: .ints, ints: [-1, 0, Int64.max]),
            ONNXAttributeProto(name: "strings", type: .strings, strings: [[], [0, 255]]),
            ONNXAttributeProto(name: "tensors", type: .tensors, tensors: [weights, ONNXTensorProto(dataType: 7, int64Data: [3])]),
            ONNXAttributeProto(name: "graphs", type: .graphs, graphs: [branch, ONNXGraphProto()]),
            ONNXAttributeProto(name: "ref", type: .float, refAttrName: "outer_alpha", docString: "refers"),
        ]
        let tensors = [
            weights,
            ONNXTensorProto(name: "empty_raw", dataType: 1, dims: [0], rawData: []),
            ONNXTensorProto(name: "typed", dataType: 11, dims: [2], doubleData: [1e300, -0.5]),
            ONNXTensorProto(name: "ints", dataType: 6, int32Data: [-7]),
            ONNXTensorProto(name: "big", dataType: 13, uint64Data: [UInt64.max]),
            ONNXTensorProto(name: "text", dataType: 8, dims: [2], stringData: [Array("a".utf8), []]),
            ONNXTensorProto(name: "float_field", dataType: 1, floatData: [3.5]),
            ONNXTensorProto(name: "outside", dataType: 1, dims: [1000], dataLocation: .external,
                            externalData: [ONNXStringPair(key: "location", value: "weights.bin"),
                                           ONNXStringPair(key: "offset", value: "0")], docString: "external"),
        ]
        let graph = ONNXGraphProto(
            name: "main",
            nodes: [ONNXNodeProto(name: "n0", opType: "Custom", domain: "com.example", inputs: ["x", "", "w"],
                                  outputs: ["z"], attributes: attributes, docString: "node doc")],
            initializers: tensors,
            inputs: [ONNXValueInfoProto(name: "x", elemType: 1, shape: [.param("batch"), .value(3), .unknown]),
                     ONNXValueInfoProto(name: "scalar", elemType: 7, shape: []),
                     ONNXValueInfoProto(name: "any_rank", elemType: 10)],
            outputs: [ONNXValueInfoProto(name: "z", kind: .sequence), ONNXValueInfoProto(name: "m", kind: .map),
                      ONNXValueInfoProto(name: "o", kind: .optional), ONNXValueInfoProto(name: "p", kind: .opaque),
                      ONNXValueInfoProto(name: "s", kind: .sparseTensor, elemType: 1, shape: [.value(4)])],
            valueInfo: [ONNXValueInfoProto(name: "untyped", kind: .none, docString: "no type")],
            docString: "graph doc")
        return ONNXModelProto(
            irVersion: 10, producerName: "ascent", producerVersion: "0.1", domain: "org.ascent", modelVersion: 3,
            docString: "a test model", opsetImports: [ONNXOperatorSet(version: 21), ONNXOperatorSet(domain: "com.example", version: 1)],
            metadataProps: [ONNXStringPair(key: "author", value: "tests"), ONNXStringPair(key: "", value: "")], graph: graph)
    }

    @Test func roundTripsEveryField() throws {
        let model = Self.syntheticModel()
        let encoded = try model.encode()
        let decoded = try ONNXModelProto.decode(bytes: encoded, fileName: "synthetic.onnx")
        #expect(decoded == model)
        #expect(try decoded.encode() == encoded)
        let zero = try #require(decoded.graph.nodes.first?.attributes.first)
        #expect(zero.name == "zero_i" && zero.type == .int && zero.i == 0)
        #expect(decoded.graph.initializers[1].rawData == [])  // present but empty stays distinct from absent
        #expect(decoded.graph.initializers[0].rawData?.count == 8 && decoded.graph.initializers[2].rawData == nil)
    }

    @Test func encodingRefusesStringsWithNul() throws {
        var model = Self.syntheticModel()
        model.graph.nodes[0].inputs[0] = "x\0y"
        let error = try #require(throws: ONNXFileError.self) { try model.encode() }
        #expect(error.kind == .unencodable && error.description.contains("NUL"))
    }

    /// A model whose graph nests `depth` If-branches inside one another.
    static func nestedModel(depth: Int) -> ONNXModelProto {
        var graph = ONNXGraphProto(name: "leaf")
        for level in 0..<depth {
            let node = ONNXNodeProto(opType: "If", inputs: ["c"], outputs: ["o\(level)"],
                                     attributes: [ONNXAttributeProto(name: "then_branch", type: .graph, g: graph)])
            graph = ONNXGraphProto(name: "level\(level)", nodes: [node])
        }
        return ONNXModelProto(irVersion: 8, graph: graph)
    }

    /// The same shape of model as raw protobuf bytes, written directly (any depth, no recursion).
    static func nestedModelBytes(depth: Int) -> [UInt8] {
        func field(_ number: UInt64, _ payload: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            for var value in [number << 3 | 2, UInt64(payload.count)] {
                while value >= 0x80 { bytes.append(UInt8(value & 0x7f) | 0x80); value >>= 7 }
                bytes.append(UInt8(value))
            }
            return bytes + payload
        }
        var graph: [UInt8] = []
        for _ in 0..<depth {
            let attribute = field(1, Array("then_branch".utf8)) + [0xa0, 0x01, 5] + field(6, graph)  // type = GRAPH
            graph = field(1, field(4, Array("If".utf8)) + field(5, attribute))  // GraphProto.node
        }
        return [0x08, 0x08] + field(7, graph)  // ir_version 8, graph
    }

    @Test func boundsNestingDepth() throws {
        // Graph level k sits 2 + 3k messages deep; the encoder keeps 3 spare levels per graph.
        let shallow = Self.nestedModel(depth: 31)
        #expect(try ONNXModelProto.decode(bytes: shallow.encode(), fileName: "shallow.onnx") == shallow)
        let written = try ONNXModelProto.decode(bytes: Self.nestedModelBytes(depth: 32), fileName: "written.onnx")
        #expect(written.graph.nodes.first?.attributes.first?.g?.nodes.first?.opType == "If")
        let tooDeep = try #require(throws: ONNXFileError.self) { try Self.nestedModel(depth: 40).encode() }
        #expect(tooDeep.kind == .unencodable)
        for depth in [40, 3000] {  // 9000 messages deep: protobuf-c alone would recurse that far
            let bytes = Self.nestedModelBytes(depth: depth)
            let error = try #require(throws: ONNXFileError.self) { try ONNXModelProto.decode(bytes: bytes, fileName: "deep.onnx") }
            #expect(error.kind == .invalid && error.description.hasPrefix("deep.onnx: not a valid ONNX protobuf"))
            #expect(error.message.contains("nested deeper than 100"))
        }
    }

    @Test func missingFileIsItsOwnCase() throws {
        let folder = try TestPaths.temporaryDirectory()
        let path = folder.appendingPathComponent("absent.onnx").path
        let error = try #require(throws: ONNXFileError.self) { try ONNXModelProto.load(path: path) }
        #expect(error == ONNXFileError(.missing, fileName: path, message: "no such file"))
        #expect(error.isMissingOrUnreadable && error.description == "\(path): no such file")
        let directory = try #require(throws: ONNXFileError.self) { try ONNXModelProto.load(path: folder.path) }
        #expect(directory.kind == .unreadable && directory.isMissingOrUnreadable)
    }

    @Test(arguments: ["truncated", "random", "text", "empty", "no-graph"])
    func badBytesGiveInvalidFileErrors(_ variant: String) throws {
        let original = [UInt8](try Data(contentsOf: Self.fixture))
        var generator = SeededRandom(name: variant)
        let bytes: [UInt8] = switch variant {
        case "truncated": Array(original.prefix(original.count / 2))
        case "random": generator.bytes(4096)
        case "text": Array("this is not an ONNX model\n".utf8)
        case "no-graph": [0x08, 0x08, 0x12, 0x03, 0x61, 0x62, 0x63]  // ir_version 8, producer "abc"
        default: []
        }
        let url = try TestPaths.temporaryDirectory().appendingPathComponent("\(variant).onnx")
        try Data(bytes).write(to: url)
        let error = try #require(throws: ONNXFileError.self) { try ONNXModelProto.load(path: url.path) }
        #expect(error.kind == .invalid && !error.isMissingOrUnreadable)
        #expect(error.description.hasPrefix("\(url.path): "))
        #expect(throws: ONNXFileError.self) { try ONNXModelProto.decode(bytes: bytes, fileName: variant) }
    }
}
