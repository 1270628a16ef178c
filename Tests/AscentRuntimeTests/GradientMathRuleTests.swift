import AscentIR
import AscentRuntime
import AscentTestSupport
import Testing

/// Finite-difference checks of the VJP rules of the math maps, the reductions beyond
/// Sum/Mean/Max/Min (also with axes given as an input) and the normalizations.
@Suite struct GradientMathRuleTests {
    static func unary(_ op: String, _ attributes: [String: Attribute] = [:], input: Tensor? = nil, name: String? = nil) -> GradCase {
        var rng = SeededRandom(29)
        return GradCase(name: name ?? op, nodes: [node(op, ["x"], "y", attributes)], inputs: [("x", input ?? rng.awayFromZero([3, 5]))])
    }

    static let inside = SeededRandom.uniform(seed: 31, [3, 5], -0.8, 0.8)

    static let mathCases: [GradCase] = [
        unary("Asin", input: inside), unary("Acos", input: inside), unary("Atanh", input: inside),
        unary("Atan"), unary("Asinh"), unary("Sinh"), unary("Cosh"), unary("Tan"),
        unary("Acosh", input: SeededRandom.uniform(seed: 37, [3, 5], 1.2, 3)),
        // Values at least 0.05 from ±lambd.
        unary("Shrink", ["lambd": .float(0.4), "bias": .float(0.3)],
              input: Tensor(shape: [2, 4], scalars: [-1.2, -0.6, -0.3, -0.1, 0.05, 0.25, 0.55, 1.4] as [Float])),
        unary("ThresholdedRelu", ["alpha": .float(0.3)],
              input: Tensor(shape: [2, 4], scalars: [-1.2, -0.6, -0.3, 0.1, 0.2, 0.35, 0.55, 1.4] as [Float])),
        GradCase(name: "CastLike", nodes: [node("CastLike", ["x", "like"])], inputs: [("x", SeededRandom.uniform(seed: 2, [2, 3]))],
                 constants: ["like": Tensor(shape: [1], scalars: [Float(0)])]),
        GradCase(name: "Mod fmod 1", nodes: [node("Mod", ["a", "b"], "y", ["fmod": .int(1)])], inputs: modInputs),
        GradCase(name: "Mod fmod 0", nodes: [node("Mod", ["a", "b"], "y", ["fmod": .int(0)])], inputs: modInputs),
        GradCase(name: "SwiGLU", nodes: [node("SwiGLU", ["a", "b"], "y", ["alpha": .float(1.3)])],
                 inputs: [("a", SeededRandom.uniform(seed: 3, [2, 4], -2, 2)), ("b", SeededRandom.uniform(seed: 4, [2, 4]))]),
        GradCase(name: "RotaryEmbedding", nodes: [node("RotaryEmbedding", ["x", "cos", "sin", "pos"])],
                 inputs: [("x", SeededRandom.uniform(seed: 8, [1, 2, 3, 4]))],
                 constants: ["cos": SeededRandom.uniform(seed: 9, [4, 2]), "sin": SeededRandom.uniform(seed: 10, [4, 2]),
                             "pos": Tensor(shape: [1, 3], scalars: [2, 0, 3] as [Int64])]),
        GradCase(name: "RotaryEmbedding interleaved 3-D", nodes: [node("RotaryEmbedding", ["x", "cos", "sin"], "y", ["interleaved": .int(1), "num_heads": .int(2)])],
                 inputs: [("x", SeededRandom.uniform(seed: 11, [2, 2, 8]))],
                 constants: ["cos": SeededRandom.uniform(seed: 12, [4, 2]), "sin": SeededRandom.uniform(seed: 13, [4, 2])]),
        GradCase(name: "Sum of three", nodes: [node("Sum", ["a", "b", "c"])],
                 inputs: [("a", SeededRandom.uniform(seed: 5, [2, 3])), ("b", SeededRandom.uniform(seed: 6, [3])),
                          ("c", SeededRandom.uniform(seed: 7, [2, 1]))]),
    ]

    /// a/b kept at least 0.05 from an integer, so no perturbation crosses a jump.
    static var modInputs: [(String, Tensor)] {
        [("a", Tensor(shape: [6], scalars: [2.3, -1.7, 0.45, 3.1, -2.65, 1.1] as [Float])),
         ("b", Tensor(shape: [6], scalars: [0.7, 0.6, -0.8, 1.3, 0.9, -0.75] as [Float]))]
    }

    @Test(arguments: mathCases)
    func mathGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    static func reduce(_ op: String, _ attributes: [String: Attribute] = [:], axesInput: [Int]? = nil,
                       input: Tensor = SeededRandom.uniform(seed: 43, [2, 3, 4]), name: String? = nil) -> GradCase {
        let inputs = axesInput == nil ? ["x"] : ["x", "axes"]
        return GradCase(name: name ?? "\(op) \(attributes) \(axesInput.map { "axes input \($0)" } ?? "")",
                        nodes: [node(op, inputs, "y", attributes)], inputs: [("x", input)],
                        constants: axesInput.map { ["axes": int64s($0)] } ?? [:])
    }

    static let positive = SeededRandom.uniform(seed: 47, [2, 3, 4], 0.5, 2)
    static let awayFromZero: Tensor = {
        var rng = SeededRandom(53)
        return rng.awayFromZero([2, 3, 4])
    }()

    static let reduceCases: [GradCase] = [
        reduce("ReduceSumSquare", ["axes": .ints([1]), "keepdims": .int(0)]),
        reduce("ReduceSumSquare", axesInput: [0, 2]),
        reduce("ReduceL1", ["axes": .ints([0, 2])], input: awayFromZero),
        reduce("ReduceL1", ["keepdims": .int(0)], input: awayFromZero),
        reduce("ReduceL2", ["axes": .ints([-1])]),
        reduce("ReduceL2", ["keepdims": .int(0)], axesInput: [1]),
        reduce("ReduceLogSum", ["axes": .ints([2]), "keepdims": .int(0)], input: positive),
        reduce("ReduceLogSumExp", ["axes": .ints([0, 1])]),
        reduce("ReduceLogSumExp", ["keepdims": .int(0)], axesInput: [-1]),
        reduce("ReduceProd", ["axes": .ints([1])], input: awayFromZero),
        reduce("ReduceProd", ["axes": .ints([0, 2]), "keepdims": .int(0)], input: awayFromZero),
        reduce("ReduceProd", [:], input: Tensor(shape: [2, 3], scalars: [0.9, -1.2, 0, 1.1, 0.8, -1.3] as [Float]), name: "ReduceProd with a zero"),
        reduce("ReduceProd", ["keepdims": .int(0)], axesInput: [2], input: awayFromZero),
        reduce("ReduceSum", ["keepdims": .int(0)], axesInput: [0, -1]),
        reduce("ReduceMean", [:], axesInput: [1]),
        reduce("ReduceMax", ["keepdims": .int(0)], axesInput: [2], input: SeededRandom.distinct(seed: 59, [2, 3, 4])),
        reduce("ReduceMin", [:], axesInput: [0], input: SeededRandom.distinct(seed: 61, [2, 3, 4])),
        reduce("ReduceLogSumExp", ["noop_with_empty_axes": .int(1)], axesInput: [], name: "ReduceLogSumExp noop"),
        reduce("ReduceL2", ["noop_with_empty_axes": .int(1)], axesInput: [], input: awayFromZero, name: "ReduceL2 noop"),
        reduce("ReduceProd", ["noop_with_empty_axes": .int(1)], axesInput: [], name: "ReduceProd noop"),
    ]

    @Test(arguments: reduceCases)
    func reductionGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// ReduceL2's subgradient where the norm is 0 is 0 (PyTorch), not NaN.
    @Test func reduceL2PassesNothingAtAZeroNorm() throws {
        let c = Self.reduce("ReduceL2", ["axes": .ints([1])], input: Tensor(shape: [2, 2], scalars: [0, 0, 3, 4] as [Float]))
        let built = try GradientBuilder.build(GradCheck.graph(c), of: c.output, withRespectTo: ["x"])
        let g = try Session(graph: built.graph).run(["x": c.inputs[0].1])[built.gradients["x"]!]!
        #expect(g.floats() == [0, 0, 0.6, 0.8])
    }

    static let normalizationCases: [GradCase] = {
        var rng = SeededRandom(67)
        return [
            GradCase(name: "GroupNormalization 2 groups", nodes: [node("GroupNormalization", ["x", "s", "b"], "y", ["num_groups": .int(2)])],
                     inputs: [("x", rng.uniform([2, 4, 3, 2])), ("s", rng.uniform([4])), ("b", rng.uniform([4]))]),
            GradCase(name: "GroupNormalization per-group parameters",
                     nodes: [node("GroupNormalization", ["x", "s", "b"], "y", ["num_groups": .int(2), "epsilon": .float(1e-3)])],
                     inputs: [("x", rng.uniform([2, 4, 3])), ("s", rng.uniform([2])), ("b", rng.uniform([2]))]),
            GradCase(name: "InstanceNormalization", nodes: [node("InstanceNormalization", ["x", "s", "b"])],
                     inputs: [("x", rng.uniform([2, 3, 5])), ("s", rng.uniform([3])), ("b", rng.uniform([3]))]),
            GradCase(name: "InstanceNormalization 2-D spatial", nodes: [node("InstanceNormalization", ["x", "s", "b"], "y", ["epsilon": .float(1e-2)])],
                     inputs: [("x", rng.uniform([1, 2, 3, 3])), ("s", rng.uniform([2])), ("b", rng.uniform([2]))]),
            GradCase(name: "RMSNormalization last axis", nodes: [node("RMSNormalization", ["x", "s"])],
                     inputs: [("x", rng.uniform([3, 5])), ("s", rng.uniform([5]))]),
            GradCase(name: "RMSNormalization trailing block", nodes: [node("RMSNormalization", ["x", "s"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 3, 4])), ("s", rng.uniform([4]))]),
            GradCase(name: "MeanVarianceNormalization default axes", nodes: [node("MeanVarianceNormalization", ["x"])],
                     inputs: [("x", rng.uniform([2, 3, 2, 2]))]),
            GradCase(name: "MeanVarianceNormalization axis 1", nodes: [node("MeanVarianceNormalization", ["x"], "y", ["axes": .ints([1])])],
                     inputs: [("x", rng.uniform([3, 4]))]),
            GradCase(name: "LpNormalization p 2", nodes: [node("LpNormalization", ["x"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([3, 4, 2]))]),
            GradCase(name: "LpNormalization p 1", nodes: [node("LpNormalization", ["x"], "y", ["p": .int(1)])],
                     inputs: [("x", rng.awayFromZero([3, 4]))]),
            GradCase(name: "LRN size 3", nodes: [node("LRN", ["x"], "y", ["size": .int(3), "alpha": .float(0.6), "beta": .float(0.75)])],
                     inputs: [("x", rng.uniform([2, 5, 2, 2]))]),
            GradCase(name: "LRN size 4 bias 2", nodes: [node("LRN", ["x"], "y", ["size": .int(4), "alpha": .float(0.9), "beta": .float(0.6), "bias": .float(2)])],
                     inputs: [("x", rng.uniform([1, 6, 3], -2, 2))]),
        ]
    }()

    static let lossCases: [GradCase] = {
        var rng = SeededRandom(97)
        let target = Tensor(shape: [3, 2], scalars: [2, 0, 1, 1, 3, 2] as [Int64])
        func loss(_ op: String, _ attributes: [String: Attribute], weights: Bool = false, logProbabilities: Bool = false) -> GradCase {
            var inputs = ["x", "t"], constants = ["t": target]
            if weights {
                inputs.append("w")
                constants["w"] = Tensor(shape: [4], scalars: [0.5, 1.5, 1, 2] as [Float])
            }
            var nodes = [Node(name: "loss", op: op, inputs: inputs, outputs: logProbabilities ? ["l", "logp"] : ["y"], attributes: attributes)]
            if logProbabilities {
                // Both outputs reach the objective.
                nodes += [node("ReduceSum", ["logp"], "s", ["keepdims": .int(0)]), node("Mul", ["s", "c"], "sc"), node("Add", ["l", "sc"])]
                constants["c"] = Tensor(scalar: Float(0.1))
            }
            return GradCase(name: "\(op) \(attributes) weights \(weights) log-probabilities \(logProbabilities)", nodes: nodes,
                            inputs: [("x", rng.uniform([3, 4, 2]))], constants: constants)
        }
        return [
            loss("NegativeLogLikelihoodLoss", [:]),
            loss("NegativeLogLikelihoodLoss", ["reduction": .string("none")], weights: true),
            loss("NegativeLogLikelihoodLoss", ["reduction": .string("sum"), "ignore_index": .int(1)]),
            loss("NegativeLogLikelihoodLoss", ["ignore_index": .int(2)], weights: true),
            loss("SoftmaxCrossEntropyLoss", [:]),
            loss("SoftmaxCrossEntropyLoss", ["reduction": .string("none"), "ignore_index": .int(0)], weights: true),
            loss("SoftmaxCrossEntropyLoss", ["reduction": .string("sum")], logProbabilities: true),
        ]
    }()

    @Test(arguments: lossCases)
    func lossGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    @Test(arguments: normalizationCases)
    func normalizationGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }
}
