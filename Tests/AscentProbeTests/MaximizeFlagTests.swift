import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// `ascent maximize` flags from the README's usage line that MaximizeCLITests does not reach,
/// each shown to change what it says it changes.
@Suite struct MaximizeFlagTests {
    /// Runs `ascent maximize` and returns the saved input (`--save-input`).
    static func maximize(_ arguments: [String], model: String = "Fixtures/digits/digits.h5") throws -> (input: Tensor, run: CLI.Result) {
        let dir = try TestPaths.temporaryDirectory("maximize-flags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let saved = dir.appendingPathComponent("x.npy").path
        let r = try CLI.run(["maximize", model] + arguments + ["--save-input", saved])
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        return (try NumPy.read(path: saved), r)
    }

    /// The README's command for the ten-class grid: every picture is classified as its class with
    /// p > 0.999, and the grid is `docs/digits-logits.png` byte for byte (with the README's two
    /// threads: the chunking of parallel loops, and so the rounding, follows the thread count).
    @Test func readmeGridCommand() throws {
        let dir = try TestPaths.temporaryDirectory("maximize-grid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("digits-logits.png").path, log = dir.appendingPathComponent("trace.json").path
        let r = try CLI.run(["maximize", "Fixtures/digits/digits.onnx", "--targets", "logit:0-9", "--output", png, "--log", log, "--threads", "2"])
        try #require(r.status == 0, "\(r.stderr)")
        let trace = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: log))) as? [String: Any])
        let probabilities = try #require(trace["probabilities"] as? [[Double]])
        #expect(probabilities.count == 10)
        for (k, p) in probabilities.enumerated() { #expect(p.count == 10 && p[k] > 0.999, "class \(k): p = \(p[k])") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: png)) == Data(contentsOf: TestPaths.root.appendingPathComponent("docs/digits-logits.png")),
                "the README's picture is not what its command draws")
    }

    /// `--preset keras-example --init X.npy` from the command line: TensorFlow's start and its final
    /// image (Fixtures/probe) within the README's 1.4e-6 relative L2; an explicit preset prints no
    /// "preset:" note.
    @Test func kerasExamplePresetAndInitFile() throws {
        let (x, r) = try Self.maximize(["--target", "logit:3", "--preset", "keras-example", "--init",
                                        TestPaths.fixture("probe/digits_logit_3_init.npy").path, "--threads", "1"])
        expectRelativeL2(x, try NumPy.read(path: TestPaths.fixture("probe/digits_logit_3_final.npy").path), atMost: 1.4e-6, "vs TensorFlow")
        #expect(!r.stderr.contains("preset:"), "\(r.stderr)")
        #expect(r.stdout.contains(" in 30 steps "), "\(r.stdout)")
    }

    /// `--init zeros` starts from zeros, `--init noise` from the default noise (the preset's
    /// `(U(0,1)−0.5)·0.25` for the seed); `--learning-rate` sets the keras-example step length
    /// (`x += lr · g/‖g‖`: one step from zeros has norm lr).
    @Test func initZerosNoiseAndLearningRate() throws {
        let (start, _) = try Self.maximize(["--target", "logit:3", "--preset", "keras-example", "--init", "zeros", "--steps", "0"])
        expectClose(start, try Tensor(zeros: .float32, shape: [1, 16, 16, 1]), rtol: 0, atol: 0, "--init zeros")
        let noise = ["--target", "logit:3", "--preset", "keras-example", "--steps", "0", "--seed", "5"]
        let (explicit, _) = try Self.maximize(noise + ["--init", "noise"]), (implicit, _) = try Self.maximize(noise)
        #expect(explicit.bitwiseEqual(implicit), "--init noise is the default")
        #expect(explicit.floats().allSatisfy { $0 >= -0.125 && $0 <= 0.125 } && explicit.floats().contains { $0 != 0 })
        for (rate, label) in [("2.5", 2.5), ("", 10)] as [(String, Double)] {
            let (x, _) = try Self.maximize(["--target", "logit:3", "--preset", "keras-example", "--init", "zeros", "--steps", "1"]
                                           + (rate.isEmpty ? [] : ["--learning-rate", rate]))
            expectClose(Closeness.l2Norm(x), label, rtol: 1e-6, atol: 0, "step length with learning rate \(label)")
        }
        let bad = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:3", "--learning-rate", "0"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }

    /// `--input-range LO,HI` bounds lucid's sigmoid (and smooth's projection); without it the
    /// digits model (no rescaling) gets 0…1.
    @Test func inputRange() throws {
        let (wide, _) = try Self.maximize(["--target", "logit:3", "--steps", "4", "--input-range", "-1,1"])
        #expect(wide.floats().allSatisfy { $0 > -1 && $0 < 1 } && wide.floats().contains { $0 < 0 })
        let (plain, _) = try Self.maximize(["--target", "logit:3", "--steps", "4"])
        #expect(plain.floats().allSatisfy { $0 > 0 && $0 < 1 })
        let (smooth, _) = try Self.maximize(["--target", "logit:3", "--steps", "4", "--preset", "smooth", "--input-range", "2,3"])
        #expect(smooth.floats().allSatisfy { $0 >= 2 && $0 <= 3 })
        for bad in ["1,0", "1", "a,b"] {
            let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:3", "--input-range", bad])
            #expect(r.status == 64 && r.stderr == "ascent: --input-range '\(bad)' is not LO,HI with LO < HI (e.g. 0,255 or -1,1) nor imagenet\n", "\(bad): \(r.stderr)")
        }
    }

    /// `--diversity LAYER[:W]` changes the result, and its weight matters (default 100); an
    /// unknown layer is refused with exit 65.
    @Test func diversity() throws {
        let base = ["--targets", "logit:1-2", "--steps", "6", "--seed", "3"]
        let (plain, _) = try Self.maximize(base)
        let (weighted, _) = try Self.maximize(base + ["--diversity", "conv2:5"])
        let (byDefault, _) = try Self.maximize(base + ["--diversity", "conv2"])
        let (hundred, _) = try Self.maximize(base + ["--diversity", "conv2:100"])
        #expect(!plain.bitwiseEqual(weighted) && !weighted.bitwiseEqual(byDefault))
        #expect(byDefault.bitwiseEqual(hundred), "the default weight is 100")
        let unknown = try CLI.run(["maximize", "Fixtures/digits/digits.h5"] + base + ["--diversity", "conv9"])
        #expect(unknown.status == 65 && unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
    }

    /// `--tv` and `--l2` (smooth preset): a large total-variation weight makes the picture
    /// smoother, a large L2 weight makes it smaller, than with the term off.
    @Test func totalVariationAndL2() throws {
        func variation(_ t: Tensor) -> Float {
            let x = t.floats()
            var sum: Float = 0
            for i in 0..<16 { for j in 0..<16 {
                if i < 15 { sum += abs(x[(i + 1) * 16 + j] - x[i * 16 + j]) }
                if j < 15 { sum += abs(x[i * 16 + j + 1] - x[i * 16 + j]) }
            } }
            return sum
        }
        let base = ["--target", "logit:3", "--preset", "smooth", "--steps", "20"]
        let (rough, _) = try Self.maximize(base + ["--tv", "0"]), (flat, _) = try Self.maximize(base + ["--tv", "1000"])
        #expect(variation(flat) < variation(rough) / 2, "total variation \(variation(flat)) vs \(variation(rough))")
        let (free, _) = try Self.maximize(base + ["--l2", "0"]), (held, _) = try Self.maximize(base + ["--l2", "1000"])
        #expect(Closeness.l2Norm(held) < Closeness.l2Norm(free) / 2, "‖x‖ \(Closeness.l2Norm(held)) vs \(Closeness.l2Norm(free))")
    }
}
