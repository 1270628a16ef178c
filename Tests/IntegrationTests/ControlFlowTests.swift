import AscentIR
import AscentONNX
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// Control flow (If, Loop, Scan) on PyTorch exports (`Fixtures/onnx-control-flow`, written by
/// `Tools/fixtures/torch_control_flow.py`): `ascent run` against onnxruntime, `ascent grad` against
/// PyTorch autograd, `.ascent` and ONNX round trips, `inspect`, and the refusal for a loop whose
/// trip count the inputs do not fix.
@Suite struct ControlFlowTests {
    /// README (control flow): outputs within 1e-4 × max(1, max |onnxruntime|).
    static let runTolerance = 1e-4
    /// README (control flow): input gradients within relative L2 1e-4 of PyTorch autograd.
    static let gradientTolerance = 1e-4

    struct Case: CustomStringConvertible, Sendable {
        var model: String
        var folder: String
        /// `NAME=FILE` per model input.
        var inputs: [String]
        var outputs: [(name: String, file: String)]
        /// `(target, file)`: `output:NAME:K` and autograd's gradient for it.
        var gradients: [(target: String, file: String)]
        var description: String { "\(model)/\(folder)" }
    }

    static let models = ["vad_script", "vad_dynamo", "gru_loop_script", "gru_scan_dynamo"]

    static let cases: [Case] = {
        var out: [Case] = []
        for model in models {
            let root = TestPaths.fixture("onnx-control-flow/\(model)")
            guard let data = try? Data(contentsOf: root.appendingPathComponent("meta.json")),
                  let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let inputs = meta["inputs"] as? [String], let outputs = meta["outputs"] as? [String],
                  let cases = meta["cases"] as? [[String: Any]] else { continue }
            for c in cases {
                guard let folder = c["folder"] as? String, let targets = c["gradients"] as? [String] else { continue }
                let dir = root.appendingPathComponent(folder).path
                out.append(Case(
                    model: model, folder: folder,
                    inputs: inputs.enumerated().map { "\($1)=\(dir)/input_\($0).npy" },
                    outputs: outputs.enumerated().map { ($1, "\(dir)/output_\($0).npy") },
                    gradients: targets.map { t in
                        let parts = t.split(separator: ":")
                        return (t, "\(dir)/grad_\(parts[1])_\(parts[2]).npy")
                    }))
            }
        }
        return out
    }()

    static func modelPath(_ model: String) -> String { TestPaths.fixture("onnx-control-flow/\(model)/model.onnx").path }

    @Test func fixturesAreThere() {
        #expect(Self.cases.count == 9)
        #expect(Set(Self.cases.map(\.model)) == Set(Self.models))
    }

    /// `ascent run` gives onnxruntime's outputs on every case (every branch of the Ifs is taken by some case).
    @Test(arguments: cases) func runMatchesOnnxruntime(_ c: Case) throws {
        let dir = try TestPaths.temporaryDirectory("control-flow-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", Self.modelPath(c.model)] + c.inputs.flatMap { ["--input", $0] } + ["--output-dir", dir.path])
        try #require(r.status == 0, "\(r.stderr)")
        for (name, file) in c.outputs {
            let ours = try NumPy.read(path: dir.appendingPathComponent("\(name).npy").path)
            expectClose(ours, try NumPy.read(path: file), scaledTolerance: Self.runTolerance, "\(c): \(name)")
        }
    }

    /// `ascent grad` through If (the taken branch), Loop and Scan (unrolled) gives PyTorch autograd's gradient.
    @Test(arguments: cases) func gradMatchesAutograd(_ c: Case) throws {
        let dir = try TestPaths.temporaryDirectory("control-flow-grad")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (target, file) in c.gradients {
            let out = dir.appendingPathComponent("g.npy").path
            let r = try CLI.run(["grad", Self.modelPath(c.model)] + c.inputs.flatMap { ["--input", $0] }
                                + ["--wrt", "x", "--target", target, "--output", out])
            try #require(r.status == 0, "\(c) \(target): \(r.stderr)")
            expectRelativeL2(try NumPy.read(path: out), try NumPy.read(path: file), atMost: Self.gradientTolerance, "\(c): \(target)")
        }
    }

    /// `.ascent` keeps the nested graphs (the same graph back), and the ONNX export (captured values
    /// read from the enclosing scope again) passes the full checker and gives onnxruntime's outputs on
    /// the original.
    @Test func convertRoundTrips() throws {
        let dir = try TestPaths.temporaryDirectory("control-flow-convert")
        defer { try? FileManager.default.removeItem(at: dir) }
        var checks: [[String: Any]] = []
        for model in Self.models {
            let original = try ONNXImporter.load(path: Self.modelPath(model))
            #expect(original.hasControlFlow, "\(model)")
            let ascent = dir.appendingPathComponent("\(model).ascent").path, onnx = dir.appendingPathComponent("\(model).onnx").path
            try AscentFile.write(original, to: ascent)
            #expect(try AscentFile.read(path: ascent) == original, "\(model): .ascent round trip")
            let r = try CLI.run(["convert", ascent, "--output", onnx, "--opset", "20"])
            try #require(r.status == 0, "\(model): \(r.stderr)")
            for c in Self.cases where c.model == model {
                checks.append(["model": onnx, "inputs": c.inputs, "outputs": [], "reference": Self.modelPath(model),
                               "tolerance": ONNXExportRoundTripTests.roundTripTolerance])
            }
        }
        for (check, result) in zip(checks, try ONNXExportRoundTripTests.check(checks, in: dir)) {
            #expect(ONNXExportRoundTripTests.failure(result) == nil, "\(check["model"]!): \(ONNXExportRoundTripTests.failure(result)!)")
        }
    }

    /// `inspect` lists the nested graphs' nodes, indented under their node, with their shapes.
    @Test func inspectShowsNestedGraphs() throws {
        let r = try CLI.run(["inspect", Self.modelPath("gru_scan_dynamo"), "--input-shape", "x=6,2,3"], environment: ["COLUMNS": "120"])
        try #require(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let scan = try #require(lines.firstIndex { $0.contains(" Scan ") }, "\(r.stdout)")
        #expect(lines[scan + 1].hasPrefix("[") && lines[scan + 1].hasSuffix("/body]"), "\(lines[scan + 1])")
        #expect(lines[scan + 2].hasPrefix("  ") && lines[scan + 2].contains("Gemm") && lines[scan + 2].contains("float32[2,15]"),
                "\(lines[scan + 2])")
        #expect(r.stdout.contains("float32[6,2,5]"), "the stacked scan output: \(r.stdout)")
        let json = try CLI.run(["inspect", Self.modelPath("gru_scan_dynamo"), "--format", "json"])
        #expect(json.stdout.contains("\"graph\":\""), "nested nodes name their graph: \(json.stdout)")
    }

    /// A Loop with no carried values, only a scan output (each iteration's number times x), runs its
    /// trip count; unrolled for the gradient, d(Σ_i i·x₀)/dx₀ = 0 + 1 + 2 + 3.
    @Test func loopWithOnlyScanOutputs() throws {
        let body = Graph(name: "body",
                         inputs: [ValueInfo(name: "i", type: ValueType(.int64, Shape([Int]()))),
                                  ValueInfo(name: "c", type: ValueType(.bool, Shape([Int]()))),
                                  ValueInfo(name: "x", type: ValueType(.float32, Shape([2])))],
                         outputs: [ValueInfo(name: "c", type: ValueType(.bool, Shape([Int]()))),
                                   ValueInfo(name: "scaled", type: ValueType(.float32, Shape([2])))],
                         nodes: [Node(name: "float", op: "Cast", inputs: ["i"], outputs: ["f"], attributes: ["to": .int(1)]),
                                 Node(name: "scale", op: "Mul", inputs: ["x", "f"], outputs: ["scaled"])])
        let graph = Graph(name: "steps", inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape([2])))],
                          outputs: [ValueInfo(name: "ys", type: ValueType(.float32, Shape([4, 2])))],
                          initializers: ["m": Tensor(scalar: Int64(4))],
                          nodes: [Node(name: "loop", op: "Loop", inputs: ["m", "", "x"], outputs: ["ys"],
                                       attributes: ["body": .graph(body), "captured": .int(1)])])
        try graph.validate()
        let dir = try TestPaths.temporaryDirectory("control-flow-scan-only")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("steps.ascent").path, x = dir.appendingPathComponent("x.npy").path
        try AscentFile.write(graph, to: model)
        try NumPy.write(Tensor(shape: [2], scalars: [Float(1.5), -2]), to: x)
        let run = try CLI.run(["run", model, "--input", x, "--output-dir", dir.path])
        try #require(run.status == 0, "\(run.stderr)")
        expectClose(try NumPy.read(path: dir.appendingPathComponent("ys.npy").path),
                    Tensor(shape: [4, 2], scalars: [Float(0), 0, 1.5, -2, 3, -4, 4.5, -6]), rtol: 0, atol: 0, "i·x for i = 0..3")
        let g = dir.appendingPathComponent("g.npy").path
        let grad = try CLI.run(["grad", model, "--input", x, "--target", "output:ys:0", "--output", g])
        try #require(grad.status == 0, "\(grad.stderr)")
        expectClose(try NumPy.read(path: g), Tensor(shape: [2], scalars: [Float(6), 0]), rtol: 0, atol: 0, "Σ_i i")
    }

    /// `maximize` unrolls the loop its input's length decides (Loop and Scan), so the objective
    /// climbs; an If decided by the input's values (which change every step) is refused, naming it.
    @Test func maximizeThroughLoopsAndRefusesDataDependentIfs() throws {
        let dir = try TestPaths.temporaryDirectory("control-flow-maximize")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (model, target) in [("gru_loop_script", "output:y:2"), ("gru_scan_dynamo", "output:h:3")] {
            let r = try CLI.run(["maximize", Self.modelPath(model), "--target", target, "--init",
                                 TestPaths.fixture("onnx-control-flow/\(model)/seq6_batch2/input_0.npy").path,
                                 "--preset", "keras-example", "--steps", "20", "--output", dir.appendingPathComponent("x.npy").path])
            try #require(r.status == 0, "\(model): \(r.stderr)")
            // "output:y:2: objective 0.090211 → 1.109, 0.50058 → 1.109 in 20 steps ..."
            let line = try #require(r.stdout.split(separator: "\n").first { $0.contains("objective") }, "\(r.stdout)")
            let pairs = line.split(separator: "objective ")[1].split(separator: " in ")[0].split(separator: ", ")
            #expect(pairs.count == 2, "\(line)")
            for pair in pairs {
                let ends = pair.split(separator: " → ").compactMap { Double($0) }
                #expect(ends.count == 2 && ends[1] > ends[0] + 0.1, "\(model): \(line)")
            }
        }
        let vad = try CLI.run(["maximize", Self.modelPath("vad_dynamo"), "--target", "output:logits:1", "--init",
                               TestPaths.fixture("onnx-control-flow/vad_dynamo/sr16000_loud/input_0.npy").path,
                               "--preset", "keras-example", "--steps", "5", "--output", dir.appendingPathComponent("v.npy").path])
        #expect(vad.status == 65 && vad.stderr.contains("'node_cond__0' (If) (its condition is not known when the gradient is planned)"),
                "\(vad.stderr)")
    }

    /// A loop whose body decides when to stop has no trip count when the gradient is planned:
    /// `ascent grad` refuses it in one line naming the Loop (not "does not depend"), while
    /// `ascent run` runs it.
    @Test func gradRefusesALoopWithoutTripCount() throws {
        // y = x; while sum(y) < 10: y = 2·y — doubling until the sum reaches 10.
        let body = Graph(name: "body",
                         inputs: [ValueInfo(name: "i", type: ValueType(.int64, Shape([Int]()))),
                                  ValueInfo(name: "c", type: ValueType(.bool, Shape([Int]()))),
                                  ValueInfo(name: "y_in", type: ValueType(.float32, Shape([3])))],
                         outputs: [ValueInfo(name: "c_out", type: ValueType(.bool, Shape([Int]()))),
                                   ValueInfo(name: "y_out", type: ValueType(.float32, Shape([3])))],
                         initializers: ["two": Tensor(scalar: Float(2)), "ten": Tensor(scalar: Float(10))],
                         nodes: [Node(name: "double", op: "Mul", inputs: ["y_in", "two"], outputs: ["y_out"]),
                                 Node(name: "total", op: "ReduceSum", inputs: ["y_out"], outputs: ["s"], attributes: ["keepdims": .int(0)]),
                                 Node(name: "more", op: "Less", inputs: ["s", "ten"], outputs: ["c_out"])])
        let graph = Graph(name: "doubling", inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape([3])))],
                          outputs: [ValueInfo(name: "y", type: ValueType(.float32, Shape([3])))],
                          initializers: ["go": Tensor(scalar: true)],
                          nodes: [Node(name: "loop", op: "Loop", inputs: ["", "go", "x"], outputs: ["y"], attributes: ["body": .graph(body)])])
        try graph.validate()
        let dir = try TestPaths.temporaryDirectory("control-flow-refusal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("doubling.ascent").path, x = dir.appendingPathComponent("x.npy").path
        try AscentFile.write(graph, to: model)
        try NumPy.write(Tensor(shape: [3], scalars: [Float(1), 0.5, 0.5]), to: x)
        let run = try CLI.run(["run", model, "--input", x, "--output-dir", dir.path])
        try #require(run.status == 0, "\(run.stderr)")
        expectClose(try NumPy.read(path: dir.appendingPathComponent("y.npy").path), Tensor(shape: [3], scalars: [Float(8), 4, 4]),
                    rtol: 0, atol: 0, "8·x: the sum 16 first reaches 10")
        let grad = try CLI.run(["grad", model, "--input", x, "--target", "output:y:0", "--output", dir.appendingPathComponent("g.npy").path])
        #expect(grad.status == 65, "\(grad.stderr)")
        #expect(grad.stderr.split(separator: "\n").count == 1, "\(grad.stderr)")
        #expect(grad.stderr.contains("'loop' (Loop) (its trip count is not known when the gradient is planned)"), "\(grad.stderr)")
        #expect(!grad.stderr.contains("does not depend"), "\(grad.stderr)")
    }
}
