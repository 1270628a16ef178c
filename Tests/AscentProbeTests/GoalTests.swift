import AscentIR
import AscentKeras
@testable import AscentProbe
import AscentTestSupport
import Foundation
import Testing

/// Neuron targets, batches of targets, weighted sums, and the Lucid preset end to end.
@Suite struct GoalTests {
    func model(_ path: String) throws -> Graph { try KerasImporter.load(path: TestPaths.fixture(path).path) }

    func noise(_ shape: [Int], seed: UInt64) -> Tensor { SeededRandom.uniform(seed: seed, shape, 0, 1) }

    @Test func parsesNeurons() throws {
        #expect(try Target(parsing: "neuron:conv1:5@3,4") == .neuron(name: "conv1", channel: 5, position: [3, 4]))
        #expect(try Target(parsing: "neuron:a:b:0@1") == .neuron(name: "a:b", channel: 0, position: [1]))
        #expect(try Target(parsing: "neuron:conv1:5@3,4").description == "neuron:conv1:5@3,4")
        for bad in ["neuron:conv1:5", "neuron:conv1:5@", "neuron:conv1:5@x,1", "neuron:conv1:@1,1"] {
            #expect(throws: AscentError.self, "\(bad)") { try Target(parsing: bad) }
        }
    }

    /// The neurons of a channel, summed over every position, are the channel's mean times its area.
    @Test func neuronsSumToTheChannelMean() throws {
        let graph = try model("keras/cnn_bn/model.h5")
        let x = noise([1, 24, 24, 3], seed: 1)
        let mean = try Probe(graph: graph, target: .layer(name: "conv2_dilated", channel: 3, reduction: .mean)).evaluate(x)
        var total: Float = 0
        var gradient = [Float](repeating: 0, count: x.count)
        for i in 0..<8 {
            for j in 0..<8 {
                let e = try Probe(graph: graph, target: .neuron(name: "conv2_dilated", channel: 3, position: [i, j])).evaluate(x)
                total += e.objective[0]
                for (k, v) in e.gradient.floats().enumerated() { gradient[k] += v }
            }
        }
        expectClose(total / 64, mean.objective[0], scaledTolerance: 1e-5, "objective")
        // Gradients relative to their own size (floor 1e-6, not 1).
        expectClose(Tensor(shape: x.shape, scalars: gradient.map { $0 / 64 }), mean.gradient, scaledTolerance: 1e-5, floor: 1e-6, "gradient")
        #expect(throws: AscentError.self) { try Probe(graph: graph, target: .neuron(name: "conv2_dilated", channel: 3, position: [8, 0])) }
        #expect(throws: AscentError.self) { try Probe(graph: graph, target: .neuron(name: "conv2_dilated", channel: 3, position: [1])) }
    }

    /// A batch of targets: item b's objective and gradient are those of its own target alone.
    @Test func batchItemsAreIndependentTargets() throws {
        let graph = try model("digits/digits.h5")
        let x = noise([3, 16, 16, 1], seed: 2)
        let targets: [Target] = [.logit(3), .layer(name: "conv2", channel: 4, reduction: .mean), .logit(7)]
        let batch = try Probe(graph: graph, goal: Goal(batch: targets))
        #expect(batch.inputShape == [3, 16, 16, 1])
        let all = try batch.evaluate(x)
        let xs = x.floats(), gs = all.gradient.floats()
        for (b, t) in targets.enumerated() {
            let item = Tensor(shape: [1, 16, 16, 1], scalars: Array(xs[(b * 256)..<((b + 1) * 256)]))
            let alone = try Probe(graph: graph, target: t).evaluate(item)
            expectClose(all.objective[b], alone.objective[0], scaledTolerance: 1e-5, "item \(b) objective")
            expectClose(Array(gs[(b * 256)..<((b + 1) * 256)]), alone.gradient.floats(), scaledTolerance: 1e-5, floor: 1e-6, "item \(b) gradient")
        }
    }

    @Test func weightedSumsCombineObjectives() throws {
        let graph = try model("digits/digits.h5")
        let x = noise([1, 16, 16, 1], seed: 3)
        let mixed = try Probe(graph: graph, goal: Goal([[.init(2, .logit(3)), .init(-0.5, .logit(5))]])).evaluate(x)
        let a = try Probe(graph: graph, target: .logit(3)).evaluate(x), b = try Probe(graph: graph, target: .logit(5)).evaluate(x)
        expectClose(mixed.objective[0], 2 * a.objective[0] - 0.5 * b.objective[0], scaledTolerance: 1e-5, "objective")
        let want = zip(a.gradient.floats(), b.gradient.floats()).map { 2 * $0 - 0.5 * $1 }
        expectClose(mixed.gradient.floats(), want, scaledTolerance: 1e-5, floor: 1e-6, "gradient")
    }

    @Test func lucidPresetRaisesTheObjective() throws {
        for (path, target, shape) in [("digits/digits.h5", Target.logit(2), [1, 16, 16, 1]),
                                      ("keras/cnn_bn/model.h5", Target.layer(name: "conv2_dilated", channel: 1, reduction: .mean), [1, 24, 24, 3])] {
            var options = ProbeOptions.lucid()
            options.steps = 60
            let result = try Probe(graph: try model(path), target: target, options: options).run()
            #expect(result.input.shape == shape)
            let x = result.input.floats()
            #expect(x.allSatisfy { $0 > 0 && $0 < 1 })  // the sigmoid keeps it in range
            // (cnn_bn has random weights: a [0,1] picture moves its channel only a little.)
            #expect(result.finalObjective[0] > result.steps[0].objective[0], "\(path)")
            if case .logit = target { #expect(result.finalObjective[0] > result.steps[0].objective[0] + 1) }
        }
    }

    @Test func imagePresetsRejectNonImageInputs() throws {
        let graph = try model("keras/mlp/model.h5")
        do {
            _ = try Probe(graph: graph, target: .layer(name: "fc1", channel: 0, reduction: .mean), options: .lucid())
            Issue.record("expected an error")
        } catch let e as AscentError {
            #expect(e.description.contains("not an image"), "\(e)")
            #expect(!e.description.contains("\n"))
        }
        // The keras-example preset works on any input.
        _ = try Probe(graph: graph, target: .layer(name: "fc1", channel: 0, reduction: .mean), options: .kerasExample)
    }
}

/// Lucid's diversity term.
@Suite struct DiversityTests {
    func digits() throws -> Graph { try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path) }

    /// Identical items have Gram cosine 1 pairwise: diversity = B(B−1)/B = B − 1.
    @Test func identicalItemsHaveDiversityBMinusOne() throws {
        let graph = try digits()
        var rng = SeededRandom(5)
        let one = rng.floats(256, 0, 1)
        let x = Tensor(shape: [3, 16, 16, 1], scalars: one + one + one)
        let goal = Goal(batch: [.logit(1), .logit(2), .logit(3)])
        var diverse = goal
        diverse.diversity = .init(layer: "conv2", weight: 10)
        let plain = try Probe(graph: graph, goal: goal).evaluate(x).objective.reduce(0, +)
        let with = try Probe(graph: graph, goal: diverse).evaluate(x).objective.reduce(0, +)
        expectClose(plain - with, 10 * 2, rtol: 0, atol: 1e-3, "10 × diversity")
    }

    /// Σ objectives − 100·diversity and its input gradient against TensorFlow running Lucid's
    /// `objectives.diversity` (Fixtures/probe/diversity_*.npy).
    @Test func matchesLucidInTensorFlow() throws {
        let graph = try digits()
        let x = try NumPy.read(path: TestPaths.fixture("probe/diversity_input.npy").path)
        let total = try NumPy.read(path: TestPaths.fixture("probe/diversity_total.npy").path).floats()[0]
        let grad = try NumPy.read(path: TestPaths.fixture("probe/diversity_grad.npy").path).floats()
        var goal = Goal(batch: [.layer(name: "conv2", channel: 1, reduction: .mean), .layer(name: "conv2", channel: 2, reduction: .mean)])
        goal.diversity = .init(layer: "conv1", weight: 100)
        let e = try Probe(graph: graph, goal: goal).evaluate(x)
        let mine = e.objective.reduce(0, +)
        expectClose(mine, total, rtol: 1e-5, atol: 0, "Σ objectives − 100·diversity vs TF")
        // Measured 1.8e-4: the Gram cosines are ≈ 0.9997, so Σ_{i≠j} = ‖ΣĜ‖² − Σ‖Ĝ‖² cancels in float32.
        let report = expectRelativeL2(e.gradient.floats(), grad, atMost: 1e-3, "gradient vs TF")
        print("diversity: total \(mine) vs TF \(total); gradient rel. L2 \(report.measured)")
    }
}
