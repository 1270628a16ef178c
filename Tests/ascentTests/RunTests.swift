import AscentIR
import AscentTestSupport
import Foundation
import Testing

@Suite struct RunTests {
    @Test func classifiesABundledPicture() throws {
        let r = try CLI.run(["run", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_7.png", "--top", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first == "probs: float32[1,10]")
        #expect(lines.dropFirst().first?.hasPrefix("  [0] top 3: 7 (") == true, "\(r.stdout)")
    }

    @Test func writesOutputsThatMatchKeras() throws {
        let dir = try TestPaths.temporaryDirectory()
        let r = try CLI.run(["run", "Fixtures/digits/digits.keras", "--input", "input=Fixtures/digits/inputs.npy",
                             "--output-dir", dir.path, "--threads", "1", "--top", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try NumPy.read(path: dir.appendingPathComponent("probs.npy").path)
        let keras = try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path)
        expectClose(ours, keras, scaledTolerance: 1e-4, "probs vs Keras")
        #expect(r.stdout.split(separator: "\n").filter { $0.contains("top 1:") }.count == 16)
    }

    /// `ascent run` on every runnable ONNX fixture: exit 0, one `.npy` per output, equal to the stored
    /// onnxruntime (or Constant) reference where the generator wrote one (≤ 1e-4 · max(1, max |ref|), the
    /// same dtype and shape).
    @Test(arguments: ONNXFixtures.runnable)
    func runsEveryONNXFixture(_ c: ONNXFixtures.Case) throws {
        let dir = try TestPaths.temporaryDirectory()
        let out = dir.appendingPathComponent("out")
        let inputs = try c.inputArguments(in: dir).flatMap { ["--input", $0] }
        let r = try CLI.run(["run", "Fixtures/\(c.model)"] + inputs + ["--output-dir", out.path, "--top", "2", "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let written = r.stdout.split(separator: "\n").compactMap { line -> String? in
            let text = line.trimmingCharacters(in: .whitespaces)
            return text.hasPrefix("wrote ") ? String(text.dropFirst(6)) : nil
        }
        #expect(!written.isEmpty, "\(r.stdout)")
        if c.references.isEmpty {
            // Numbers for these come from onnxruntime live (ONNXRuntimeCrossCheckTests).
            #expect(!c.generated.isEmpty || c.onnxruntimeRefuses != nil || c.name == "onnx/opsets/reshape4",
                    "\(c.name): no stored reference to compare with")
        } else {
            #expect(written.count == c.references.count, "\(r.stdout)")
        }
        for (path, reference) in zip(written, c.references) {
            expectClose(try NumPy.read(path: path), try NumPy.read(path: TestPaths.fixture(reference).path), scaledTolerance: 1e-4, reference)
        }
    }

    @Test func modelWithoutInputsNeedsNone() throws {
        let r = try CLI.run(["run", "Fixtures/onnx/constants.onnx"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("out_6:"), "\(r.stdout)")
    }

    @Test func badInputsFollowTheContract() throws {
        let dir = try TestPaths.temporaryDirectory()
        let wrong = dir.appendingPathComponent("wrong.npy").path
        try NumPy.write(Tensor(shape: [1, 8, 8, 1], scalars: [Float](repeating: 0, count: 64)), to: wrong)
        let cases: [([String], Int32, String)] = [
            (["run", "Fixtures/digits/digits.h5", "--input", wrong], 65, "input"),
            (["run", "Fixtures/digits/digits.h5", "--input", "nope=Fixtures/digits/inputs.npy"], 64, "nope"),
            (["run", "Fixtures/digits/digits.h5", "--input", "/nonexistent/x.npy"], 66, "/nonexistent/x.npy"),
            (["run", "Fixtures/digits/digits.h5", "--input", "Fixtures/npy/bad/truncated.npy"], 65, "truncated.npy"),
            (["run", "Fixtures/digits/digits.h5"], 64, "--input"),
        ]
        for (args, code, mention) in cases {
            let r = try CLI.run(args)
            #expect(r.status == code, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(mention), "\(args): \(r.stderr)")
            if code != 64 { #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)") }
        }
    }
}
