import AscentIR
import AscentKeras
@testable import AscentProbe
import AscentTestSupport
import Foundation
import Testing

/// The `keras-example` preset against TensorFlow running the Keras example's own loop
/// (`Fixtures/probe`, written by `Tools/fixtures/probe_reference.py`).
@Suite struct KerasExampleTests {
    func npy(_ name: String) throws -> Tensor { try NumPy.read(path: TestPaths.fixture("probe/\(name).npy").path) }

    func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, n = 0.0
        for (x, y) in zip(a, b) { d += Double(x - y) * Double(x - y); n += Double(y) * Double(y) }
        return (d / max(n, 1e-300)).squareRoot()
    }

    /// Runs the preset from TensorFlow's initial image; returns (image error, worst loss error).
    func compare(case name: String, model: String, target: Target) throws -> (image: Double, loss: Double) {
        let graph = try KerasImporter.load(path: TestPaths.fixture(model).path)
        var options = ProbeOptions.kerasExample
        options.initialization = .tensor(try npy("\(name)_init"))
        let result = try Probe(graph: graph, target: target, options: options).run()
        let imageError = relativeL2(result.input.floats(), try npy("\(name)_final").floats())
        let reference = try npy("\(name)_loss").floats()
        #expect(result.steps.count == reference.count)
        // Per step, relative to the step's loss (floored at 1% of the largest, so a loss
        // crossing zero does not divide by ~0).
        let scale = reference.map(abs).max() ?? 1
        var lossError = 0.0
        for (s, r) in zip(result.steps, reference) {
            lossError = max(lossError, Double(abs(s.objective[0] - r)) / Double(max(abs(r), 0.01 * scale)))
        }
        print("keras-example \(name): image rel. L2 \(imageError), loss rel. \(lossError)")
        return (imageError, lossError)
    }

    @Test func layerTargetMatchesTensorFlow() throws {
        let e = try compare(case: "cnn_bn_conv2_dilated_5", model: "keras/cnn_bn/model.h5",
                            target: .layer(name: "conv2_dilated", channel: 5, reduction: .mean))
        #expect(e.image <= 1e-5)  // measured 1.4e-6 (cnn_bn), 1.7e-7 (digits)
        #expect(e.loss <= 1e-5)  // measured 3.5e-7, 5.5e-7
    }

    @Test func logitTargetMatchesTensorFlow() throws {
        let e = try compare(case: "digits_logit_3", model: "digits/digits.h5", target: .logit(3))
        #expect(e.image <= 1e-5)  // measured 1.4e-6 (cnn_bn), 1.7e-7 (digits)
        #expect(e.loss <= 1e-5)  // measured 3.5e-7, 5.5e-7
    }

    /// `Picture` with the preset's deprocessing against the example's numpy `deprocess_image`.
    @Test func deprocessingMatchesTheExample() throws {
        let input = try npy("deprocess_input")
        #expect(input.shape == [180, 180, 3])
        let batched = Tensor(shape: [1] + input.shape, scalars: input.floats())
        let image = try Picture.image(from: batched, channelsLast: true, deprocess: ProbeOptions.kerasExample.deprocess)
        let expected = try npy("deprocess_output")
        #expect(expected.dtype == .uint8)
        #expect([image.height, image.width, image.channels] == expected.shape)
        let want = expected.doubles().map { UInt8($0) }
        let differing = zip(image.pixels, want).filter { $0 != $1 }.count
        let worst = zip(image.pixels, want).map { abs(Int($0) - Int($1)) }.max() ?? 0
        print("deprocess: \(differing) of \(want.count) bytes differ, worst by \(worst)")
        #expect(differing == 0)
    }
}
