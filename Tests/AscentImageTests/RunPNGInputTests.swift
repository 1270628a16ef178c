import AscentImage
import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// PNG inputs to `ascent run`: `pixel × --scale` (default 1/255), moved to `[1,C,H,W]` for a
/// channels-first model — each compared with the same values given as `.npy`.
@Suite struct RunPNGInputTests {
    /// Runs `ascent run model inputs... --output-dir D`; the outputs by file name.
    static func run(_ model: String, _ arguments: [String], in dir: URL) throws -> [String: Tensor] {
        let out = dir.appendingPathComponent(UUID().uuidString)
        let r = try CLI.run(["run", model] + arguments + ["--output-dir", out.path, "--top", "0"])
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        var outputs: [String: Tensor] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out.path) {
            outputs[name] = try NumPy.read(path: out.appendingPathComponent(name).path)
        }
        return outputs
    }

    /// The bundled sample is row 0 of `inputs.npy` (pixel / 255): with the default scale the model
    /// gives Keras's probabilities for that row; with `--scale 1` it gets the pixels themselves,
    /// as an `.npy` of pixel values would give them.
    @Test func scaleMultipliesThePixels() throws {
        let dir = try TestPaths.temporaryDirectory("png-scale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = "Fixtures/digits/digits.keras", png = "Fixtures/digits/sample_7.png"
        let keras = try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path).floats()
        let byDefault = try #require(try Self.run(model, ["--input", png], in: dir)["probs.npy"])
        expectClose(byDefault, Tensor(shape: [1, 10], scalars: Array(keras[0..<10])), scaledTolerance: 1e-4, "sample_7 vs Keras")
        let explicit = try #require(try Self.run(model, ["--input", png, "--scale", "0.00392156862745098"], in: dir)["probs.npy"])
        expectClose(explicit, byDefault, rtol: 0, atol: 0, "--scale 1/255 is the default")

        let image = try PNG.read(path: png)
        let pixels = dir.appendingPathComponent("pixels.npy").path
        try NumPy.write(Tensor(shape: [1, 16, 16, 1], scalars: image.pixels.map(Float.init)), to: pixels)
        let raw = try #require(try Self.run(model, ["--input", png, "--scale", "1"], in: dir)["probs.npy"])
        let reference = try #require(try Self.run(model, ["--input", pixels], in: dir)["probs.npy"])
        expectClose(raw, reference, rtol: 0, atol: 0, "--scale 1")
        #expect(!raw.bitwiseEqual(byDefault), "--scale changed nothing")
    }

    /// `onnx/graph.onnx` reads x as [N,3,8,8]: an 8×8 RGB picture is moved to channels-first.
    @Test func channelsFirstModelsGetCHW() throws {
        let dir = try TestPaths.temporaryDirectory("png-nchw")
        defer { try? FileManager.default.removeItem(at: dir) }
        var random = SeededRandom(8)
        let image = try Image(width: 8, height: 8, channels: 3, pixels: random.bytes(8 * 8 * 3))
        let png = dir.appendingPathComponent("x.png").path
        try PNG.write(image, to: png)
        // The same values, laid out [1,C,H,W] by hand.
        var chw = [Float](repeating: 0, count: 192)
        for y in 0..<8 { for x in 0..<8 { for c in 0..<3 { chw[(c * 8 + y) * 8 + x] = Float(image.pixels[(y * 8 + x) * 3 + c]) / 255 } } }
        let npy = dir.appendingPathComponent("x.npy").path, other = dir.appendingPathComponent("y.npy").path
        try NumPy.write(Tensor(shape: [1, 3, 8, 8], scalars: chw), to: npy)
        try NumPy.write(random.uniform([1, 4, 6, 6]), to: other)
        let fromPNG = try Self.run("Fixtures/onnx/graph.onnx", ["--input", "x=\(png)", "--input", "y=\(other)"], in: dir)
        let fromNpy = try Self.run("Fixtures/onnx/graph.onnx", ["--input", "x=\(npy)", "--input", "y=\(other)"], in: dir)
        #expect(!fromNpy.isEmpty && Set(fromPNG.keys) == Set(fromNpy.keys))
        for (name, t) in fromNpy { expectClose(fromPNG[name], t, rtol: 0, atol: 0, name) }
    }
}
