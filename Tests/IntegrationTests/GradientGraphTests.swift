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
    /// The convenience API on the digits model: d(Σ logits)/d(bias_k) is exactly the batch size,
    /// and d(Σ logits)/d(input) at the first two held-out pictures matches central finite
    /// differences of the forward pass (float32 forward, the sum in float64, ±1e-2 per pixel:
    /// 1,024 pairs of runs) within 1e-3 relative L2, the bound of the per-op gradient checks.
    ///
    /// The digits are 8×8 pictures upscaled to 16×16 on a blank background, so MaxPool windows
    /// hold ties and ReLUs sit at their kinks: there a central difference straddles a kink and is
    /// no derivative (at a tie it averages the two one-sided slopes). A pixel counts only where the
    /// forward and backward one-sided slopes agree (within 1e-3 + 1e-3·|backward slope|) — the function is
    /// linear across ±1e-2 there; at least a fifth of the pixels must be such (114 of 512 are; 9.7e-5
    /// measured on them); counting the kinked pixels too would give 0.27, which is why they are left out.
    @Test func matchesFiniteDifferencesOnTheDigitsModel() throws {
        let g = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        let logits = try #require(g.nodes.first { $0.name == "logits" && $0.op == "Add" }?.outputs.first)
        let all = try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)
        let x = try Tensor(dtype: .float32, shape: [2, 16, 16, 1], bytes: all.withUnsafeBytes { Array($0.prefix(2 * 256 * 4)) })
        let grads = try Session.gradients(of: logits, withRespectTo: ["input", "logits/bias"], in: g)
        let (objective, gradients) = try grads.run(["input": x])
        #expect(objective.shape == [2, 10])
        // d(sum of logits)/d(bias_k) = batch size, exactly.
        #expect(gradients["logits/bias"]?.floats() == [Float](repeating: 2, count: 10))
        let analytic = try #require(gradients["input"]).doubles()

        var forward = g
        forward.outputs = [ValueInfo(name: logits, type: ValueType(.float32, nil))]
        let session = try Session(graph: forward, options: .init(threads: 1))
        func total(_ values: [Float]) throws -> Double {
            try #require(session.run(["input": Tensor(shape: x.shape, scalars: values)])[logits]).doubles().reduce(0, +)
        }
        let eps: Float = 1e-2
        var values = x.floats()
        let center = try total(values)
        var ours: [Double] = [], numeric: [Double] = []
        for i in values.indices {
            let v = values[i]
            values[i] = v + eps
            let plus = try total(values)
            values[i] = v - eps
            let minus = try total(values)
            values[i] = v
            let up = (plus - center) / (Double(v + eps) - Double(v)), down = (center - minus) / (Double(v) - Double(v - eps))
            guard Closeness.elementwise(Tensor(scalar: up), Tensor(scalar: down), rtol: 1e-3, atol: 1e-3).isClose else { continue }
            ours.append(analytic[i])
            numeric.append((plus - minus) / (Double(v + eps) - Double(v - eps)))
        }
        #expect(ours.count * 5 >= values.count, "only \(ours.count) of \(values.count) pixels are away from kinks")
        #expect(numeric.contains { $0 != 0 })
        let report = expectRelativeL2(ours, numeric, atMost: 1e-3, "d(Σ logits)/d(input) vs central differences")
        print("digits input gradient vs finite differences: relative L2 \(report.measured) over \(ours.count) of \(values.count) pixels")
    }
}
