import AscentIR
import AscentImage
import AscentTestSupport
import Foundation
import Testing

/// `ascent explain` as a user runs it.
@Suite struct ExplainCLITests {
    @Test func integratedGradientsPrintsCompletenessAndWritesMapAndPicture() throws {
        let dir = try TestPaths.temporaryDirectory("explain")
        let npy = dir.appendingPathComponent("a.npy").path, png = dir.appendingPathComponent("a.png").path
        let r = try CLI.run(["explain", "Fixtures/explain/cnn/model.onnx", "--input", "Fixtures/explain/cnn/input.npy",
                             "--target", "logit:6", "--method", "integrated-gradients", "--save", npy, "--output", png])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("completeness: sum of attributions") && r.stdout.contains("relative"), "\(r.stdout)")
        let reference = try NumPy.read(path: TestPaths.fixture("explain/cnn/ig_gausslegendre.npy").path)
        #expect(AttributionReferenceTests.relativeL2(try NumPy.read(path: npy), reference) <= 1e-4)
        let picture = try PNG.read(path: png)
        #expect(picture.channels == 3 && picture.width >= 256, "\(picture.width)×\(picture.height)")
    }

    @Test func camOnKerasPNGInputWritesLayerResolutionMap() throws {
        let dir = try TestPaths.temporaryDirectory("explain-cam")
        let npy = dir.appendingPathComponent("cam.npy").path, png = dir.appendingPathComponent("cam.png").path
        let r = try CLI.run(["explain", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png", "--target", "logit:3",
                             "--method", "gradcam", "--save", npy, "--output", png, "--colormap", "jet"])
        #expect(r.status == 0, "\(r.stderr)")
        // The default layer: the last feature map before the head (6×6 conv2 → bn2 → 3×3 pool2).
        #expect(try NumPy.read(path: npy).shape == [1, 3, 3], "\(r.stdout)")
        #expect(try PNG.read(path: png).width >= 256)
    }

    @Test func oneDimensionalInputsGetALinePlot() throws {
        let dir = try TestPaths.temporaryDirectory("explain-1d")
        let png = dir.appendingPathComponent("plot.png").path
        let r = try CLI.run(["explain", "Fixtures/explain/conv1d/model.onnx", "--input", "Fixtures/explain/conv1d/input.npy",
                             "--target", "logit:4", "--method", "smoothgrad", "--samples", "5", "--batch", "2", "--output", png])
        #expect(r.status == 0, "\(r.stderr)")
        let plot = try PNG.read(path: png)
        #expect(plot.width == 512 && plot.height < 400, "one panel per channel (2): \(plot.width)×\(plot.height)")
    }

    @Test func layerThatIsNotSpatialIsRefused() throws {
        let r = try CLI.run(["explain", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png", "--target", "logit:3",
                             "--method", "gradcam", "--layer", "fc1", "--save", "/dev/null/x.npy"])
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("not spatial") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func camWithoutAnySpatialLayerIsRefused() throws {
        let dir = try TestPaths.temporaryDirectory("explain-mlp")
        let x = dir.appendingPathComponent("x.npy").path
        let shape = try NumPy.read(path: TestPaths.fixture("keras/mlp/inputs_0.npy").path).shape
        try NumPy.write(Tensor(shape: shape, scalars: [Float](repeating: 0.5, count: shape.reduce(1, *))), to: x)
        let r = try CLI.run(["explain", "Fixtures/keras/mlp/model.h5", "--input", x, "--target", "logit:0", "--method", "scorecam",
                             "--save", dir.appendingPathComponent("a.npy").path])
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("no layer with a spatial layout") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func baselineOfTheWrongShapeIsRefused() throws {
        let dir = try TestPaths.temporaryDirectory("explain-baseline")
        let b = dir.appendingPathComponent("b.npy").path, out = dir.appendingPathComponent("a.npy").path
        try NumPy.write(Tensor(shape: [1, 3, 16, 16], scalars: [Float](repeating: 0, count: 768)), to: b)
        let r = try CLI.run(["explain", "Fixtures/explain/cnn/model.onnx", "--input", "Fixtures/explain/cnn/input.npy",
                             "--target", "logit:6", "--method", "integrated-gradients", "--baseline", b, "--save", out])
        #expect(r.status == 65, "\(r.status) \(r.stderr)")
        #expect(r.stderr.contains("the baseline has shape [1,3,16,16]") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func usageErrors() throws {
        let layerless = try CLI.run(["explain", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png", "--target", "logit:3",
                                     "--method", "saliency", "--layer", "conv2", "--save", "x.npy"])
        #expect(layerless.status == 64 && layerless.stderr.contains("--layer is for"), "\(layerless.stderr)")
        let method = try CLI.run(["explain", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png", "--target", "logit:3",
                                  "--method", "lime", "--save", "x.npy"])
        #expect(method.status == 64 && method.stderr.contains("unknown method 'lime'"), "\(method.stderr)")
        let window = try CLI.run(["explain", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png", "--target", "logit:3",
                                  "--method", "occlusion", "--window", "4,4,1,1", "--save", "/dev/null/x.npy"])
        #expect(window.status == 64 && window.stderr.contains("occlusion window has 4 sizes"), "\(window.stderr)")
    }
}
