import AscentIR
import AscentTestSupport
import Testing

/// A small NHWC classifier graph exercising every attribute kind, symbolic dims and layouts.
func sampleGraph() -> Graph {
    let kernel = Tensor(shape: [3, 3, 1, 4], scalars: (0..<36).map { Float($0) * 0.25 - 4 })
    let bias = Tensor(shape: [4], scalars: [Float(0.5), -0.5, .nan, .infinity])
    let dense = Tensor(shape: [4, 10], scalars: (0..<40).map { Double($0) / 3 })
    let shape = Tensor(shape: [2], scalars: [Int64(-1), 4])
    return Graph(
        name: "sample",
        inputs: [ValueInfo(name: "image", type: ValueType(.float32, ["N", 8, 8, 1], layout: .nhwc))],
        outputs: [ValueInfo(name: "probs", type: ValueType(.float32, ["N", 10]))],
        initializers: ["conv/kernel": kernel, "conv/bias": bias, "dense/kernel": dense.converted(to: .float32),
                       "flat/shape": shape],
        nodes: [
            Node(name: "conv", op: "Conv", inputs: ["image", "conv/kernel", "conv/bias"], outputs: ["conv"],
                 attributes: ["data_format": .string("NHWC"), "auto_pad": .string("SAME_UPPER"),
                              "strides": .ints([1, 1]), "dilations": .ints([1, 1])]),
            Node(name: "relu", op: "Relu", inputs: ["conv"], outputs: ["relu"]),
            Node(name: "pool", op: "GlobalAveragePool", inputs: ["relu"], outputs: ["pool"],
                 attributes: ["data_format": .string("NHWC")]),
            Node(name: "flat", op: "Reshape", inputs: ["pool", "flat/shape"], outputs: ["flat"]),
            Node(name: "scale", op: "Constant", inputs: [], outputs: ["scale"],
                 attributes: ["value": .tensor(Tensor(scalar: Float(2)))]),
            Node(name: "scaled", op: "Mul", inputs: ["flat", "scale"], outputs: ["scaled"]),
            Node(name: "dense", op: "Gemm", inputs: ["scaled", "dense/kernel"], outputs: ["logits"],
                 attributes: ["alpha": .float(1.0), "beta": .float(0.1)]),
            Node(name: "probs", op: "Softmax", inputs: ["logits"], outputs: ["probs"], attributes: ["axis": .int(-1)]),
        ],
        metadata: ["source_format": "test", "producer": "AscentIRTests"])
}

@Suite struct GraphTests {
    @Test func validatesAndInfersTypes() throws {
        let g = sampleGraph()
        try g.validate()
        let types = try g.inferTypes()
        #expect(types["conv"]?.description == "float32[N,8,8,4] NHWC")
        #expect(types["pool"]?.description == "float32[N,1,1,4] NHWC")
        #expect(types["flat"]?.shape == Shape([Dim.symbol("N"), 4]))
        #expect(types["probs"]?.description == "float32[N,10]")
    }

    @Test func printerIsStableAndReadable() throws {
        let text = sampleGraph().printed()
        #expect(text == sampleGraph().printed())
        #expect(text.contains("  input  %image: float32[N,8,8,1] NHWC\n"))
        #expect(text.contains("%conv = Conv(%image, %conv/kernel, %conv/bias) {auto_pad=\"SAME_UPPER\", data_format=\"NHWC\", dilations=[1,1], strides=[1,1]} : float32[N,8,8,4] NHWC  # conv\n"))
        #expect(text.contains("%scale = Constant() {value=float32[]{2.0}} : float32[]  # scale\n"))
        #expect(text.hasSuffix("  output %probs: float32[N,10]\n}\n"))
    }

    @Test func rejectsUndefinedInputs() {
        var g = sampleGraph()
        g.nodes[1].inputs = ["nope"]
        expectInvalid(g, "node 'relu' (Relu): input 'nope' is not defined")
    }

    @Test func rejectsCyclesAndBadOrder() {
        var g = sampleGraph()
        g.nodes.swapAt(0, 1)
        expectInvalid(g, "used before it is defined")
        var cyclic = sampleGraph()
        cyclic.nodes[0].inputs[0] = "relu"
        expectInvalid(cyclic, "cycle through node")
    }

    @Test func rejectsDoubleDefinitionsAndArity() {
        var g = sampleGraph()
        g.nodes[1].outputs = ["conv"]
        expectInvalid(g, "value 'conv' is defined twice")
        var h = sampleGraph()
        h.nodes[1].inputs = ["conv", "conv"]
        expectInvalid(h, "has 2 inputs, Relu takes 1")
    }

    @Test func rejectsInconsistentShapes() {
        var g = sampleGraph()
        g.initializers["dense/kernel"] = Tensor(shape: [5, 10], scalars: [Float](repeating: 0, count: 50))
        expectInvalid(g, "node 'dense' (Gemm): inner dimensions differ")
        var h = sampleGraph()
        h.outputs[0].type = ValueType(.float32, ["N", 11])
        expectInvalid(h, "value 'probs' is declared float32[N,11] but computes float32[N,10]")
    }

    @Test func unsupportedNodesAreKeptNotRejected() throws {
        var g = sampleGraph()
        g.nodes.insert(.unsupported(name: "nms", sourceOp: "NonMaxSuppression", source: "ai.onnx opset 17",
                                    inputs: ["relu"], outputs: ["boxes"]), at: 2)
        try g.validate()
        #expect(g.unsupportedNodes.map(\.label) == ["'nms' (NonMaxSuppression, ai.onnx opset 17)"])
        #expect(try g.inferTypes()["boxes"] == nil)
    }

    @Test func topologicalSortRepairsOrder() throws {
        var g = sampleGraph()
        g.nodes.reverse()
        let sorted = try g.topologicallySorted()
        try sorted.validate()
        #expect(throws: AscentError.self) { try g.validate() }
        #expect(sorted.nodes.map(\.name).sorted() == g.nodes.map(\.name).sorted())
    }

    @Test func convolutionShapeRules() throws {
        func convOut(_ x: Shape, _ w: [Int], _ attrs: [String: Attribute]) throws -> String {
            let g = Graph(name: "c", inputs: [ValueInfo(name: "x", type: ValueType(.float32, x))],
                          outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                          initializers: ["w": try Tensor(zeros: .float32, shape: w)],
                          nodes: [Node(name: "c", op: "Conv", inputs: ["x", "w"], outputs: ["y"], attributes: attrs)])
            return try g.inferTypes()["y"]!.description
        }
        #expect(try convOut([1, 3, 32, 32], [8, 3, 3, 3], ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]) == "float32[1,8,16,16] NCHW")
        #expect(try convOut([1, 31, 31, 3], [3, 3, 3, 8], ["data_format": .string("NHWC"), "strides": .ints([2, 2]),
                                                            "auto_pad": .string("SAME_UPPER")]) == "float32[1,16,16,8] NHWC")
        #expect(try convOut([1, 8, 10, 10], [8, 1, 3, 3], ["group": .int(8), "dilations": .ints([2, 2])]) == "float32[1,8,6,6] NCHW")
        #expect(throws: AscentError.self) { try convOut([1, 4, 10, 10], [8, 3, 3, 3], [:]) }
    }

    private func expectInvalid(_ g: Graph, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try g.validate()
            Issue.record("expected validation to fail with '\(fragment)'", sourceLocation: sourceLocation)
        } catch let e as AscentError {
            #expect(e.kind == .invalidData, sourceLocation: sourceLocation)
            #expect(e.description.contains(fragment), "\(e.description)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }
}

@Suite struct HostileShapeTests {
    /// Attribute and constant values from a hostile file must not overflow the shape rules.
    @Test func hugeValuesAreRefusedNotTrapped() throws {
        func graph(_ op: String, _ x: Shape, _ extra: [String: Tensor], _ inputs: [String], _ attrs: [String: Attribute]) -> Graph {
            Graph(name: "h", inputs: [ValueInfo(name: "x", type: ValueType(.float32, x))],
                  outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                  initializers: extra,
                  nodes: [Node(name: "n", op: op, inputs: ["x"] + inputs, outputs: ["y"], attributes: attrs)])
        }
        let w = try Tensor(zeros: .float32, shape: [1, 1, 3, 3])
        let cases: [Graph] = [
            graph("Conv", [1, 1, 8, 8], ["w": w], ["w"], ["dilations": .ints([Int.max, 1])]),
            graph("Conv", [1, 1, 8, 8], ["w": w], ["w"], ["pads": .ints([Int.max, 0, Int.max, 0])]),
            graph("MaxPool", [1, 1, 8, 8], [:], [], ["kernel_shape": .ints([2, 2]), "pads": .ints([Int.max - 1, 0, 5, 0])]),
            graph("Pad", [2, 2], ["p": Tensor(shape: [4], scalars: [Int64.max, 0, Int64.max, 0])], ["p"], [:]),
            graph("Tile", [4, 4], ["r": Tensor(shape: [2], scalars: [Int64.max, 2])], ["r"], [:]),
            graph("Flatten", [Dim.known(Int.max / 2), 4, 4], [:], [], ["axis": .int(2)]),
        ]
        for g in cases {
            #expect(throws: AscentError.self, "\(g.nodes[0].op)") { try g.validate() }
        }
    }
}
