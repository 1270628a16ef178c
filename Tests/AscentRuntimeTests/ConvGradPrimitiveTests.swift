import AscentIR
@testable import AscentRuntime
import AscentTestSupport
import Testing

/// `ConvGradInput` with a constant kernel runs as oneDNN's backward-data primitive; it must give
/// what the built-in sgemm + col2im kernel gives when the kernel is a graph input instead.
@Suite struct ConvGradPrimitiveTests {
    static let cases = ["conv", "conv_1d", "conv_3d", "conv_depthwise", "conv_depthwise_dilation", "conv_depthwise_mult",
                        "conv_dilation", "conv_group", "conv_nhwc", "conv_nhwc_1d",
                        "conv_nhwc_dilation", "conv_nhwc_group", "conv_nhwc_pointwise_stride", "conv_nhwc_same_stride",
                        "conv_nhwc_valid_stride", "conv_pointwise_stride", "conv_same_lower", "conv_same_upper", "conv_stride"]

    @Test(arguments: cases)
    func backwardDataPrimitiveMatchesTheBuiltInKernel(_ name: String) throws {
        let c = try OpCase(name)
        let x = try #require(c.inputs[0])
        let y = c.outputs[0]
        var random = SeededRandom(7)
        let seed = random.uniform(y.shape, -1, 1)
        let seedInfo = ValueInfo(name: "seed", type: ValueType(.float32, Shape(y.shape)))
        func gradient(constant: Set<Int>) throws -> (Tensor, Plan) {
            var graph = c.graph(constant: constant)
            graph.inputs.append(seedInfo)
            let built = try GradientBuilder.build(graph, of: c.outputNames[0], withRespectTo: [c.inputNames[0]], seed: "seed")
            var feeds = c.feeds(constant: constant)
            feeds["seed"] = seed
            let session = try Session(graph: built.graph, options: .init(threads: 2))
            let dx = try #require(try session.run(feeds)[built.gradients[c.inputNames[0]]!])
            var types: [Int: TensorType] = [:]
            for input in session.program.inputs { if let t = feeds[input.info.name] { types[input.id] = t.type } }
            let plan = try Plan(program: session.program, inputTypes: types, context: ExecutionContext(threads: 1, pool: BufferPool()))
            return (dx, plan)
        }
        let (primitive, plan) = try gradient(constant: Set(1..<c.inputs.count))
        let (builtIn, _) = try gradient(constant: [])
        #expect(plan.steps.contains { $0.kernel is PrimitiveConvGradInputKernel }, "\(name): the primitive is used")
        #expect(primitive.shape == x.shape)
        expectRelativeL2(primitive, builtIn, atMost: 1e-5, "\(name): primitive vs built-in")
    }
}
