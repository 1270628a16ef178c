import AscentIR
@testable import AscentRuntime
import AscentTestSupport
import Testing

/// Fused graphs (Conv + BatchNormalization + Relu/Clip) compute what the unfused nodes compute.
@Suite struct FusionTests {
    func convBNActivation(channelsLast: Bool, activation: String) -> Graph {
        let (c, o) = (3, 4)
        let kernelShape = channelsLast ? [3, 3, c, o] : [o, c, 3, 3]
        let w = Tensor(shape: kernelShape, scalars: (0..<(c * o * 9)).map { Float(($0 * 7) % 13) / 13 - 0.5 })
        let b = Tensor(shape: [o], scalars: [Float(0.1), -0.2, 0.3, 0])
        let input: Shape = channelsLast ? ["N", 6, 5, Dim.known(c)] : ["N", Dim.known(c), 6, 5]
        var initializers: [String: Tensor] = [
            "w": w, "b": b,
            "scale": Tensor(shape: [o], scalars: [Float(1.5), 0.5, -1, 2]), "shift": Tensor(shape: [o], scalars: [Float(0), 1, -1, 0.25]),
            "mean": Tensor(shape: [o], scalars: [Float(0.2), -0.1, 0, 0.3]), "var": Tensor(shape: [o], scalars: [Float(1), 0.5, 2, 0.1]),
        ]
        var nodes = [
            Node(name: "conv", op: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
                 attributes: ["data_format": .string(channelsLast ? "NHWC" : "NCHW"), "auto_pad": .string("SAME_UPPER")]),
            Node(name: "bn", op: "BatchNormalization", inputs: ["c", "scale", "shift", "mean", "var"], outputs: ["n"],
                 attributes: ["axis": .int(channelsLast ? -1 : 1), "epsilon": .float(1e-3)]),
        ]
        if activation == "Clip" {
            initializers["lo"] = Tensor(scalar: Float(0))
            initializers["hi"] = Tensor(scalar: Float(0.6))
            nodes.append(Node(name: "act", op: "Clip", inputs: ["n", "lo", "hi"], outputs: ["y"]))
        } else {
            nodes.append(Node(name: "act", op: activation, inputs: ["n"], outputs: ["y"]))
        }
        return Graph(name: "fuse", inputs: [ValueInfo(name: "x", type: ValueType(.float32, input))],
                     outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))], initializers: initializers, nodes: nodes)
    }

    @Test(arguments: [(true, "Relu"), (false, "Relu"), (true, "Clip"), (false, "Clip"), (false, "Sigmoid")])
    func fusedMatchesUnfused(channelsLast: Bool, activation: String) throws {
        let g = convBNActivation(channelsLast: channelsLast, activation: activation)
        let fused = try Session(graph: g), plain = try Session(graph: g, options: .init(fuseOperations: false))
        let shape = channelsLast ? [2, 6, 5, 3] : [2, 3, 6, 5]
        let x = Tensor(shape: shape, scalars: (0..<180).map { Float(($0 * 11) % 17) / 8 - 1 })
        let a = try fused.run(["x": x])["y"], b = try plain.run(["x": x])["y"]
        #expect(a != nil && b != nil)
        if let a, let b { expectClose(a, b, rtol: 1e-4, atol: 1e-5, "fused vs unfused") }
        // Conv absorbed BN, and the activation too when it is Relu or Clip.
        let ops = fused.program.steps.map(\.node.op)
        #expect(ops == (activation == "Sigmoid" ? ["Conv", "Sigmoid"] : ["Conv"]))
        #expect(plain.program.steps.count == 3)
    }

    /// tf2onnx writes a BatchNormalization after a depthwise convolution as Mul and Add by [C,1,1] constants.
    @Test func foldsChannelMulAndAdd() throws {
        var g = convBNActivation(channelsLast: false, activation: "Clip")
        g.initializers["m"] = Tensor(shape: [4, 1, 1], scalars: [Float(0.5), -2, 1.5, 3])
        g.initializers["a"] = Tensor(shape: [4, 1, 1], scalars: [Float(0.1), 0.2, -0.3, 0.4])
        g.initializers["d"] = Tensor(scalar: Float(4))
        g.nodes.insert(contentsOf: [
            Node(name: "mul", op: "Mul", inputs: ["m", "n"], outputs: ["n2"]),
            Node(name: "add", op: "Add", inputs: ["n2", "a"], outputs: ["n3"]),
            Node(name: "div", op: "Div", inputs: ["n3", "d"], outputs: ["n4"]),
        ], at: 2)
        g.nodes[5].inputs[0] = "n4"
        let fused = try Session(graph: g), plain = try Session(graph: g, options: .init(fuseOperations: false))
        let x = Tensor(shape: [1, 3, 6, 5], scalars: (0..<90).map { Float(($0 * 5) % 19) / 6 - 1.5 })
        let a = try fused.run(["x": x])["y"], b = try plain.run(["x": x])["y"]
        expectClose(a, try #require(b), rtol: 1e-4, atol: 1e-5, "fused vs unfused")
        #expect(fused.program.steps.map(\.node.op) == ["Conv"])
    }

    @Test func sharedValuesAreNotFused() throws {
        var g = convBNActivation(channelsLast: true, activation: "Relu")
        g.outputs.append(ValueInfo(name: "c", type: ValueType(.float32, nil))) // the conv output is also a graph output
        let s = try Session(graph: g)
        #expect(s.program.steps.map(\.node.op) == ["Conv", "BatchNormalization", "Relu"])
    }
}
