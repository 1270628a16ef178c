import AscentTestSupport
import Foundation
import Testing

/// Committed fixtures carry nothing about the machine that generated them: exporters record
/// Python stack traces with absolute paths (torch.onnx's dynamo exporter in node metadata),
/// and `Tools/fixtures/portable_onnx.py` removes them after each export.
@Suite struct FixtureHygieneTests {
    static let machineMarks = ["site-packages/", "File \"/", "/home/", "/root/", "/usr/lib/python"]

    @Test func noFixtureNamesAPathOfTheMachineThatWroteIt() throws {
        let root = TestPaths.fixture("")
        var offenders: [String] = []
        var scanned = 0
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])! {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let data = try Data(contentsOf: url)
            scanned += 1
            for mark in Self.machineMarks where data.range(of: Data(mark.utf8)) != nil {
                offenders.append("\(url.lastPathComponent): \(mark)")
            }
        }
        #expect(scanned > 100, "the fixture folder was found and read")
        #expect(offenders.isEmpty, "\(offenders)")
    }
}
