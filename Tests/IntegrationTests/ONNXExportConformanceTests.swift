import AscentIR
import AscentONNX
import AscentTestSupport
import Foundation
import Synchronization
import Testing

/// Export = import, on the ONNX backend node tests: every node test Ascent runs (a `pass` of
/// `onnx-node-tests.txt`) is converted `.onnx → .onnx` by `ascent convert --opset N` at the file's
/// own opset, and the result must pass `onnx.checker.check_model(full_check=True)` and give, in
/// onnxruntime, onnxruntime's outputs on the original (or the test's reference outputs where
/// onnxruntime cannot run the original) within the conformance suite's tolerance, in the same dtypes
/// (`Tools/checks/export_conformance.py`).
///
/// `onnx-export-tests.txt` lists the outcome of each: `pass test_x`, or `skip test_x  # reason`.
/// A listed pass that fails, or a conformance pass the list lacks, fails the suite.
/// `ASCENT_EXPORT_RECORD=1 swift test --filter ONNXExportConformanceTests` rewrites the list.
@Suite struct ONNXExportConformanceTests {
    static let manifestURL = TestPaths.root.appendingPathComponent("Tests/IntegrationTests/onnx-export-tests.txt")
    static var recording: Bool { ProcessInfo.processInfo.environment["ASCENT_EXPORT_RECORD"] == "1" }

    @Test func nodeTestsExportAndRunInOnnxruntime() throws {
        let folder = try ONNXConformance.generated.get()
        let (conformance, _) = ONNXConformance.parseManifest(try String(contentsOf: ONNXConformance.manifestURL, encoding: .utf8))
        let running = conformance.filter(\.pass)
        var listed: [String: ONNXConformance.Entry] = [:]
        if !Self.recording {
            let (entries, problems) = ONNXConformance.parseManifest(try String(contentsOf: Self.manifestURL, encoding: .utf8))
            for problem in problems { Issue.record("onnx-export-tests.txt: \(problem)") }
            for e in entries { listed[e.name] = e }
            let missing = running.map(\.name).filter { listed[$0] == nil }
            #expect(missing.isEmpty, "node tests Ascent runs but onnx-export-tests.txt does not list: \(missing.joined(separator: ", "))")
        }
        let names = Self.recording ? running.map(\.name) : running.map(\.name).filter { listed[$0]?.pass ?? false }
        let dir = try TestPaths.temporaryDirectory("onnx-export-node-tests")
        let outcomes = try Self.check(names, folder: folder, into: dir)
        if Self.recording {
            let entries = zip(running, outcomes).map { e, outcome in
                ONNXConformance.Entry(name: e.name, op: e.op, pass: outcome == nil, reason: outcome ?? "")
            }
            try Self.manifestText(entries).write(to: Self.manifestURL, atomically: true, encoding: .utf8)
            return
        }
        var failed = 0
        for (name, outcome) in zip(names, outcomes) {
            guard let outcome else { continue }
            failed += 1
            Issue.record("\(name): \(outcome)")
        }
        #expect(failed == 0, "\(failed) of the \(names.count) node tests listed as exporting fail")
        #expect(names.count > 1000, "onnx-export-tests.txt lists only \(names.count) passes")
    }

    /// Converts every test's model through the CLI (two at a time) and checks the results in one
    /// Python process. Nil for a test that exports and matches, else the reason.
    static func check(_ names: [String], folder: URL, into dir: URL) throws -> [String?] {
        let converted = Mutex([String?](repeating: nil, count: names.count))
        let failures = Mutex([String?](repeating: nil, count: names.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < names.count else { return }
                let model = folder.appendingPathComponent(names[i]).appendingPathComponent("model.onnx").path
                let out = dir.appendingPathComponent(names[i] + ".onnx").path
                do {
                    let opset = try ONNXModelProto.load(path: model).opsetImports
                        .first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 1
                    let r = try CLI.run(["convert", model, "--output", out, "--opset", String(opset)])
                    if r.status == 0 {
                        converted.withLock { $0[i] = out }
                    } else {
                        let line = r.stderr.split(separator: "\n").first.map(String.init) ?? "exit \(r.status)"
                        failures.withLock { $0[i] = "convert: " + reason(line, model: model) }
                    }
                } catch {
                    failures.withLock { $0[i] = "convert: \(error)" }
                }
            }
        }
        var cases: [[String: String]] = []
        var index: [String: Int] = [:]
        for (i, path) in converted.withLock({ $0 }).enumerated() {
            guard let path else { continue }
            index[names[i]] = i
            cases.append(["name": names[i], "original": folder.appendingPathComponent(names[i]).appendingPathComponent("model.onnx").path,
                          "converted": path, "data": folder.appendingPathComponent(names[i]).appendingPathComponent("test_data_set_0").path])
        }
        let casesFile = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: casesFile)
        let resultsFile = dir.appendingPathComponent("results.json")
        let r = try ReferencePython.script("checks/export_conformance.py", [casesFile.path, resultsFile.path])
        guard r.status == 0, let json = try JSONSerialization.jsonObject(with: Data(contentsOf: resultsFile)) as? [String: Any],
              let results = json["results"] as? [[String: Any]] else {
            throw AscentError(.internal, "export_conformance.py failed: \(r.output.prefix(2000))")
        }
        var out = failures.withLock { $0 }
        var seen = Set<String>()
        for result in results {
            guard let name = result["name"] as? String, let i = index[name] else { continue }
            seen.insert(name)
            if result["ok"] as? Bool != true { out[i] = (result["error"] as? String) ?? "failed" }
        }
        for (name, i) in index where !seen.contains(name) { out[i] = "not checked" }
        return out
    }

    /// The first line of a refusal without the file name and the node test's own names.
    static func reason(_ line: String, model: String) -> String {
        var text = line
        if text.hasPrefix("ascent: ") { text.removeFirst(8) }
        if text.hasPrefix(model + ": ") { text.removeFirst(model.count + 2) }
        return String(text.prefix(300))
    }

    static func manifestText(_ entries: [ONNXConformance.Entry]) -> String {
        var text = """
        # The ONNX backend node tests Ascent runs (the passes of onnx-node-tests.txt), exported back to ONNX
        # by `ascent convert --opset N` at each file's own opset: `pass test_x` when the export passes the
        # full onnx checker and onnxruntime gives onnxruntime's outputs on the original, else
        # `skip test_x  # reason`. Checked by ONNXExportConformanceTests; recorded with
        # ASCENT_EXPORT_RECORD=1 swift test --filter ONNXExportConformanceTests

        """
        let groups = Dictionary(grouping: entries, by: \.op)
        for op in groups.keys.sorted(by: { ($0.lowercased(), $0) < ($1.lowercased(), $1) }) {
            text += "\n[\(op)]\n"
            for e in groups[op]!.sorted(by: { $0.name < $1.name }) {
                text += e.pass ? "pass \(e.name)\n" : "skip \(e.name)  # \(e.reason.replacingOccurrences(of: "\n", with: " "))\n"
            }
        }
        return text
    }
}
