import AscentIR
import AscentImage
import AscentTestSupport
import Foundation
import Testing

/// `ascent maximize` as a user runs it (the executable beside the tests).
@Suite struct MaximizeCLITests {
    @Test func severalTargetsMakeOneLabelledGrid() throws {
        let dir = try TestPaths.temporaryDirectory("maximize")
        let png = dir.appendingPathComponent("p.png").path, npy = dir.appendingPathComponent("x.npy").path
        let log = dir.appendingPathComponent("trace.json").path
        let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:1", "--target", "neuron:conv1:2@3,4",
                             "--targets", "layer:conv2:0-2", "--preset", "lucid", "--steps", "4", "--output", png,
                             "--save-input", npy, "--log", log])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try NumPy.read(path: npy).shape == [5, 16, 16, 1])
        // 5 pictures of 16 px, enlarged ×6, in 5 columns with 6-px gaps and a caption strip.
        let grid = try PNG.read(path: png)
        #expect(grid.width == 6 + 5 * (96 + 6) && grid.height == 6 + 96 + 13 + 6 && grid.channels == 1, "\(grid.width)×\(grid.height)")
        // Captions are drawn: dark pixels in the strip under the pictures.
        let strip = (6 + 96)..<(6 + 96 + 13)
        #expect(strip.contains { y in (0..<grid.width).contains { grid.pixels[y * grid.width + $0] == 0 } })
        #expect(!r.stderr.contains("step"), "no progress when stderr is not a terminal: \(r.stderr)")
        #expect(r.stdout.contains("logit:1 → class 1"), "\(r.stdout)")
        let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: log))) as! [String: Any]
        #expect((trace["objectives"] as? [[Double]])?.count == 5 && (trace["objectives"] as? [[Double]])?.first?.count == 5)
        #expect((trace["seconds"] as? Double ?? 0) > 0)
        #expect((trace["probabilities"] as? [[Double]])?.count == 5 && (trace["probabilities"] as? [[Double]])?[0].count == 10)
        #expect(trace["targets"] as? [String] == ["logit:1", "neuron:conv1:2@3,4", "layer:conv2:0", "layer:conv2:1", "layer:conv2:2"])
    }

    /// A non-image input is saved as .npy; `--output X.png` on a 1-D one (the MLP's `[N,F]` features)
    /// draws it as a line plot and writes X.npy beside it.
    @Test func nonImageInputsAreSavedAsNpy() throws {
        let dir = try TestPaths.temporaryDirectory("maximize-npy")
        let png = dir.appendingPathComponent("x.png").path, npy = dir.appendingPathComponent("x.npy").path
        let plotted = try CLI.run(["maximize", "Fixtures/keras/mlp/model.h5", "--target", "layer:fc2:0", "--steps", "1", "--output", png])
        #expect(plotted.status == 0 && plotted.stdout.contains("wrote \(png) (a plot of 1 signal) and \(npy)"), "\(plotted.stdout) \(plotted.stderr)")
        #expect(try PNG.read(path: png).width == 512 && NumPy.read(path: npy).shape.first == 1)
        try FileManager.default.removeItem(atPath: npy)
        let saved = try CLI.run(["maximize", "Fixtures/keras/mlp/model.h5", "--target", "layer:fc2:0", "--steps", "2", "--output", npy])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(try NumPy.read(path: npy).shape.first == 1)
    }

    @Test func defaultsToLucidForImagesAndTheKerasExampleOtherwise() throws {
        let image = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:1", "--steps", "1"])
        #expect(image.status == 0 && image.stderr.contains("preset: lucid"), "\(image.stderr)")
        let vector = try CLI.run(["maximize", "Fixtures/keras/mlp/model.h5", "--target", "layer:fc2:0", "--steps", "1"])
        #expect(vector.status == 0 && vector.stderr.contains("preset: keras-example"), "\(vector.stderr)")
    }

    @Test func errorsAreOneLine() throws {
        let notImage = try CLI.run(["maximize", "Fixtures/keras/mlp/model.h5", "--target", "layer:fc1:0", "--preset", "lucid"])
        #expect(notImage.status != 0)
        #expect(notImage.stderr.contains("not an image") && notImage.stderr.split(separator: "\n").count == 1, "\(notImage.stderr)")
        let unknown = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "layer:conv3:0"])
        #expect(unknown.status == 65)
        #expect(unknown.stderr.contains("closest: 'conv1', 'conv2'") && unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
    }
}
