import AscentTestSupport
import Foundation
import Testing

/// The HDF5 import child (IsolatedImport): a file libhdf5 1.10 loops on forever (found by
/// fuzzing, `Fixtures/fuzz/libhdf5/`) is refused with exit 65 once the deadline passes, and
/// no child is left running.
@Suite struct ImportIsolationTests {
    @Test func aFileLibhdf5LoopsOnIsRefusedAtTheDeadline() throws {
        let dir = try TestPaths.temporaryDirectory("hang")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hang.h5")
        try FileManager.default.copyItem(at: TestPaths.fixture("fuzz/libhdf5/hang-cc721f85.h5.bin"), to: file)
        // The message proves the deadline fired (nothing is timed here).
        let r = try CLI.run(["inspect", file.path], environment: ["ASCENT_IMPORT_TIMEOUT": "2"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("did not finish in 2 s") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        // The child was killed, not left behind: no process is still reading the file.
        let readers = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { pid in
            guard Int(pid) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: cmdline, as: UTF8.self).contains(file.path)
        }
        #expect(readers.isEmpty, "processes still reading \(file.path): \(readers)")
    }
}
