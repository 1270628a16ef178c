import AscentIR
@testable import AscentRuntime
import Testing

/// The ops of MoreOps/AttentionOps where the ONNX conformance tests do not reach: shape rules
/// with symbolic dimensions, integer types other than the tests', and values only known at run time.
@Suite struct MoreOpsTests {
    func infer(_ op: String, _ inputs: [ValueType?], attributes: [String: Attribute] = [:], constants: [Tensor?] = [],
               outputs: Int = 1) throws -> [ValueType?] {
        let node = Node(name: "n", op: op, inputs: inputs.indices.map { "i\($0)" }, outputs: (0..<outputs).map { "o\($0)" },
                        attributes: attributes)
        let schema = try #require(OpRegistry.definition(op))
        return try schema.shape(ShapeContext(node: node, inputTypes: inputs, constantInputs: constants + Array(repeating: nil, count: max(0, inputs.count - constants.count))))
    }

    @Test func shapeRulesKeepSymbolicDimensions() throws {
        let x = ValueType(.float32, ["N", 3, "T"])
        #expect(try infer("ArgMax", [x], attributes: ["axis": .int(-1), "keepdims": .int(0)]) == [ValueType(.int64, ["N", 3])])
        #expect(try infer("Size", [x]) == [ValueType(.int64, Shape([Dim]()))])
        #expect(try infer("CastLike", [x, ValueType(.int32, [1])]) == [ValueType(.int32, ["N", 3, "T"])])
        #expect(try infer("Mod", [ValueType(.int64, ["N", 1]), ValueType(.int64, [4])]) == [ValueType(.int64, ["N", 4])])
        let k = Tensor(shape: [1], scalars: [Int64(2)])
        #expect(try infer("TopK", [x, ValueType(.int64, [1])], constants: [nil, k], outputs: 2)
                == [ValueType(.float32, ["N", 3, 2]), ValueType(.int64, ["N", 3, 2])])
        #expect(try infer("OneHot", [ValueType(.int64, ["N"]), ValueType(.int64, []), ValueType(.float32, [2])],
                          constants: [nil, Tensor(scalar: Int64(5))]) == [ValueType(.float32, ["N", 5])])
        let attention = try infer("Attention", [ValueType(.float32, ["B", 4, 16]), ValueType(.float32, ["B", 6, 8]), ValueType(.float32, ["B", 6, 12])],
                                  attributes: ["q_num_heads": .int(4), "kv_num_heads": .int(2)], outputs: 4)
        #expect(attention == [ValueType(.float32, ["B", 4, 24]), ValueType(.float32, ["B", 2, 6, 4]),
                              ValueType(.float32, ["B", 2, 6, 6]), ValueType(.float32, ["B", 4, 4, 6])])
        #expect(try infer("DepthToSpace", [ValueType(.float32, ["N", 8, 2, 3])], attributes: ["blocksize": .int(2)])
                == [ValueType(.float32, ["N", 2, 4, 6])])
        #expect(throws: AscentError.self) {
            try infer("DepthToSpace", [ValueType(.float32, ["N", 6, 2, 3])], attributes: ["blocksize": .int(2)])
        }
    }

    /// Output 0 of a one-node graph (`outputs` declared outputs).
    func run(_ op: String, _ inputs: [Tensor], attributes: [String: Attribute] = [:], outputs: Int = 1) throws -> Tensor {
        let names = inputs.indices.map { "x\($0)" }
        let g = Graph(name: "g", inputs: zip(names, inputs).map { ValueInfo(name: $0, type: ValueType($1.dtype, Shape($1.shape))) },
                      outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                      nodes: [Node(name: "n", op: op, inputs: names, outputs: ["y"] + (1..<outputs).map { "y\($0)" }, attributes: attributes)])
        return try #require(try Session(graph: g).run(Dictionary(uniqueKeysWithValues: zip(names, inputs)))["y"])
    }

    @Test func integerKernelsWrapAndFollowTheDivisorsSign() throws {
        let a = Tensor(shape: [4], scalars: [Int32(-7), 7, -7, 7]), b = Tensor(shape: [4], scalars: [Int32(3), -3, -3, 0])
        #expect(try run("Mod", [a, b]).scalars(as: Int32.self) == [2, -2, -1, 0])
        #expect(try run("Mod", [a, b], attributes: ["fmod": .int(1)]).scalars(as: Int32.self) == [-1, 1, -1, 0])
        let x = Tensor(shape: [2, 3], scalars: [Int32(1), 2, 3, 4, 5, 6])
        let axis = Tensor(scalar: Int64(1))
        #expect(try run("CumSum", [x, axis], attributes: ["exclusive": .int(1), "reverse": .int(1)]).scalars(as: Int32.self)
                == [5, 3, 0, 11, 6, 0])
        #expect(try run("CumProd", [x, axis]).scalars(as: Int32.self) == [1, 2, 6, 4, 20, 120])
        let u = Tensor(shape: [3], scalars: [UInt8(200), 100, 1])
        #expect(try run("BitShift", [u, Tensor(shape: [3], scalars: [UInt8(1), 1, 8])], attributes: ["direction": .string("LEFT")])
                .scalars(as: UInt8.self) == [144, 200, 0])
    }

    @Test func sizeAndValueDependentShapesAtRunTime() throws {
        let x = Tensor(shape: [2, 5], scalars: [Float](repeating: 1, count: 10))
        #expect(try run("Size", [x]).scalars(as: Int64.self) == [10])
        let v = Tensor(shape: [6], scalars: [Float(3), 1, 3, 0, 2, 1])
        let unique = try run("Unique", [v], attributes: ["sorted": .int(0)])
        #expect(unique.scalars(as: Float.self) == [3, 1, 0, 2])
        let nonzero = try run("NonZero", [v])
        #expect(nonzero.shape == [1, 5] && nonzero.scalars(as: Int64.self) == [0, 1, 2, 4, 5])
        // TopK with k computed at run time (a graph input, not a constant).
        let top = try run("TopK", [v, Tensor(shape: [1], scalars: [Int64(2)])], outputs: 2)
        #expect(top.scalars(as: Float.self) == [3, 3])
        // TopK-1: k as an attribute; smallest values, ties by index.
        let bottom = try run("TopK", [v], attributes: ["k": .int(3), "largest": .int(0)], outputs: 2)
        #expect(bottom.scalars(as: Float.self) == [0, 1, 1])
    }
}
