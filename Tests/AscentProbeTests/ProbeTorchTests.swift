import AscentIR
import AscentImage
import AscentTestSupport
import Foundation
import Testing

/// `ascent grad` and `ascent maximize` on models exported from PyTorch (Tools/fixtures/probe_torch.py):
/// torchvision classifiers, a 1-D audio CNN, GRU/LSTM sequence models, a PaddleOCR-style recognizer and a
/// two-input model with a recurrent state (Fixtures/probe-torch), and the larger torchvision classifiers
/// and Ultralytics YOLOv8n, TorchScript and dynamo exports (.cache/probe-torch, made by
/// Tools/fixtures/probe-torch-cache, which Tools/test runs). Gradients are compared with PyTorch
/// autograd's (float64) within the README's relative L2 bound.
@Suite struct ProbeTorchTests {
    /// The README's bound for `ascent grad` against PyTorch autograd.
    static let bound = 1e-4
    static let cache = TestPaths.root.appendingPathComponent(".cache/probe-torch")

    struct Meta: Decodable {
        var classifier: Bool
        var cases: [Case]
    }

    struct Case: Decodable {
        var folder: String
        var inputs: [String: String]
        var input_shape: [String]
        var targets: [Target]
    }

    struct Target: Decodable {
        var target: String
        var wrt: String
        var gradient: String
    }

    static func meta(_ folder: URL) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: folder.appendingPathComponent("meta.json")))
    }

    /// The model folders under `folder` (those with a meta.json).
    static func models(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).appendingPathComponent("meta.json").path) }.sorted()
    }

    static let small = models(in: TestPaths.fixture("probe-torch"))
    static let large = models(in: cache)

    /// Every case and target of one model, with and without `--input-shape`: the gradient file
    /// against autograd's. Returns the largest relative L2 error seen.
    @discardableResult
    static func checkGradients(_ folder: URL) throws -> Double {
        let meta = try meta(folder)
        let dir = try TestPaths.temporaryDirectory("probe-torch-grad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.npy").path
        var worst = 0.0
        for c in meta.cases {
            let inputs = c.inputs.sorted { $0.key < $1.key }.flatMap { ["--input", "\($0.key)=\(folder.appendingPathComponent($0.value).path)"] }
            for t in c.targets {
                let expected = try NumPy.read(path: folder.appendingPathComponent(t.gradient).path)
                for shapes in [[], c.input_shape.flatMap { ["--input-shape", $0] }] {
                    try? FileManager.default.removeItem(atPath: out)
                    let r = try CLI.run(["grad", folder.appendingPathComponent("model.onnx").path] + inputs
                                        + ["--target", t.target, "--wrt", t.wrt, "--output", out] + shapes)
                    let what = "\(folder.lastPathComponent)/\(c.folder) \(t.target) d/d \(t.wrt)\(shapes.isEmpty ? "" : " with --input-shape")"
                    try #require(r.status == 0, "\(what): \(r.stderr)")
                    let actual = try NumPy.read(path: out)
                    let report = Closeness.relativeL2(actual, expected, atMost: bound)
                    expectRelativeL2(actual, expected, atMost: bound, what)
                    worst = max(worst, report.measured)
                    print("probe-torch grad \(what): relative L2 \(String(format: "%.3g", report.measured))")
                }
            }
        }
        return worst
    }

    @Test(arguments: small) func gradientsMatchAutograd(model: String) throws {
        try Self.checkGradients(TestPaths.fixture("probe-torch").appendingPathComponent(model))
    }

    @Test(.enabled(if: !large.isEmpty, "made by Tools/fixtures/probe-torch-cache (Tools/test runs it)"), arguments: large)
    func largeGradientsMatchAutograd(model: String) throws {
        try Self.checkGradients(Self.cache.appendingPathComponent(model))
    }

    /// The `logit:K` target of a classifier's fixture, its input name and first case's shape.
    static func classTarget(_ folder: URL) throws -> (target: String, input: String, shape: String)? {
        let meta = try meta(folder)
        guard meta.classifier, let c = meta.cases.first, let t = c.targets.first(where: { $0.target.hasPrefix("logit:") }) else { return nil }
        return (t.target, t.wrt, try #require(c.input_shape.first { $0.hasPrefix(t.wrt + "=") }))
    }

    /// `maximize --target logit:K` with the command's defaults; the class and probability it prints.
    static func maximize(_ folder: URL, extra: [String] = []) throws -> (target: String, classIndex: Int, p: Double, run: CLI.Result)? {
        guard let (target, _, shape) = try classTarget(folder) else { return nil }
        let dir = try TestPaths.temporaryDirectory("probe-torch-maximize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["maximize", folder.appendingPathComponent("model.onnx").path, "--target", target, "--input-shape", shape,
                             "--output", dir.appendingPathComponent("x.npy").path] + extra)
        try #require(r.status == 0, "\(folder.lastPathComponent): \(r.stderr)")
        // `logit:3 → class 3 (p = 0.9731)`
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("\(target) → class ") }, "\(r.stdout)")
        let words = line.split(separator: " ")
        let k = try #require(Int(words[3]), "\(line)")
        let p = try #require(Double(line.split(separator: "=").last!.dropLast().trimmingCharacters(in: .whitespaces)), "\(line)")
        print("probe-torch maximize \(folder.lastPathComponent) \(target): class \(k), p = \(p)")
        return (target, k, p, r)
    }

    static func checkMaximize(_ folder: URL) throws {
        guard let result = try maximize(folder) else { return }
        #expect(result.target == "logit:\(result.classIndex)" && result.p >= 0.9,
                "\(folder.lastPathComponent): \(result.target) ends as class \(result.classIndex) with p = \(result.p)")
    }

    @Test(arguments: small) func maximizeReachesTheClass(model: String) throws {
        try Self.checkMaximize(TestPaths.fixture("probe-torch").appendingPathComponent(model))
    }

    @Test(.enabled(if: !large.isEmpty, "made by Tools/fixtures/probe-torch-cache (Tools/test runs it)"), arguments: large)
    func largeMaximizeReachesTheClass(model: String) throws {
        try Self.checkMaximize(Self.cache.appendingPathComponent(model))
    }

    /// A two-input model (a GRU and its initial state): `--wrt x` optimizes x with h0 fed from its
    /// file and held fixed — the file is unchanged, and `ascent run` on the saved x and that h0 gives
    /// the final objective printed; without h0 the refusal names it.
    @Test func wrtHoldsTheOtherInputFixed() throws {
        let folder = TestPaths.fixture("probe-torch/gru_state")
        let model = folder.appendingPathComponent("model.onnx").path, h0 = folder.appendingPathComponent("case0/h0.npy").path
        let before = try Data(contentsOf: URL(fileURLWithPath: h0))
        let dir = try TestPaths.temporaryDirectory("probe-torch-wrt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = dir.appendingPathComponent("x.npy").path
        for wrt in [["--wrt", "x"], []] {
            let r = try CLI.run(["maximize", model, "--target", "output:logits:2", "--input", "h0=\(h0)", "--input-shape", "x=1,6,10",
                                 "--steps", "20", "--output", x] + wrt)
            try #require(r.status == 0, "\(r.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: h0)) == before, "h0's file changed")
            let saved = try NumPy.read(path: x)
            #expect(saved.shape == [1, 6, 10])
            // `output:logits:2: objective 0.1 → 2.5 in 20 steps`
            let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("output:logits:2: objective ") }, "\(r.stdout)")
            let values = line.split(separator: " ").compactMap { Float($0) }
            try #require(values.count >= 2, "\(line)")
            #expect(values[1] > values[0], "\(line)")
            let out = dir.appendingPathComponent("run")
            let run = try CLI.run(["run", model, "--input", "x=\(x)", "--input", "h0=\(h0)", "--output-dir", out.path])
            try #require(run.status == 0, "\(run.stderr)")
            let logits = try NumPy.read(path: out.appendingPathComponent("logits.npy").path).floats()
            expectClose(logits[2], values[1], rtol: 1e-4, atol: 1e-5, "logits[2] at the saved x with h0 from its file")
        }
        let missing = try CLI.run(["maximize", model, "--target", "output:logits:2", "--wrt", "x", "--input-shape", "x=1,6,10", "--output", x])
        #expect(missing.status == 65 && missing.stderr.contains("'h0'") && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        let neither = try CLI.run(["maximize", model, "--target", "output:logits:2", "--output", x])
        #expect(neither.status == 64 && neither.stderr.contains("--wrt"), "\(neither.stderr)")
    }

    /// A 1-D signal input: `--output W.png` draws the waveform and writes its values to W.npy.
    @Test func signalInputWritesPlotAndValues() throws {
        let model = TestPaths.fixture("probe-torch/audio_cnn/model.onnx").path
        let dir = try TestPaths.temporaryDirectory("probe-torch-signal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("wave.png").path
        let r = try CLI.run(["maximize", model, "--target", "logit:2", "--input-shape", "wave=1,1,800", "--steps", "5", "--output", png])
        try #require(r.status == 0, "\(r.stderr)")
        let values = try NumPy.read(path: dir.appendingPathComponent("wave.npy").path)
        #expect(values.shape == [1, 1, 800])
        let image = try PNG.read(path: png)
        #expect(image.width == 512 && image.channels == 3)
        // The curve's pixels: neither white nor the axes' gray.
        #expect(image.pixels.count(where: { $0 < 150 }) > 800, "no curve drawn")
        #expect(r.stdout.contains("wrote \(png) (a plot of 1 signal) and \(dir.appendingPathComponent("wave.npy").path) [1,1,800]"), "\(r.stdout)")
    }
}
