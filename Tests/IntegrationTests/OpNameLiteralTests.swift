import Foundation
import Testing
import AscentTestSupport

/// One definition per op: the ops issue 13 named appear as string literals in at most two Swift
/// files under `Sources/` (their definition, and at most one importer table that maps another
/// framework's name onto them), so knowledge about an op is not copied across modules.
@Suite struct OpNameLiteralTests {
    static let ops = ["Softsign", "HardSwish", "Gelu", "LpPool", "ReduceL1", "DepthToSpace", "Resize", "TopK", "Einsum", "Asin"]

    @Test func namedOpsAreSpelledOutInAtMostTwoFiles() throws {
        let sources = TestPaths.root.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 100, "read \(files.count) Swift files under Sources/")
        let texts = try files.map { ($0.path.replacingOccurrences(of: sources.path + "/", with: ""), try String(contentsOf: $0, encoding: .utf8)) }
        for op in Self.ops {
            let holders = texts.filter { $0.1.contains("\"\(op)\"") }.map(\.0).sorted()
            #expect(!holders.isEmpty, "\(op) is defined nowhere")
            #expect(holders.count <= 2, "\(op) is spelled out in \(holders.count) files: \(holders)")
        }
    }
}
