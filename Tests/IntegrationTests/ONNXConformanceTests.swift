import AscentIR
import AscentONNX
import AscentTestSupport
import Foundation
import Testing

/// Conformance with the ONNX backend node tests (onnx 1.23.2): every test the manifest
/// (`onnx-node-tests.txt`) marks `pass` must import, run and match the reference outputs (in the
/// declared dtype; floats within rtol 1e-3 / atol 1e-7, integers and booleans exactly), and the
/// manifest must list every generated test exactly once. The tests are generated into `.cache/onnx-node-tests` by
/// `Tools/onnx-node-tests` the first time (about 8 s).
///
/// `ASCENT_CONFORMANCE_RECORD=1 swift test --filter ONNXConformanceTests` runs every generated
/// test instead and rewrites the manifest with the outcomes (pass, or the reason for skipping). It
/// runs them one at a time, journaled in the cache folder, so a test that crashes the process is
/// recorded as such when the command is run again.
@Suite struct ONNXConformanceTests {
    static var recording: Bool { ProcessInfo.processInfo.environment["ASCENT_CONFORMANCE_RECORD"] == "1" }

    @Test func manifestListsEveryGeneratedTestOnce() throws {
        let folder = try ONNXConformance.generated.get()
        let generated = try ONNXConformance.generatedTests(in: folder)
        #expect(generated.count == 1884, "onnx \(ONNXConformance.onnxVersion) has 1884 node tests, the cache holds \(generated.count)")
        guard !Self.recording else { return }
        let (entries, problems) = ONNXConformance.parseManifest(try String(contentsOf: ONNXConformance.manifestURL, encoding: .utf8))
        for problem in problems { Issue.record("onnx-node-tests.txt: \(problem)") }
        let listed = Set(entries.map(\.name))
        let missing = generated.keys.filter { !listed.contains($0) }.sorted()
        let unknown = listed.filter { generated[$0] == nil }.sorted()
        #expect(missing.isEmpty, "generated tests missing from onnx-node-tests.txt: \(missing.joined(separator: ", "))")
        #expect(unknown.isEmpty, "onnx-node-tests.txt lists tests that are not generated: \(unknown.joined(separator: ", "))")
        let misfiled = entries.filter { e in generated[e.name].map { $0 != e.op } ?? false }.map(\.name)
        #expect(misfiled.isEmpty, "tests under the wrong [op] header: \(misfiled.joined(separator: ", "))")
    }

    @Test func listedTestsPass() throws {
        let folder = try ONNXConformance.generated.get()
        if Self.recording { return try record(folder) }
        let (entries, _) = ONNXConformance.parseManifest(try String(contentsOf: ONNXConformance.manifestURL, encoding: .utf8))
        // A listed test missing from the cache runs, and fails, rather than being left out.
        let names = entries.filter(\.pass).map(\.name)
        let outcomes = ONNXConformance.runAll(names, in: folder)
        var failed = 0
        for (name, outcome) in zip(names, outcomes) {
            if case .fail(let reason) = outcome {
                failed += 1
                Issue.record("\(name): \(reason)")
            }
        }
        #expect(failed == 0, "\(failed) of the \(names.count) node tests listed as passing fail")
    }

    /// The `.pb` reader the runner uses: name, type and shape as onnx wrote them.
    @Test func tensorFilesDecode() throws {
        let folder = try ONNXConformance.generated.get()
        let x = try ONNXTensorFile.load(path: folder.appendingPathComponent("test_abs/test_data_set_0/input_0.pb").path)
        #expect(x.name == "x" && x.tensor.dtype == .float32 && x.tensor.shape == [3, 4, 5])
        let y = try ONNXTensorFile.load(path: folder.appendingPathComponent("test_and2d/test_data_set_0/output_0.pb").path)
        #expect(y.name == "and" && y.tensor.dtype == .bool && y.tensor.shape == [3, 4])
        #expect(throws: AscentError.self) { try ONNXTensorFile.decode(bytes: [0xff, 0xff], fileName: "junk.pb") }
        #expect(throws: AscentError.self) { try ONNXTensorFile.load(path: folder.appendingPathComponent("nonexistent.pb").path) }
    }

    @Test func readmeTableMatchesTheManifest() throws {
        let script = TestPaths.root.appendingPathComponent("Tools/onnx-conformance-table").path
        let (status, output) = try ReferencePython.run([script, "--check"])
        #expect(status == 0, "\(output)")
    }

    /// Runs every generated test and rewrites the manifest (see the suite's comment).
    func record(_ folder: URL) throws {
        let generated = try ONNXConformance.generatedTests(in: folder)
        let journalURL = folder.appendingPathComponent("record-journal.tsv")
        var outcomes: [String: ONNXConformance.Outcome] = [:]
        var started: Set<String> = []
        if let journal = try? String(contentsOf: journalURL, encoding: .utf8) {
            for line in journal.split(separator: "\n") {
                let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                if f.count == 2, f[0] == "start" { started.insert(f[1]) }
                if f.count == 4, f[0] == "done" { outcomes[f[1]] = f[2] == "pass" ? .pass : .fail(f[3]) }
            }
        } else {
            _ = FileManager.default.createFile(atPath: journalURL.path, contents: nil)
        }
        for name in started where outcomes[name] == nil { outcomes[name] = .fail("crash: the test process died running it") }
        let journal = try FileHandle(forWritingTo: journalURL)
        defer { try? journal.close() }
        try journal.seekToEnd()
        func log(_ fields: String...) throws { try journal.write(contentsOf: Data((fields.joined(separator: "\t") + "\n").utf8)) }
        for name in generated.keys.sorted() where outcomes[name] == nil {
            try log("start", name)
            let outcome = ONNXConformance.run(folder.appendingPathComponent(name), threads: 2)
            outcomes[name] = outcome
            switch outcome {
            case .pass: try log("done", name, "pass", "")
            case .fail(let reason): try log("done", name, "fail", reason)
            }
        }
        let entries = generated.map { name, op -> ONNXConformance.Entry in
            switch outcomes[name]! {
            case .pass: return .init(name: name, op: op, pass: true, reason: "")
            case .fail(let reason): return .init(name: name, op: op, pass: false, reason: reason)
            }
        }
        try ONNXConformance.manifestText(entries).write(to: ONNXConformance.manifestURL, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: journalURL)
        let passed = entries.filter(\.pass).count
        print("ONNX conformance: \(passed) of \(entries.count) node tests pass; wrote \(ONNXConformance.manifestURL.path)")
    }
}
