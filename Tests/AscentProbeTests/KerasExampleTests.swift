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

    /// README: "final images within 1.4e-6 relative L2, and the picture byte for byte".
    static let imageBound = 1.4e-6

    /// Runs the preset from TensorFlow's initial image and checks the README's claims: the final
    /// image within 1.4e-6 relative L2 of TensorFlow's, the picture (the preset's deprocessing of
    /// ours) byte for byte the example's `deprocess_image` of TensorFlow's final image (NumPy,
    /// Tools/checks/deprocess.py); the loss curve within 1e-5 relative L2.
    /// `imageGap`: why the image claim fails for this case (recorded as a known issue, which must
    /// disappear once the claim holds).
    func check(case name: String, model: String, target: Target, imageGap: String? = nil) throws {
        let graph = try KerasImporter.load(path: TestPaths.fixture(model).path)
        var options = ProbeOptions.kerasExample
        options.initialization = .tensor(try npy("\(name)_init"))
        let result = try Probe(graph: graph, target: target, options: options).run()
        let final = try npy("\(name)_final")
        let image = Closeness.relativeL2(result.input, final, atMost: Self.imageBound)
        if let imageGap {
            withKnownIssue(Comment(rawValue: imageGap)) { expectRelativeL2(result.input, final, atMost: Self.imageBound, "\(name): final image vs TensorFlow") }
        } else {
            expectRelativeL2(result.input, final, atMost: Self.imageBound, "\(name): final image vs TensorFlow")
        }
        let reference = try npy("\(name)_loss").floats()
        #expect(result.steps.count == reference.count)
        let loss = expectRelativeL2(result.steps.map { $0.objective[0] }, reference, atMost: 1e-5, "\(name): loss per step vs TensorFlow")
        print("keras-example \(name): image rel. L2 \(image.measured), loss rel. L2 \(loss.measured)")

        let dir = try TestPaths.temporaryDirectory("deprocess")
        defer { try? FileManager.default.removeItem(at: dir) }
        let theirs = dir.appendingPathComponent("tf_picture.npy").path
        let r = try ReferencePython.script("checks/deprocess.py", [TestPaths.fixture("probe/\(name)_final.npy").path, theirs])
        try #require(r.status == 0, "deprocess.py: \(r.output)")
        let picture = try Picture.image(from: result.input, channelsLast: true, deprocess: options.deprocess)
        let ours = Tensor(shape: [picture.height, picture.width, picture.channels], scalars: picture.pixels)
        expectClose(ours, try NumPy.read(path: theirs), rtol: 0, atol: 0, "\(name): picture vs the example's deprocess_image of TensorFlow's image")
    }

    @Test func layerTargetMatchesTensorFlow() throws {
        try check(case: "cnn_bn_conv2_dilated_5", model: "keras/cnn_bn/model.h5", target: .layer(name: "conv2_dilated", channel: 5, reduction: .mean),
                  imageGap: "the README's 1.4e-6 does not hold here: 1.53e-6 measured (reported to the lead; the picture is still byte for byte)")
    }

    @Test func logitTargetMatchesTensorFlow() throws {
        try check(case: "digits_logit_3", model: "digits/digits.h5", target: .logit(3))
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
        expectClose(Tensor(shape: expected.shape, scalars: image.pixels), expected, rtol: 0, atol: 0, "deprocessed picture")
    }
}
