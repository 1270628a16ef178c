import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// `ascent maximize` as a user runs it (the executable beside the tests).
@Suite struct MaximizeCLITests {
    @Test func severalTargetsWriteOnePictureEach() throws {
        let dir = try TestPaths.temporaryDirectory("maximize")
        let png = dir.appendingPathComponent("p.png").path, npy = dir.appendingPathComponent("x.npy").path
        let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:1", "--target", "neuron:conv1:2@3,4",
                             "--preset", "lucid", "--steps", "4", "--output", png, "--save-input", npy])
        #expect(r.status == 0, "\(r.stderr)")
        for k in 0..<2 { #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("p-\(k).png").path)) }
        #expect(try NumPy.read(path: npy).shape == [2, 16, 16, 1])
        #expect(r.stderr.contains("step 4/4"))
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
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("closest: 'conv1', 'conv2'"), "\(unknown.stderr)")
    }
}
