import AscentIR
import AscentKeras
import AscentONNX
import AscentProbe
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// Maximizing each class logit of the bundled digits model — the Keras file and its tf2onnx
/// ONNX form — with the default image preset, from noise, gives an input the model itself
/// classifies as that class with probability ≥ 0.99.
@Suite struct DigitsClassesTests {
    static func load(_ file: String) throws -> Graph {
        file.hasSuffix(".onnx") ? try ONNXImporter.load(path: TestPaths.fixture("digits/\(file)").path)
                                : try KerasImporter.load(path: TestPaths.fixture("digits/\(file)").path)
    }

    @Test(arguments: ["digits.h5", "digits.onnx"], Array(0..<10))
    func maximizedInputIsClassifiedAsItsClass(file: String, k: Int) throws {
        let graph = try Self.load(file)
        var options = ProbeOptions.lucid(range: 0...1)
        options.seed = UInt64(k)
        let result = try Probe(graph: graph, target: .logit(k), options: options).run()
        let x = result.input
        #expect(x.shape == [1, 16, 16, 1])
        #expect(x.floats().allSatisfy { $0 >= 0 && $0 <= 1 }, "input stays in the model's range")
        let probs = try Session(graph: graph).run([graph.inputs[0].name: x])[graph.outputs[0].name]!.floats()
        #expect(probs[k] >= 0.99, "\(file) class \(k): p = \(probs[k])")
    }

    /// The same seed gives the same input bit for bit (every preset draws its randomness from
    /// the seed; the kernels are deterministic); another seed gives another input.
    @Test(arguments: ["lucid", "smooth", "keras-example"])
    func sameSeedSameBits(preset: String) throws {
        let graph = try Self.load("digits.onnx")
        func run(seed: UInt64) throws -> Tensor {
            var options: ProbeOptions = preset == "lucid" ? .lucid() : preset == "smooth" ? .smooth() : .kerasExample
            options.steps = 20
            options.seed = seed
            let goal = Goal(batch: [.logit(1), .layer(name: try convName(graph), channel: 2, reduction: .mean)])
            return try Probe(graph: graph, goal: goal, options: options, threads: 2).run().input
        }
        let a = try run(seed: 7), b = try run(seed: 7), c = try run(seed: 8)
        #expect(a.bitwiseEqual(b))
        #expect(!a.bitwiseEqual(c))
    }

    func convName(_ graph: Graph) throws -> String {
        try #require(graph.nodes.first { $0.op == "Conv" }?.outputs.first)
    }

    /// The CLI writes the same files for the same seed.
    @Test func cliRunsRepeatExactly() throws {
        let dir = try TestPaths.temporaryDirectory("determinism")
        func run(_ tag: String) throws -> (png: Data, npy: Data) {
            let png = dir.appendingPathComponent("\(tag).png").path, npy = dir.appendingPathComponent("\(tag).npy").path
            let r = try CLI.run(["maximize", "Fixtures/digits/digits.onnx", "--targets", "logit:2-3", "--steps", "16",
                                 "--seed", "5", "--output", png, "--save-input", npy])
            #expect(r.status == 0, "\(r.stderr)")
            return (try Data(contentsOf: URL(fileURLWithPath: png)), try Data(contentsOf: URL(fileURLWithPath: npy)))
        }
        let a = try run("a"), b = try run("b")
        #expect(a.png == b.png && a.npy == b.npy)
    }
}
