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

    /// Runs `model` on `inputs` and returns the written outputs by file name (`opaque`: the narrow
    /// dtype of a `<V1` output file, by file name).
    func run(_ model: String, _ inputs: [String], extra: [String] = [], opaque: [String: DType] = [:]) throws -> (CLI.Result, [String: Tensor]) {
        let dir = try TestPaths.temporaryDirectory()
        let r = try CLI.run(["run", model] + inputs.flatMap { ["--input", $0] } + ["--output-dir", dir.path, "--top", "0"] + extra)
        var out: [String: Tensor] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            out[name] = try NumPy.read(path: dir.appendingPathComponent(name).path, opaque: opaque[name])
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

    /// The narrow types at the boundary: onnx.helper writes a model with a float8e5m2 and an int4
    /// input (Cast to float32, Identity, DequantizeLinear); ml_dtypes writes the inputs (`<f1` for
    /// float8e5m2, `<V1` for int4), onnx's ReferenceEvaluator the references. `ascent run` reads
    /// them as the declared types, writes the int4 output as `<V1` (NumPy loads it; ml_dtypes views it),
    /// all compared exactly; float32 data for the float8 input is taken only when every value survives.
    @Test func narrowTypesCrossAsMLDtypesWritesThem() throws {
        let dir = try TestPaths.temporaryDirectory("ascent-run-narrow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try ReferencePython.run(["-c", """
            import sys, os, numpy as np, onnx, ml_dtypes
            from onnx import helper, numpy_helper, TensorProto as T
            from onnx.reference import ReferenceEvaluator
            d = sys.argv[1]
            nodes = [helper.make_node('Cast', ['a'], ['ya'], to=T.FLOAT), helper.make_node('Identity', ['b'], ['yb']),
                     helper.make_node('DequantizeLinear', ['b', 's'], ['yc'])]
            g = helper.make_graph(nodes, 'narrow', [helper.make_tensor_value_info('a', T.FLOAT8E5M2, [6]),
                                                    helper.make_tensor_value_info('b', T.INT4, [6])],
                                  [helper.make_tensor_value_info('ya', T.FLOAT, [6]), helper.make_tensor_value_info('yb', T.INT4, [6]),
                                   helper.make_tensor_value_info('yc', T.FLOAT, [6])],
                                  [numpy_helper.from_array(np.array(0.25, np.float32), 's')])
            m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 21)])
            onnx.checker.check_model(m, full_check=True)
            onnx.save(m, os.path.join(d, 'model.onnx'))
            a = np.array([-57344, -0.0, 0.3, 1.5, np.inf, np.nan], np.float32).astype(ml_dtypes.float8_e5m2)
            b = np.array([-8, -1, 0, 1, 6, 7], np.float32).astype(ml_dtypes.int4)
            np.save(os.path.join(d, 'a.npy'), a); np.save(os.path.join(d, 'b.npy'), b)
            for name, v in zip(['ya', 'yb', 'yc'], ReferenceEvaluator(m).run(None, {'a': a, 'b': b})):
                np.save(os.path.join(d, name + '_ref.npy'), v)
            np.save(os.path.join(d, 'a32_exact.npy'), a.astype(np.float32))
            np.save(os.path.join(d, 'a32_lossy.npy'), np.array([0.3, 0, 0, 0, 0, 0], np.float32))
            print(open(os.path.join(d, 'a.npy'), 'rb').read()[10:30], open(os.path.join(d, 'b.npy'), 'rb').read()[10:30])
            """, dir.path])
        try #require(made.status == 0, "\(made.output)")
        #expect(made.output.contains("'<f1'") && made.output.contains("'<V1'"), "\(made.output)")
        let model = dir.appendingPathComponent("model.onnx").path
        let (r, out) = try run(model, ["a=\(dir.path)/a.npy", "b=\(dir.path)/b.npy"], opaque: ["yb.npy": .int4])
        try #require(r.status == 0, "\(r.stderr)")
        for name in ["ya", "yc"] {
            let ours = try #require(out["\(name).npy"]), reference = try NumPy.read(path: "\(dir.path)/\(name)_ref.npy")
            #expect(Closeness.elementwise(ours, reference, rtol: 0, atol: 0).mismatch == nil, "\(name): \(ours.doubles()) vs \(reference.doubles())")
        }
        // The int4 output: `<V1` on disk, read as int4, the reference's values; NumPy loads it.
        let written = dir.appendingPathComponent("yb_out")
        let again = try CLI.run(["run", model, "--input", "a=\(dir.path)/a.npy", "--input", "b=\(dir.path)/b.npy", "--output-dir", written.path, "--top", "0"])
        #expect(again.status == 0)
        let yb = try #require(out["yb.npy"])
        let ybRef = try NumPy.read(path: "\(dir.path)/yb_ref.npy", opaque: .int4)
        #expect(yb.dtype == .int4 && Closeness.elementwise(yb, ybRef, rtol: 0, atol: 0).mismatch == nil, "\(yb.doubles()) vs \(ybRef.doubles())")
        let loaded = try ReferencePython.run(["-c", "import sys, numpy as np, ml_dtypes; print(np.load(sys.argv[1]).view(ml_dtypes.int4).tolist())",
                                              written.appendingPathComponent("yb.npy").path])
        #expect(loaded.output.trimmingCharacters(in: .whitespacesAndNewlines) == "[-8, -1, 0, 1, 6, 7]", "\(loaded.output)")
        // float32 data for the float8e5m2 input: taken when every value is a float8e5m2, refused otherwise.
        let (exact, exactOut) = try run(model, ["a=\(dir.path)/a32_exact.npy", "b=\(dir.path)/b.npy"], opaque: ["yb.npy": .int4])
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect(exactOut["ya.npy"].map { Closeness.elementwise($0, try! NumPy.read(path: "\(dir.path)/ya_ref.npy"), rtol: 0, atol: 0).mismatch == nil } == true)
        let (lossy, _) = try run(model, ["a=\(dir.path)/a32_lossy.npy", "b=\(dir.path)/b.npy"], opaque: ["yb.npy": .int4])
        #expect(lossy.status == 65 && lossy.stderr.contains("converting changes values"), "\(lossy.stderr)")
    }

}
