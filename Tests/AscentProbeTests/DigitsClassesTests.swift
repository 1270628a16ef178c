import AscentIR
import AscentKeras
import AscentProbe
import AscentRuntime
import AscentTestSupport
import Testing

/// Maximizing each class logit of the bundled digits model, with the default image preset,
/// gives an input the model itself classifies as that class with probability ≥ 0.99.
@Suite struct DigitsClassesTests {
    @Test(arguments: Array(0..<10))
    func maximizedInputIsClassifiedAsItsClass(k: Int) throws {
        let graph = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        var options = ProbeOptions.lucid(range: 0...1)
        options.seed = UInt64(k)
        let result = try Probe(graph: graph, target: .logit(k), options: options).run()
        let x = result.input
        #expect(x.shape == [1, 16, 16, 1])
        #expect(x.floats().allSatisfy { $0 >= 0 && $0 <= 1 }, "input stays in the model's range")
        let probs = try Session(graph: graph).run(["input": x])["probs"]!.floats()
        #expect(probs[k] >= 0.99, "class \(k): p = \(probs[k])")
    }
}
