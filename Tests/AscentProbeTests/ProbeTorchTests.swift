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
                    let kind = String(t.target.prefix { $0 != ":" })
                    if let why = knownGradientGaps["\(folder.lastPathComponent)/\(c.folder) \(kind)"] {
                        withKnownIssue(Comment(rawValue: why)) { expectRelativeL2(actual, expected, atMost: bound, what) }
                    } else {
                        expectRelativeL2(actual, expected, atMost: bound, what)
                    }
                    worst = max(worst, report.measured)
                    print("probe-torch grad \(what): relative L2 \(String(format: "%.3g", report.measured))")
                }
            }
        }
        return worst
    }

    /// Gradients measured off PyTorch's (`model/case target kind`), all at the non-square size 56×72
    /// (case0, 64×64, matches within 2.2e-6). The TorchScript SqueezeNet's is traced: in batch item 0,
    /// channel 212 of `features.8`'s MaxPool window (0,2) holds two values 1.1e-6 apart (1.268228 and
    /// 1.2682269), closer than float32 convolutions computed by different algorithms agree, so which
    /// one takes the window's gradient depends on rounding (Ascent's channels-last run picks PyTorch's
    /// float64 choice and matches within 4e-7; its channels-first and oneDNN runs pick the other):
    /// the reference is ill-conditioned at this input, not a rule wrong. The others are not traced yet.
    /// The test fails when one of them starts to match, so the list stays true.
    static let knownGradientGaps: [String: String] = [
        "squeezenet1_1_ts/case1 logit": "relative L2 1.9e-2 at 56×72: a MaxPool window whose top two values are 1.1e-6 apart routes the gradient by rounding (see above)",
        "squeezenet1_1_dynamo/case1 logit": "relative L2 1.1e-2 at 56×72",
        "squeezenet1_1_dynamo/case1 layer": "relative L2 3.6e-3 at 56×72 (features.6, after two ceil_mode MaxPools)",
        "mobilenet_v3_small_dynamo/case1 logit": "relative L2 5.5e-3 at 56×72; the TorchScript export of the same weights (GlobalAveragePool where dynamo writes ReduceMean) matches",
        "mobilenet_v3_small_dynamo/case1 layer": "relative L2 6.1e-3 at 56×72",
    ]

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

    /// The options of the p ≥ 0.9 check: image classifiers with torchvision's input convention
    /// (`--input-range imagenet`) and the smooth preset (lucid's FFT-less Fourier step is too slow for
    /// the suite at 64×64), other inputs with the keras-example preset run for 300 steps.
    static func maximizeOptions(_ folder: URL) throws -> [String] {
        let meta = try meta(folder)
        let image = meta.cases.first?.input_shape.first?.split(separator: ",").count == 4
        return image ? ["--preset", "smooth", "--steps", "200", "--input-range", "imagenet"] : ["--steps", "300"]
    }

    /// Where maximizing the logit does not give p ≥ 0.9, and why (measured; the test fails when one
    /// of these starts to succeed, so the list stays true).
    static let notReached: [String: String] = [
        "mobilenet_v3_small_w50": "the random model's class 9 logit grows faster than class 3's with any activation: logit:3 rises from −0.06 to 5.8 and the input is class 9 with p = 1.0",
        "mobilenet_v3_small_w50_dynamo": "as the TorchScript export (the same weights)",
        "seq_gru_lstm": "the logits are a linear map of an LSTM state bounded by tanh: logit:1 stops at 0.40, p = 0.29 (PyTorch's own Adam, unconstrained, 600 steps: 0.39, p = 0.28)",
    ]

    static func checkMaximize(_ folder: URL) throws {
        guard try classTarget(folder) != nil else { return }
        let check = {
            let result = try #require(try maximize(folder, extra: try maximizeOptions(folder)))
            #expect(result.target == "logit:\(result.classIndex)" && result.p >= 0.9,
                    "\(folder.lastPathComponent): \(result.target) ends as class \(result.classIndex) with p = \(result.p)")
        }
        if let why = notReached[folder.lastPathComponent] {
            withKnownIssue(Comment(rawValue: why)) { try check() }
        } else {
            try check()
        }
    }

    @Test(arguments: small) func maximizeReachesTheClass(model: String) throws {
        try Self.checkMaximize(TestPaths.fixture("probe-torch").appendingPathComponent(model))
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

    /// A unit that is zero at the start and passes no gradient (a ReLU channel of the audio CNN that is
    /// below zero everywhere from `--init zeros`): stderr warns that the objective did not move; a live
    /// channel of the same layer gets no warning.
    @Test func deadUnitIsWarnedAbout() throws {
        let model = TestPaths.fixture("probe-torch/audio_cnn/model.onnx").path
        let dir = try TestPaths.temporaryDirectory("probe-torch-dead")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (channel, dead) in [(6, true), (0, false)] {
            let target = "layer:/net/features/features.2/Relu_output_0:\(channel)"
            let r = try CLI.run(["maximize", model, "--target", target, "--input-shape", "wave=1,1,800", "--init", "zeros", "--steps", "3",
                                 "--output", dir.appendingPathComponent("x.npy").path])
            try #require(r.status == 0, "\(r.stderr)")
            let warned = r.stderr.contains("warning: \(target): the objective did not move (0 → 0): a dead unit for this input? try another --seed, --init, --learning-rate or --target")
            #expect(warned == dead, "channel \(channel): \(r.stdout) \(r.stderr)")
        }
    }

    /// `--input-range imagenet` prepends torchvision's normalization: the optimized pixels stay in 0…1
    /// and the model sees them normalized — `ascent run` on (x − mean)/std gives the probability that
    /// maximize printed. Without a range the 0…1 assumption is said on stderr.
    @Test func imagenetRangeNormalizesPixels() throws {
        let model = TestPaths.fixture("probe-torch/mobilenet_v3_small_w50/model.onnx").path
        let dir = try TestPaths.temporaryDirectory("probe-torch-imagenet")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = dir.appendingPathComponent("x.npy").path
        let common = ["maximize", model, "--target", "logit:3", "--input-shape", "x=1,3,64,64", "--preset", "smooth", "--steps", "10", "--output", x]
        let r = try CLI.run(common + ["--input-range", "imagenet"])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("--input-range imagenet: pixels in 0…1 are normalized per channel before the model"), "\(r.stderr)")
        #expect(!r.stderr.contains("assumed"), "\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("logit:3 → class ") }, "\(r.stdout)")
        let k = try #require(Int(line.split(separator: " ")[3]))
        let p = try #require(Float(line.split(separator: "=").last!.dropLast().trimmingCharacters(in: .whitespaces)))
        let pixels = try NumPy.read(path: x)
        #expect(pixels.shape == [1, 3, 64, 64] && pixels.floats().allSatisfy { $0 >= 0 && $0 <= 1 })
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let v = pixels.floats()
        let normalized = Tensor(shape: pixels.shape, scalars: v.indices.map { (v[$0] - mean[$0 / 4096]) / std[$0 / 4096] })
        let fed = dir.appendingPathComponent("normalized.npy").path
        try NumPy.write(normalized, to: fed)
        let run = try CLI.run(["run", model, "--input", "x=\(fed)", "--output-dir", dir.path])
        try #require(run.status == 0, "\(run.stderr)")
        let probs = try NumPy.read(path: dir.appendingPathComponent("probs.npy").path).floats()
        expectClose(probs[k], p, rtol: 0, atol: 6e-5, "p of class \(k) on the normalized pixels")
        let plain = try CLI.run(common)
        try #require(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stderr.contains("input range 0…1 assumed (the model does not say): give --input-range LO,HI (e.g. -1,1 or 0,255) or --input-range imagenet if it expects another"), "\(plain.stderr)")
    }

    /// `grad` prints the gradient's L2 norm, minimum and maximum (of the file it writes), and at most
    /// 16 objective values with the count and sum of all.
    @Test func gradPrintsASummary() throws {
        let folder = TestPaths.fixture("probe-torch/ocr_recognizer")
        let dir = try TestPaths.temporaryDirectory("probe-torch-summary")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.npy").path
        let r = try CLI.run(["grad", folder.appendingPathComponent("model.onnx").path, "--input", "x=\(folder.appendingPathComponent("case1/x.npy").path)",
                             "--target", "logit:5", "--output", out])
        try #require(r.status == 0, "\(r.stderr)")
        let g = try NumPy.read(path: out).floats()
        let summary = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("wrote \(out) (d/d x, float32[2,3,32,48]): L2 norm ") }, "\(r.stdout)")
        let numbers = summary.split(separator: ":").last!.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) }
        let norm = g.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        expectClose(numbers, [norm, Double(g.min()!), Double(g.max()!)], rtol: 1e-5, atol: 0, "L2 norm, min, max")
        // Two items of 12 steps: 24 values, 16 shown.
        let values = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("logit:5 ") }, "\(r.stdout)")
        #expect(values.hasSuffix(" values, sum ") == false && values.contains(" … (24 values, sum "), "\(values)")
        #expect(values.split(separator: ":").last!.split(separator: "…")[0].split(separator: " ").count == 16, "\(values)")
    }
}
