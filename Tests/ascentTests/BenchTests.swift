import AscentTestSupport
import Foundation
import Testing

/// `ascent bench`: the fields it reports, `--grad`, `--input-shape`, `--input`, `--threads`,
/// `--config`, and its refusals. Only the shape of the report is checked: times are measured by
/// Tools/bench, never asserted in a test.
@Suite struct BenchTests {
    static func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try CLI.run(["bench"] + arguments + ["--json"])
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(r.stdout.hasSuffix("}\n") && r.stdout.split(separator: "\n").count == 1, "one JSON line: \(r.stdout)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// Every field, with its meaning: min ≤ median ≤ max, the runs and threads asked for.
    static func expectReport(_ j: [String: Any], model: String, mode: String, runs: Int, threads: Int?,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Set(j.keys) == ["model", "median_ms", "min_ms", "max_ms", "threads", "runs", "import_ms", "peak_rss_mb", "mode"],
                "\(j.keys.sorted())", sourceLocation: sourceLocation)
        #expect(j["model"] as? String == model && j["mode"] as? String == mode && j["runs"] as? Int == runs, sourceLocation: sourceLocation)
        if let threads { #expect(j["threads"] as? Int == threads, sourceLocation: sourceLocation) }
        let low = j["min_ms"] as? Double ?? -1, median = j["median_ms"] as? Double ?? -1, high = j["max_ms"] as? Double ?? -1
        #expect(low > 0 && low <= median && median <= high, "min \(low) median \(median) max \(high)", sourceLocation: sourceLocation)
        #expect((j["import_ms"] as? Double ?? -1) > 0, sourceLocation: sourceLocation)
        // A process that loaded the model and ran it holds more than 10 MB, and less than the machine.
        let rss = j["peak_rss_mb"] as? Double ?? -1
        #expect(rss > 10 && rss < 1_000_000, "peak RSS \(rss) MB", sourceLocation: sourceLocation)
    }

    @Test func forwardReportHasEveryField() throws {
        let j = try Self.json(["Fixtures/digits/digits.onnx", "--runs", "3", "--warmup", "1", "--threads", "1"])
        Self.expectReport(j, model: "digits.onnx", mode: "forward", runs: 3, threads: 1)
        // Default threads: every core.
        let all = try Self.json(["Fixtures/digits/digits.h5", "--runs", "1", "--warmup", "0"])
        Self.expectReport(all, model: "digits.h5", mode: "forward", runs: 1, threads: ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func gradTimesAForwardBackwardStep() throws {
        let j = try Self.json(["Fixtures/digits/digits.keras", "--runs", "2", "--warmup", "0", "--grad", "logit:3", "--threads", "1"])
        Self.expectReport(j, model: "digits.keras", mode: "grad:logit:3", runs: 2, threads: 1)
        let bad = try CLI.run(["bench", "Fixtures/digits/digits.keras", "--runs", "1", "--grad", "layer:conv3:0"])
        #expect(bad.status == 65 && bad.stderr.contains("no layer 'conv3'"), "\(bad.stderr)")
    }

    @Test func textReportNamesTheSameFields() throws {
        let r = try CLI.run(["bench", "Fixtures/digits/digits.onnx", "--runs", "2", "--warmup", "0", "--threads", "1", "--grad", "logit:1"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "digits.onnx  forward+backward for logit:1  threads 1  runs 2", "\(r.stdout)")
        #expect(lines.count == 3 && lines[1].hasPrefix("  median ") && lines[1].contains(" ms  min ") && lines[1].contains(" ms  max "))
        #expect(lines.count == 3 && lines[2].hasPrefix("  import ") && lines[2].contains(" ms  peak RSS ") && lines[2].hasSuffix(" MB"))
    }

    /// `--input-shape` fixes free sizes (onnx/graph.onnx: x [N,3,8,8], y [N,4,?,?]); the symbol N
    /// it binds holds for every input; a size the model contradicts, or an unknown name, is refused
    /// as `inspect` refuses it.
    @Test func inputShapesFixFreeSizes() throws {
        let model = "Fixtures/onnx/graph.onnx"
        Self.expectReport(try Self.json([model, "--runs", "1", "--warmup", "0", "--input-shape", "y=2,4,6,6"]),
                          model: "graph.onnx", mode: "forward", runs: 1, threads: nil)
        let cases: [([String], Int32, String)] = [
            (["--input-shape", "y=2,4,6,6", "--input-shape", "x=3,3,8,8"], 65, "shapes [3,4,6,6] and [2,4,6,6] do not broadcast"),
            (["--input-shape", "x=1,3,9,8"], 65, "dimension 2 of input 'x' is 8"),
            (["--input-shape", "z=1,3,8,8"], 65, "--input-shape z=1,3,8,8: no input 'z'; closest: "),
            (["--input-shape", "x=1,3,8"], 65, "input 'x' has rank 4"),
            (["--input-shape", "x=1,0,8,8"], 64, "needs positive integer sizes"),
        ]
        for (arguments, code, message) in cases {
            let r = try CLI.run(["bench", model, "--runs", "1", "--warmup", "0"] + arguments)
            #expect(r.status == code && r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
    }

    @Test func givenInputsAndWeightsOnlyFiles() throws {
        let withInput = try Self.json(["Fixtures/digits/digits.onnx", "--input", "Fixtures/digits/sample_7.png", "--runs", "1", "--warmup", "0"])
        Self.expectReport(withInput, model: "digits.onnx", mode: "forward", runs: 1, threads: nil)
        let weights = try Self.json(["Fixtures/keras/mlp/model.weights.h5", "--config", "Fixtures/keras/mlp/model.json", "--runs", "1", "--warmup", "0"])
        Self.expectReport(weights, model: "model.weights.h5", mode: "forward", runs: 1, threads: nil)
    }

    @Test func badArgumentsFollowTheContract() throws {
        let cases: [([String], Int32)] = [
            (["Fixtures/digits/digits.onnx", "--runs", "0"], 64),
            (["Fixtures/digits/digits.onnx", "--warmup", "-1"], 64),
            (["Fixtures/digits/digits.onnx", "--threads", "0"], 64),
            (["/nonexistent/m.onnx"], 66),
            (["Fixtures/onnx/truncated.onnx"], 65),
            (["Fixtures/digits/digits.onnx", "--input", "Fixtures/npy/bad/truncated.npy"], 65),
        ]
        for (arguments, code) in cases {
            let r = try CLI.run(["bench"] + arguments)
            #expect(r.status == code, "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            if code != 64 { #expect(r.stderr.split(separator: "\n").count == 1, "\(arguments): \(r.stderr)") }
        }
    }
}
