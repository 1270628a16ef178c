import AscentIR
import AscentKeras
import AscentRuntime
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
        // Not has no gradient rule (it is boolean logic); same shape, so the graph stays valid.
        for i in g.nodes.indices where g.nodes[i].op == "Relu" { g.nodes[i].op = "Not" }
        do {
            _ = try GradientBuilder.build(g, of: "probs", withRespectTo: ["input"])
            Issue.record("expected an error")
        } catch let e as AscentError {
            #expect(e.description == "no gradient rule for 3 nodes on the path: 'conv1' (Not), 'conv2' (Not), 'fc1' (Not)", "\(e)")
        }
    }

    /// A target reached only through integer values (the predicted class, say) names the cut.
    @Test func namesANonDifferentiablePath() throws {
        var g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        g.nodes.append(Node(name: "predicted", op: "ArgMax", inputs: ["probs"], outputs: ["class"], attributes: ["axis": .int(1)]))
        g.nodes.append(Node(name: "as_float", op: "Cast", inputs: ["class"], outputs: ["class_f"], attributes: ["to": .int(1)]))
        do {
            _ = try GradientBuilder.build(g, of: "class_f", withRespectTo: ["input"])
            Issue.record("expected an error")
        } catch let e as AscentError {
            #expect(e.description == "objective 'class_f' depends on 'input' only through a non-differentiable path: "
                        + "'predicted' (ArgMax) (output 'class' is int64)", "\(e)")
        }
    }
}

@Suite struct GradientSessionTests {
    /// The convenience API runs the gradient graph: the bias gradient of the summed logits
    /// is exactly the batch size, and the input gradient has the input's shape.
    @Test func matchesFiniteDifferencesOnTheDigitsModel() throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let logits = try #require(g.nodes.first { $0.name == "logits" && $0.op == "Add" }?.outputs.first)
        let x = try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)
        let grads = try Session.gradients(of: logits, withRespectTo: ["input", "logits/bias"], in: g)
        let (objective, gradients) = try grads.run(["input": x])
        #expect(objective.shape == [16, 10])
        // d(sum of logits)/d(bias_k) = batch size, exactly.
        #expect(gradients["logits/bias"]?.floats() == [Float](repeating: 16, count: 10))
        #expect(gradients["input"]?.shape == x.shape)
    }
}
