import AscentIR
import AscentRuntime
import AscentTestSupport
import Testing

/// Gradients of RNN, GRU and LSTM (backpropagation through their unrolled decomposition) against
/// central finite differences, for the inputs, the weights, the biases, the initial states and the
/// peepholes; and the unrolled form against the runtime's fused kernel, which the ONNX node tests
/// check against ONNX's reference.
@Suite struct RecurrentGradientTests {
    /// A recurrent node over `x [seq 3, batch 2, 3]` (layout 0) or `[batch 2, seq 3, 3]` with hidden 4.
    static func recurrent(_ op: String, name: String, directions: Int = 1, attributes: [String: Attribute] = [:],
                          lengths: [Int32]? = nil, states: Bool = false, peepholes: Bool = false, output: Int = 0) -> GradCase {
        let g = op == "RNN" ? 1 : op == "GRU" ? 3 : 4, h = 4, batchFirst = attributes["layout"]?.int == 1
        var inputs: [(String, Tensor)] = [
            ("x", SeededRandom.uniform(seed: 51, batchFirst ? [2, 3, 3] : [3, 2, 3])),
            ("w", SeededRandom.uniform(seed: 52, [directions, g * h, 3], -0.6, 0.6)),
            ("r", SeededRandom.uniform(seed: 53, [directions, g * h, h], -0.6, 0.6)),
            ("b", SeededRandom.uniform(seed: 54, [directions, 2 * g * h], -0.3, 0.3)),
        ]
        var names = ["x", "w", "r", "b", lengths == nil ? "" : "lens"]
        var constants: [String: Tensor] = [:]
        if let lengths { constants["lens"] = Tensor(shape: [2], scalars: lengths) }
        if states {
            let shape = batchFirst ? [2, directions, h] : [directions, 2, h]
            inputs.append(("h0", SeededRandom.uniform(seed: 55, shape, -0.5, 0.5)))
            names.append("h0")
            if op == "LSTM" {
                inputs.append(("c0", SeededRandom.uniform(seed: 56, shape, -0.5, 0.5)))
                names.append("c0")
            }
        }
        if peepholes {
            while names.count < 7 { names.append("") }
            inputs.append(("p", SeededRandom.uniform(seed: 57, [directions, 3 * h], -0.5, 0.5)))
            names.append("p")
        }
        while names.last == "" { names.removeLast() }
        var attrs = attributes
        attrs["hidden_size"] = .int(h)
        if directions == 2 { attrs["direction"] = .string("bidirectional") }
        let outputs = ["y", "yh", "yc"].prefix(op == "LSTM" ? 3 : 2).map { $0 == ["y", "yh", "yc"][output] ? "out" : $0 }
        let n = Node(name: "rnn", op: op, inputs: names, outputs: Array(outputs), attributes: attrs)
        return GradCase(name: name, nodes: [n], inputs: inputs, constants: constants, output: "out")
    }

    static let cases: [GradCase] = [
        recurrent("RNN", name: "RNN"),
        recurrent("RNN", name: "RNN reverse, layout 1, states, final state", attributes: ["direction": .string("reverse"), "layout": .int(1)],
                  states: true, output: 1),
        recurrent("RNN", name: "RNN Relu with sequence lengths", attributes: ["activations": .strings(["Relu"])], lengths: [3, 2]),
        recurrent("GRU", name: "GRU"),
        recurrent("GRU", name: "GRU linear_before_reset, bidirectional, states", directions: 2,
                  attributes: ["linear_before_reset": .int(1)], states: true),
        recurrent("GRU", name: "GRU bidirectional with sequence lengths, final state", directions: 2, lengths: [2, 3], output: 1),
        recurrent("LSTM", name: "LSTM"),
        recurrent("LSTM", name: "LSTM peepholes, states, final cell", states: true, peepholes: true, output: 2),
        recurrent("LSTM", name: "LSTM bidirectional, layout 1, clip, sequence lengths", directions: 2,
                  attributes: ["layout": .int(1), "clip": .float(2)], lengths: [3, 1]),
    ]

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// The unrolled form computes what the fused kernel computes (every output).
    @Test(arguments: cases)
    func unrolledFormMatchesTheKernel(_ c: GradCase) throws {
        var graph = GradCheck.graph(c)
        let node = graph.nodes[0]
        graph.outputs = node.outputs.filter { !$0.isEmpty }.map { ValueInfo(name: $0, type: ValueType(.float32, nil)) }
        let unrolled = try Decomposer.expand(graph) { _ in true }
        #expect(!unrolled.nodes.contains { $0.op == node.op })
        let feeds = Dictionary(uniqueKeysWithValues: c.inputs)
        let fused = try Session(graph: graph).run(feeds), stepped = try Session(graph: unrolled).run(feeds)
        for name in node.outputs where !name.isEmpty {
            expectClose(stepped[name], try #require(fused[name]), rtol: 1e-5, atol: 1e-5, "\(c.name) output \(name)")
        }
    }
}
