import AscentIR
import AscentKeras
import AscentONNX
import AscentProbe
import AscentTestSupport
import Testing

@Suite struct ModelFactsTests {
    /// `input → first(input, c1) → second(·, c2) → Relu`, the shape of a model's preprocessing.
    func graph(_ first: String, _ c1: Tensor, _ second: String?, _ c2: Tensor?, constantFirst: Bool = false) -> Graph {
        var nodes = [Node(name: "pre", op: first, inputs: constantFirst ? ["c1", "input"] : ["input", "c1"], outputs: ["a"])]
        var initializers = ["c1": c1]
        var last = "a"
        if let second, let c2 {
            nodes.append(Node(name: "pre2", op: second, inputs: ["a", "c2"], outputs: ["b"]))
            initializers["c2"] = c2
            last = "b"
        }
        nodes.append(Node(name: "act", op: "Relu", inputs: [last], outputs: ["y"]))
        return Graph(name: "g", inputs: [ValueInfo(name: "input", type: ValueType(.float32, Shape([1, 8, 8, 3])))],
                     outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))], initializers: initializers, nodes: nodes)
    }

    @Test func rescalingGivesThePixelRange() throws {
        let keras = ModelFacts.inputRange(of: graph("Mul", Tensor(scalar: Float(1.0 / 255)), nil, nil), input: "input")
        #expect(keras?.range == 0...255 && keras?.exact == true)
        // MobileNet's Rescaling(1/127.5, offset −1) maps 0…255 to −1…1.
        let centred = ModelFacts.inputRange(of: graph("Mul", Tensor(scalar: Float(1 / 127.5)), "Add", Tensor(scalar: Float(-1))), input: "input")
        #expect(centred?.range.lowerBound == 0)
        expectClose(try #require(centred).range.upperBound, 255, rtol: 0, atol: 1e-3, "upper bound")
        let divided = ModelFacts.inputRange(of: graph("Div", Tensor(scalar: Float(255)), "Sub", Tensor(scalar: Float(0.5))), input: "input")
        #expect(divided?.range == 0...255, "\(String(describing: divided))")
        let swapped = ModelFacts.inputRange(of: graph("Mul", Tensor(scalar: Float(1.0 / 255)), nil, nil, constantFirst: true), input: "input")
        #expect(swapped?.range == 0...255)
    }

    @Test func normalizationGivesAnEstimate() throws {
        // ImageNet statistics on 0…1 inputs.
        let mean = Tensor(shape: [3], scalars: [0.485, 0.456, 0.406]), std = Tensor(shape: [3], scalars: [0.229, 0.224, 0.225])
        let r = ModelFacts.inputRange(of: graph("Sub", mean, "Div", std), input: "input")
        #expect(r?.range == 0...1 && r?.exact == false)
        // The same statistics on 0…255 inputs, divided by multiplying with 1/std.
        let r255 = ModelFacts.inputRange(of: graph("Sub", Tensor(shape: [3], scalars: mean.floats().map { $0 * 255 }), "Mul",
                                                   Tensor(shape: [3], scalars: std.floats().map { 1 / ($0 * 255) })), input: "input")
        #expect(r255?.range == 0...255)
    }

    @Test func modelsThatDoNotSayGiveNil() throws {
        #expect(ModelFacts.inputRange(of: graph("Add", Tensor(scalar: Float(1)), nil, nil), input: "input") == nil)
        #expect(ModelFacts.inputRange(of: graph("Mul", Tensor(scalar: Float(-2)), nil, nil), input: "input") == nil)
        let digits = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        #expect(ModelFacts.inputRange(of: digits, input: "input") == nil)
    }

    @Test func classifiersAreFoundByTheirFinalSoftmax() throws {
        let keras = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        #expect(ModelFacts.probabilitiesOutput(of: keras) == "probs")
        let onnx = try ONNXImporter.load(path: TestPaths.fixture("digits/digits.onnx").path)
        #expect(ModelFacts.probabilitiesOutput(of: onnx) == onnx.outputs[0].name)
        #expect(ModelFacts.probabilitiesOutput(of: graph("Mul", Tensor(scalar: Float(2)), nil, nil)) == nil)
    }
}
