import AscentIR
import AscentRuntime
import AscentTestSupport
import Testing

/// Finite-difference checks of the VJP rules of the selection and rearrangement ops, the
/// spatial ops (ConvTranspose, LpPool, Resize), Einsum and MatMul with 1-D operands; and the
/// check that every op with a gradient rule has a finite-difference test somewhere.
@Suite struct GradientSelectionRuleTests {
    static func indexTensor(_ values: [Int], _ shape: [Int]) -> Tensor { Tensor(shape: shape, scalars: values.map(Int64.init)) }

    static let selectionCases: [GradCase] = {
        var rng = SeededRandom(71)
        return [
            GradCase(name: "Gather axis 1, repeated and negative indices", nodes: [node("Gather", ["x", "ids"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 4, 3]))], constants: ["ids": indexTensor([3, -1, 0, 2, 0, 0], [2, 3])]),
            GradCase(name: "Gather last axis, scalar index", nodes: [node("Gather", ["x", "ids"], "y", ["axis": .int(-1)])],
                     inputs: [("x", rng.uniform([3, 4]))], constants: ["ids": Tensor(shape: [], scalars: [Int64(2)])]),
            GradCase(name: "GatherElements axis 1", nodes: [node("GatherElements", ["x", "ids"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 3]))], constants: ["ids": indexTensor([0, 2, 2, 0, 1, -3, 1, 1], [2, 4])]),
            GradCase(name: "GatherND pairs", nodes: [node("GatherND", ["x", "ids"])], inputs: [("x", rng.uniform([3, 2, 4]))],
                     constants: ["ids": indexTensor([2, 1, 0, 0, 2, 1], [3, 2])]),
            GradCase(name: "Compress axis 1", nodes: [node("Compress", ["x", "keep"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 4]))], constants: ["keep": Tensor(shape: [4], scalars: [true, false, true, true])]),
            GradCase(name: "Compress flattened", nodes: [node("Compress", ["x", "keep"])], inputs: [("x", rng.uniform([2, 2]))],
                     constants: ["keep": Tensor(shape: [3], scalars: [false, true, true])]),
            GradCase(name: "TopK values", nodes: [Node(name: "topk", op: "TopK", inputs: ["x", "k"], outputs: ["y", "indices"], attributes: ["axis": .int(1)])],
                     inputs: [("x", rng.distinct([3, 5]))], constants: ["k": int64s([2])]),
            GradCase(name: "ScatterElements", nodes: [node("ScatterElements", ["x", "ids", "u"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 4])), ("u", rng.uniform([2, 2]))], constants: ["ids": indexTensor([3, 0, 1, 2], [2, 2])]),
            GradCase(name: "ScatterElements add", nodes: [node("ScatterElements", ["x", "ids", "u"], "y", ["reduction": .string("add")])],
                     inputs: [("x", rng.uniform([3, 2])), ("u", rng.uniform([2, 2]))], constants: ["ids": indexTensor([1, 1, 1, 0], [2, 2])]),
            GradCase(name: "ScatterND", nodes: [node("ScatterND", ["x", "ids", "u"])],
                     inputs: [("x", rng.uniform([4, 3])), ("u", rng.uniform([2, 3]))], constants: ["ids": indexTensor([2, 0], [2, 1])]),
            GradCase(name: "Tile", nodes: [node("Tile", ["x", "r"])], inputs: [("x", rng.uniform([2, 1, 3]))], constants: ["r": int64s([2, 3, 1])]),
            GradCase(name: "CumSum", nodes: [node("CumSum", ["x", "axis"])], inputs: [("x", rng.uniform([3, 4]))],
                     constants: ["axis": Tensor(shape: [], scalars: [Int64(1)])]),
            GradCase(name: "CumSum exclusive reverse", nodes: [node("CumSum", ["x", "axis"], "y", ["exclusive": .int(1), "reverse": .int(1)])],
                     inputs: [("x", rng.uniform([3, 4]))], constants: ["axis": Tensor(shape: [], scalars: [Int64(0)])]),
            GradCase(name: "CumProd", nodes: [node("CumProd", ["x", "axis"])], inputs: [("x", rng.uniform([3, 4], 0.5, 1.5))],
                     constants: ["axis": Tensor(shape: [], scalars: [Int64(1)])]),
            GradCase(name: "CumProd exclusive reverse, zeros", nodes: [node("CumProd", ["x", "axis"], "y", ["exclusive": .int(1), "reverse": .int(1)])],
                     inputs: [("x", Tensor(shape: [4, 2], scalars: [0.9, 0, -1.2, 1.1, 0, 0, 1.3, -0.7] as [Float]))],
                     constants: ["axis": Tensor(shape: [1], scalars: [Int64(0)])]),
            GradCase(name: "CumProd reverse with a zero", nodes: [node("CumProd", ["x", "axis"], "y", ["reverse": .int(1)])],
                     inputs: [("x", Tensor(shape: [2, 4], scalars: [0.9, 1.2, 0, -1.1, 0.8, -1.3, 1.4, 0.6] as [Float]))],
                     constants: ["axis": Tensor(shape: [], scalars: [Int64(-1)])]),
            GradCase(name: "Trilu upper k 1", nodes: [node("Trilu", ["x", "k"])], inputs: [("x", rng.uniform([2, 3, 4]))],
                     constants: ["k": Tensor(shape: [], scalars: [Int64(1)])]),
            GradCase(name: "Trilu lower", nodes: [node("Trilu", ["x"], "y", ["upper": .int(0)])], inputs: [("x", rng.uniform([4, 3]))]),
            GradCase(name: "ReverseSequence", nodes: [node("ReverseSequence", ["x", "lens"])], inputs: [("x", rng.uniform([4, 2, 3]))],
                     constants: ["lens": int64s([3, 2])]),
            GradCase(name: "DepthToSpace DCR", nodes: [node("DepthToSpace", ["x"], "y", ["blocksize": .int(2)])], inputs: [("x", rng.uniform([1, 8, 2, 3]))]),
            GradCase(name: "DepthToSpace CRD", nodes: [node("DepthToSpace", ["x"], "y", ["blocksize": .int(2), "mode": .string("CRD")])],
                     inputs: [("x", rng.uniform([2, 4, 2, 2]))]),
            GradCase(name: "SpaceToDepth", nodes: [node("SpaceToDepth", ["x"], "y", ["blocksize": .int(2)])], inputs: [("x", rng.uniform([1, 2, 4, 6]))]),
            GradCase(name: "Pad reflect", nodes: [node("Pad", ["x", "pads"], "y", ["mode": .string("reflect")])],
                     inputs: [("x", rng.uniform([2, 3, 4]))], constants: ["pads": int64s([0, 2, 1, 1, 2, 3])]),
            GradCase(name: "Pad edge, axes", nodes: [node("Pad", ["x", "pads", "", "axes"], "y", ["mode": .string("edge")])],
                     inputs: [("x", rng.uniform([3, 4]))], constants: ["pads": int64s([3, -1, 1, 2]), "axes": int64s([-1, 0])]),
            GradCase(name: "Pad wrap", nodes: [node("Pad", ["x", "pads"], "y", ["mode": .string("wrap")])],
                     inputs: [("x", rng.uniform([2, 3]))], constants: ["pads": int64s([1, 4, 2, 0])]),
            GradCase(name: "CenterCropPad", nodes: [node("CenterCropPad", ["x", "shape"])], inputs: [("x", rng.uniform([5, 4]))],
                     constants: ["shape": int64s([2, 7])]),
            GradCase(name: "CenterCropPad axes", nodes: [node("CenterCropPad", ["x", "shape"], "y", ["axes": .ints([-1])])],
                     inputs: [("x", rng.uniform([2, 6]))], constants: ["shape": int64s([3])]),
        ]
    }()

    @Test(arguments: selectionCases)
    func selectionGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    static func convTranspose(_ name: String, x: [Int], w: [Int], bias: Bool = false, _ attributes: [String: Attribute]) -> GradCase {
        var rng = SeededRandom(73)
        var inputs = [("x", rng.uniform(x)), ("w", rng.uniform(w))]
        if bias { inputs.append(("b", rng.uniform([w[1] * (attributes["group"]?.int ?? 1)]))) }
        return GradCase(name: name, nodes: [node("ConvTranspose", inputs.map(\.0), "y", attributes)], inputs: inputs)
    }

    static let spatialCases: [GradCase] = {
        var rng = SeededRandom(79)
        func resize(_ name: String, x: [Int], scales: [Float]? = nil, sizes: [Int]? = nil, _ attributes: [String: Attribute]) -> GradCase {
            var constants: [String: Tensor] = [:]
            if let scales { constants["scales"] = Tensor(shape: [scales.count], scalars: scales) }
            if let sizes { constants["sizes"] = int64s(sizes) }
            let inputs = sizes == nil ? ["x", "", "scales"] : ["x", "", "", "sizes"]
            return GradCase(name: name, nodes: [node("Resize", inputs, "y", attributes)], inputs: [("x", rng.uniform(x))], constants: constants)
        }
        return [
            convTranspose("ConvTranspose stride 2 pads", x: [2, 3, 3, 3], w: [3, 2, 3, 3], bias: true,
                          ["strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
            convTranspose("ConvTranspose output_padding", x: [1, 2, 3, 4], w: [2, 3, 3, 2],
                          ["strides": .ints([2, 3]), "output_padding": .ints([1, 2])]),
            convTranspose("ConvTranspose groups dilation", x: [1, 4, 4, 3], w: [4, 1, 2, 2],
                          ["group": .int(2), "dilations": .ints([2, 1]), "pads": .ints([0, 1, 1, 0])]),
            convTranspose("ConvTranspose SAME_UPPER", x: [1, 2, 3, 3], w: [2, 2, 3, 3], ["strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
            convTranspose("ConvTranspose SAME_LOWER output_shape", x: [1, 1, 3, 3], w: [1, 2, 2, 2],
                          ["strides": .ints([2, 2]), "auto_pad": .string("SAME_LOWER"), "output_shape": .ints([5, 6])]),
            convTranspose("ConvTranspose 1-D", x: [2, 2, 5], w: [2, 3, 4], bias: true, ["strides": .ints([3]), "pads": .ints([2, 1])]),
            GradCase(name: "LpPool p 2 padded", nodes: [node("LpPool", ["x"], "y", ["kernel_shape": .ints([2, 3]), "strides": .ints([2, 1]), "pads": .ints([1, 1, 0, 1])])],
                     inputs: [("x", rng.uniform([2, 2, 5, 4]))]),
            GradCase(name: "LpPool p 1", nodes: [node("LpPool", ["x"], "y", ["kernel_shape": .ints([2]), "p": .int(1)])],
                     inputs: [("x", rng.awayFromZero([1, 3, 6]))]),
            GradCase(name: "LpPool p 3 SAME_UPPER", nodes: [node("LpPool", ["x"], "y", ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]),
                                                                                      "p": .int(3), "auto_pad": .string("SAME_UPPER")])],
                     inputs: [("x", rng.uniform([1, 2, 5, 5], 0.2, 1))]),
            resize("Resize nearest ×2", x: [1, 2, 3, 2], scales: [1, 1, 2, 2], ["mode": .string("nearest")]),
            resize("Resize nearest down, asymmetric floor", x: [1, 1, 6, 5], scales: [1, 1, 0.5, 0.6],
                   ["mode": .string("nearest"), "coordinate_transformation_mode": .string("asymmetric"), "nearest_mode": .string("floor")]),
            resize("Resize linear half_pixel", x: [1, 2, 3, 4], scales: [1, 1, 1.5, 2], ["mode": .string("linear")]),
            resize("Resize linear align_corners sizes", x: [2, 3, 4], sizes: [2, 5, 7],
                   ["mode": .string("linear"), "coordinate_transformation_mode": .string("align_corners")]),
            resize("Resize linear antialias down", x: [1, 1, 8, 6], sizes: [1, 1, 3, 4], ["mode": .string("linear"), "antialias": .int(1)]),
            resize("Resize cubic", x: [1, 1, 4, 4], scales: [1, 1, 1.75, 1.5], ["mode": .string("cubic")]),
            GradCase(name: "Resize tf_crop_and_resize extrapolated",
                     nodes: [node("Resize", ["x", "roi", "", "sizes"], "y", ["mode": .string("linear"), "extrapolation_value": .float(2),
                                                                            "coordinate_transformation_mode": .string("tf_crop_and_resize")])],
                     inputs: [("x", rng.uniform([1, 1, 4, 5]))],
                     constants: ["roi": Tensor(shape: [8], scalars: [0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3] as [Float]), "sizes": int64s([1, 1, 3, 4])]),
            GradCase(name: "MaxUnpool", nodes: [node("MaxUnpool", ["x", "ids"], "y", ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])])],
                     inputs: [("x", rng.uniform([1, 2, 2, 2]))], constants: ["ids": indexTensor([0, 3, 9, 14, 17, 18, 28, 31], [1, 2, 2, 2])]),
        ]
    }()

    @Test(arguments: spatialCases)
    func spatialGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    static func einsum(_ equation: String, _ shapes: [[Int]], seed: UInt64 = 83) -> GradCase {
        var rng = SeededRandom(seed)
        let names = ["a", "b", "c"]
        return GradCase(name: "Einsum \(equation)", nodes: [node("Einsum", Array(names.prefix(shapes.count)), "y", ["equation": .string(equation)])],
                        inputs: shapes.enumerated().map { (names[$0.offset], rng.uniform($0.element)) })
    }

    static let linearCases: [GradCase] = {
        var rng = SeededRandom(89)
        func matmul(_ a: [Int], _ b: [Int]) -> GradCase {
            GradCase(name: "MatMul \(a) × \(b)", nodes: [node("MatMul", ["a", "b"])], inputs: [("a", rng.uniform(a)), ("b", rng.uniform(b))])
        }
        return [
            matmul([4], [4, 3]), matmul([2, 3, 4], [4]), matmul([4], [4]), matmul([4], [2, 4, 3]), matmul([3, 4], [2, 4, 1]),
            einsum("ij,jk->ik", [[2, 3], [3, 4]]),
            einsum("bij,bjk->bik", [[2, 2, 3], [2, 3, 2]]),
            einsum("ij,jk", [[3, 2], [2, 2]]),
            einsum("ijk->ik", [[2, 3, 4]]),
            einsum("i,i->", [[5], [5]]),
            einsum("ij->ji", [[2, 3]]),
            einsum("...ij,jk->...ik", [[2, 2, 3], [3, 2]]),
            einsum("bi,j->ij", [[3, 2], [4]]),
            einsum("ab,cb,c->a", [[2, 3], [4, 3], [4]]),
        ]
    }()

    @Test(arguments: linearCases)
    func linearGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// Every finite-difference case of every gradient suite.
    static var allCases: [GradCase] {
        GradientConvolutionTests.cases + GradientPoolingTests.cases + GradientRuleTests.unaryCases + GradientRuleTests.binaryCases
            + GradientRuleTests.linearCases + GradientRuleTests.shapeCases + GradientMathRuleTests.mathCases
            + GradientMathRuleTests.reduceCases + GradientMathRuleTests.normalizationCases + GradientMathRuleTests.lossCases
            + selectionCases + spatialCases + linearCases
    }

    /// Piecewise-constant ops, checked as zero gradients (their finite differences are zero).
    static let zeroGradientOps: Set<String> = ["Floor", "Ceil", "Round", "Sign", "Hardmax"]

    /// Gradient estimators, whose rule is by definition not the forward's derivative: checked against
    /// their reference instead (StraightThrough: PyTorch's fake-quantize gradient, in
    /// `ONNXRuntimeToolsTests.straightThroughGradientIsPyTorchsFakeQuantize`).
    static let estimatorOps: Set<String> = ["StraightThrough"]

    @Test func everyRuleHasAFiniteDifferenceTest() {
        let covered = Set(Self.allCases.flatMap { $0.nodes.map(\.op) }).union(Self.zeroGradientOps).union(Self.estimatorOps)
        let untested = Set(OpRegistry.all.filter { $0.vjp != nil }.map(\.name)).subtracting(covered).sorted()
        #expect(untested.isEmpty, "ops with a gradient rule and no finite-difference test: \(untested)")
    }
}
