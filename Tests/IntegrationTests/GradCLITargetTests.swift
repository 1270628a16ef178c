import AscentIR
import AscentKeras
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// `ascent grad` targets other than `logit:K` (GradientTensorFlowTests checks those against
/// TensorFlow) and `--wrt`: the objective values it prints are what the README defines them as.
@Suite struct GradCLITargetTests {
    /// Runs `ascent grad` on the digits model's 16 held-out inputs; the printed objective values
    /// (one per batch item) and the gradient.
    static func grad(_ target: String, extra: [String] = []) throws -> (values: [Float], gradient: Tensor) {
        let dir = try TestPaths.temporaryDirectory("grad-targets")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.npy").path
        let r = try CLI.run(["grad", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/inputs.npy", "--target", target,
                             "--output", out] + extra)
        try #require(r.status == 0, "\(target): \(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix(target + " ") || $0.hasPrefix(target + ": ") }, "\(r.stdout)")
        let values = try line.split(separator: ":").last!.split(separator: " ").map { try #require(Float($0), "\(line)") }
        #expect(r.stdout.contains("wrote \(out) (d/d input, float32[16,16,16,1])"), "\(r.stdout)")
        return (values, try NumPy.read(path: out))
    }

    /// `output:NAME:K`: index K of output NAME, per batch item — Keras's probabilities.
    @Test func outputTargetIsTheOutputsElement() throws {
        let (values, gradient) = try Self.grad("output:probs:3")
        let keras = try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path).floats()
        // Printed with 6 significant digits.
        expectClose(values, stride(from: 3, to: keras.count, by: 10).map { keras[$0] }, rtol: 1e-5, atol: 1e-6, "probs[:, 3]")
        #expect(gradient.shape == [16, 16, 16, 1] && gradient.floats().contains { $0 != 0 })
    }

    /// `layer:NAME:C` averages channel C of the layer's output over its other non-batch axes;
    /// `layer:NAME:C:max` takes the maximum — of the values the model computes there.
    @Test func layerTargetsAreTheChannelsMeanAndMax() throws {
        var graph = try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path)
        graph.outputs = [ValueInfo(name: "conv2", type: ValueType(.float32, nil))]
        let conv2 = try #require(try Session(graph: graph).run(["input": try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)])["conv2"])
        let v = conv2.floats(), area = conv2.shape[1] * conv2.shape[2], channels = try #require(conv2.shape.last)
        #expect(conv2.shape.count == 4 && conv2.shape[0] == 16)
        let channel = (0..<16).map { b in (0..<area).map { v[(b * area + $0) * channels + 4] } }
        let mean = try Self.grad("layer:conv2:4"), max = try Self.grad("layer:conv2:4:max")
        expectClose(mean.values, channel.map { $0.reduce(0, +) / Float(area) }, rtol: 1e-5, atol: 1e-6, "mean of channel 4")
        expectClose(max.values, channel.map { $0.max()! }, rtol: 1e-5, atol: 1e-6, "max of channel 4")
        #expect(!mean.gradient.bitwiseEqual(max.gradient))
    }

    /// `--wrt` picks the input of a model with several floating inputs, and is required there.
    @Test func wrtChoosesTheInput() throws {
        let dir = try TestPaths.temporaryDirectory("grad-wrt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = TestPaths.fixture("keras/shared/model.h5").path
        let graph = try KerasImporter.load(path: model)
        #expect(graph.inputs.count == 2)
        let inputs = graph.inputs.indices.flatMap { ["--input", "\(graph.inputs[$0].name)=Fixtures/keras/shared/inputs_\($0).npy"] }
        let out = dir.appendingPathComponent("g.npy").path
        let missing = try CLI.run(["grad", model] + inputs + ["--target", "logit:1", "--output", out])
        #expect(missing.status == 64 && missing.stderr.contains("the model has 2 floating-point inputs: choose one with --wrt"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let unknown = try CLI.run(["grad", model] + inputs + ["--target", "logit:1", "--output", out, "--wrt", "nope"])
        #expect([64, 65].contains(unknown.status) && unknown.stderr.contains("nope") && unknown.stderr.split(separator: "\n").count == 1,
                "\(unknown.status) \(unknown.stderr)")
        for (i, input) in graph.inputs.enumerated() {
            let r = try CLI.run(["grad", model] + inputs + ["--target", "logit:1", "--output", out, "--wrt", input.name])
            #expect(r.status == 0, "\(r.stderr)")
            expectRelativeL2(try NumPy.read(path: out), try NumPy.read(path: TestPaths.fixture("keras/shared/grad_input_logit\(i == 0 ? "" : "_1").npy").path),
                             atMost: GradientTensorFlowTests.bound, "d/d \(input.name) vs TensorFlow")
        }
    }
}
