import AscentIR
import AscentKeras
import AscentTestSupport
import Testing

/// The gradient graph transformation on a real model: built, validated, pruned.
@Suite struct GradientGraphTests {
    @Test func digitsInputGradientGraphIsValidAndPruned() throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let logits = try #require(g.nodes.first { $0.name == "logits" && $0.op == "Add" }?.outputs.first)
        let grad = try GradientBuilder.build(g, of: logits, withRespectTo: ["input"])
        try grad.graph.validate()
        #expect(grad.graph.outputs.map(\.name) == [logits, "grad:input"])
        let types = try grad.graph.inferTypes()
        #expect(types["grad:input"]?.description == "float32[N,16,16,1] NHWC")
        let backward = grad.graph.nodes.dropFirst(g.nodes.count)
        // The softmax after the logits is not on the path: no gradient node for it.
        #expect(!backward.contains { $0.name.hasPrefix("grad/probs") })
        // No weight gradients were asked for: no ConvGradFilter.
        #expect(!backward.contains { $0.op == "ConvGradFilter" })
        #expect(backward.contains { $0.op == "ConvGradInput" } && backward.contains { $0.op == "MaxPoolGrad" })
    }

    @Test func weightGradientsHaveWeightShapes() throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.keras").path)
        let weights = ["conv1/kernel", "conv1/bias", "bn2/gamma", "bn2/beta", "fc1/kernel"]
        let grad = try GradientBuilder.build(g, of: "probs", withRespectTo: weights)
        let types = try grad.graph.inferTypes()
        for w in weights {
            #expect(types[grad.gradients[w]!]?.shape?.concrete == g.initializers[w]!.shape, "\(w)")
        }
    }

    @Test func refusesWhatHasNoGradient() throws {
        var g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        #expect(throws: AscentError.self) { try GradientBuilder.build(g, of: "probs", withRespectTo: ["nope"]) }
        // An op without a rule on the path is named, with every other one, before any work.
        for i in g.nodes.indices where g.nodes[i].op == "Relu" { g.nodes[i].op = "Mish" }
        do {
            _ = try GradientBuilder.build(g, of: "probs", withRespectTo: ["input"])
            Issue.record("expected an error")
        } catch let e as AscentError {
            #expect(e.description == "no gradient rule for 3 nodes on the path: 'conv1' (Mish), 'conv2' (Mish), 'fc1' (Mish)", "\(e)")
        }
    }
}
