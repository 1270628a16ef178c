import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// `ascent run` flags RunTests does not reach (`--output-dir` names, `--config`, `--threads`,
/// `--top`), and exit code 70.
@Suite struct RunFlagTests {
    /// Output names become file names with every character outside `[A-Za-z0-9._-]` replaced by `_`.
    @Test func outputNamesAreSanitized() throws {
        let dir = try TestPaths.temporaryDirectory("run-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = ["scores/Softmax:0", "a b\u{e9}", "ok.name-1_x"]
        let graph = Graph(name: "names", inputs: [ValueInfo(name: "x", type: ValueType(.float32, [1, 3]))],
                          outputs: names.map { ValueInfo(name: $0, type: ValueType(.float32, nil)) },
                          nodes: [Node(name: "r", op: "Relu", inputs: ["x"], outputs: [names[0]]),
                                  Node(name: "n", op: "Neg", inputs: ["x"], outputs: [names[1]]),
                                  Node(name: "a", op: "Abs", inputs: ["x"], outputs: [names[2]])])
        let model = dir.appendingPathComponent("names.ascent").path, input = dir.appendingPathComponent("x.npy").path
        try AscentFile.write(graph, to: model)
        let x = Tensor(shape: [1, 3], scalars: [Float(-1), 0.5, 2])
        try NumPy.write(x, to: input)
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(["run", model, "--input", input, "--output-dir", out.path, "--top", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["a_b_.npy", "ok.name-1_x.npy", "scores_Softmax_0.npy"])
        expectClose(try NumPy.read(path: out.appendingPathComponent("scores_Softmax_0.npy").path),
                    Tensor(shape: [1, 3], scalars: [Float(0), 0.5, 2]), rtol: 0, atol: 0, "relu")
        expectClose(try NumPy.read(path: out.appendingPathComponent("a_b_.npy").path),
                    Tensor(shape: [1, 3], scalars: [Float(1), -0.5, -2]), rtol: 0, atol: 0, "neg")
        // --top 0 prints statistics instead of classes.
        #expect(r.stdout.contains("scores/Softmax:0: float32[1,3]  min 0  max 2  mean 0.833333"), "\(r.stdout)")
    }

    /// A weights-only Keras file with its architecture JSON gives Keras's outputs.
    @Test func weightsOnlyFileWithConfig() throws {
        let dir = try TestPaths.temporaryDirectory("run-config")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "Fixtures/keras/mlp/model.weights.h5", "--config", "Fixtures/keras/mlp/model.json",
                             "--input", "Fixtures/keras/mlp/inputs_0.npy", "--output-dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first)
        expectClose(try NumPy.read(path: dir.appendingPathComponent(written).path), try NumPy.read(path: "Fixtures/keras/mlp/outputs_0.npy"),
                    scaledTolerance: 1e-4, "weights + config vs Keras")
        let missing = try CLI.run(["run", "Fixtures/keras/mlp/model.weights.h5", "--input", "Fixtures/keras/mlp/inputs_0.npy"])
        #expect(missing.status == 65 && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
    }

    /// One thread and two give the same numbers (within float reassociation).
    @Test func threadsChangeNothingButSpeed() throws {
        let dir = try TestPaths.temporaryDirectory("run-threads")
        defer { try? FileManager.default.removeItem(at: dir) }
        var outputs: [Tensor] = []
        for threads in ["1", "2"] {
            let out = dir.appendingPathComponent(threads)
            let r = try CLI.run(["run", "Fixtures/keras/mobilenetv2/model.keras", "--input", "Fixtures/keras/mobilenetv2/inputs_0.npy",
                                 "--threads", threads, "--output-dir", out.path, "--top", "1"])
            try #require(r.status == 0, "\(r.stderr)")
            let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).first)
            outputs.append(try NumPy.read(path: out.appendingPathComponent(file).path))
        }
        expectClose(outputs[1], outputs[0], scaledTolerance: 1e-5, "2 threads vs 1")
        let bad = try CLI.run(["run", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_7.png", "--threads", "0"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }

    /// Exit 70, an internal error: the HDF5 import child (`ascent _import`) cannot write the graph
    /// to its parent — here its standard output is open for reading only. One line on stderr.
    @Test func internalErrorsExitWith70() throws {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["_import", "Fixtures/digits/digits.h5"]
        process.currentDirectoryURL = TestPaths.root
        process.standardOutput = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/null"))
        let err = Pipe()
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 70, "\(stderr)")
        #expect(stderr == "ascent: cannot write the imported graph to the parent process (errno 9)\n", "\(stderr)")
    }
}
