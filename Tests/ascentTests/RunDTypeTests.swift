import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// Every dtype at the boundary, through the CLI, on the models of Fixtures/onnx-boundary (written with
/// the onnx library; onnxruntime's outputs are the references): `ascent run` takes each input in its
/// declared dtype, converts another only where no value changes (or `--convert-inputs` asks), writes
/// each output in its declared dtype; `inspect` says where Ascent computes in float32.
@Suite struct RunDTypeTests {
    static func folder(_ name: String) -> String { "Fixtures/onnx-boundary/\(name)" }

    /// Runs `model` on `inputs` and returns the written outputs by file name.
    func run(_ model: String, _ inputs: [String], extra: [String] = []) throws -> (CLI.Result, [String: Tensor]) {
        let dir = try TestPaths.temporaryDirectory()
        let r = try CLI.run(["run", model] + inputs.flatMap { ["--input", $0] } + ["--output-dir", dir.path, "--top", "0"] + extra)
        var out: [String: Tensor] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            out[name] = try NumPy.read(path: dir.appendingPathComponent(name).path)
        }
        return (r, out)
    }

    @Test func float16ModelRunsOnItsOwnDTypeAndAnswersInIt() throws {
        let f = Self.folder("float16")
        let (r, out) = try run("\(f)/model.onnx", ["\(f)/input_0.npy"])
        #expect(r.status == 0, "\(r.stderr)")
        for (k, name) in ["hidden", "probs"].enumerated() {
            let ours = try #require(out["\(name).npy"]), reference = try NumPy.read(path: "\(f)/output_\(k).npy")
            #expect(ours.dtype == .float16 && reference.dtype == .float16)
            // float32 compute rounded once to float16: within one float16 rounding of onnxruntime.
            expectClose(ours, reference, scaledTolerance: 1e-3, name)
        }
    }

    @Test func unsignedModelIsExact() throws {
        let f = Self.folder("unsigned")
        let inputs = (0..<7).map { "\(f)/input_\($0).npy" }
        let (r, out) = try run("\(f)/model.onnx", inputs)
        #expect(r.status == 0, "\(r.stderr)")
        for (k, (name, dtype)) in [("sum16", DType.uint16), ("prod32", .uint32), ("shift64", .uint64), ("max64", .uint64), ("div32", .uint32)].enumerated() {
            let ours = try #require(out["\(name).npy"]), reference = try NumPy.read(path: "\(f)/output_\(k).npy")
            #expect(ours.dtype == dtype && ours.bitwiseEqual(reference), "\(name): \(ours.doubles()) vs \(reference.doubles())")
        }
    }

    @Test func otherDTypesConvertOnlyWithoutLoss() throws {
        let f = Self.folder("float64"), dir = try TestPaths.temporaryDirectory()
        let x = try NumPy.read(path: "\(f)/input_0.npy")
        // float32 data for the float64 input: every value survives, so it is taken.
        let exact = dir.appendingPathComponent("exact.npy").path
        try NumPy.write(x.converted(to: .float32), to: exact)
        let (ok, out) = try run("\(f)/model.onnx", [exact])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(out["y.npy"]?.dtype == .float64)
        // float64 data for a float16 input: refused unless asked for.
        let g = Self.folder("float16")
        let wide = dir.appendingPathComponent("wide.npy").path
        try NumPy.write(Tensor(shape: [3, 8], scalars: (0..<24).map { Double($0) * 0.1 }), to: wide)
        let (refused, _) = try run("\(g)/model.onnx", [wide])
        #expect(refused.status == 65)
        #expect(refused.stderr == "ascent: \(wide): holds float64[3,8], input 'x' takes float16[batch,8]: converting changes values (--convert-inputs converts anyway)\n")
        let (forced, converted) = try run("\(g)/model.onnx", [wide], extra: ["--convert-inputs"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(converted["probs.npy"]?.dtype == .float16)
    }

    /// `ascent grad` on a float64 model: the input given in float64, the gradient computed (and
    /// written) in float32, against NumPy's float64 gradient (Fixtures/onnx-boundary/float64/grad_x.npy).
    @Test func gradOfAFloat64ModelIsComputedInFloat32() throws {
        let f = Self.folder("float64"), dir = try TestPaths.temporaryDirectory()
        let out = dir.appendingPathComponent("g.npy").path
        let r = try CLI.run(["grad", "\(f)/model.onnx", "--input", "\(f)/input_0.npy", "--target", "output:y:0", "--output", out])
        #expect(r.status == 0, "\(r.stderr)")
        let g = try NumPy.read(path: out)
        #expect(g.dtype == .float32)
        // Widths differ on purpose: Ascent's float32 gradient against NumPy's float64 one.
        expectClose(g, try NumPy.read(path: "\(f)/grad_x.npy"), scaledTolerance: 1e-5, dtypes: .anyFloatingPoint, "d(sum y)/dx vs NumPy")
    }

    @Test func inspectSaysWhereAscentComputesInFloat32() throws {
        for (name, dtype) in [("float16", "float16"), ("float64", "float64")] {
            let r = try CLI.run(["inspect", "\(Self.folder(name))/model.onnx"])
            #expect(r.stdout.contains("note: \(dtype) values are computed in float32 (inputs converted on entry, outputs back to \(dtype) on exit)"), "\(r.stdout)")
        }
        let r = try CLI.run(["inspect", "\(Self.folder("unsigned"))/model.onnx"])
        #expect(!r.stdout.contains("note:"), "\(r.stdout)")
        #expect(r.stdout.contains("  a64  uint64[4]"), "\(r.stdout)")
    }
}
