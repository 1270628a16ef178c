import AscentTestSupport
import Foundation
import Testing

/// `docs/claims.md` maps each number the README states to the test that checks it and the bound
/// that test uses. Each row's quoted claim must be in README.md, each named test must exist, and
/// each bound must be written in the file of one of the named tests — so a claim, its test and its
/// tolerance cannot drift apart unnoticed.
@Suite struct ReadmeClaimsTests {
    struct Row: CustomStringConvertible, Sendable {
        var claim: String
        var tests: [String]
        var bounds: [String]
        var description: String { claim }
    }

    /// The rows of the "Claims" table.
    static let rows: [Row] = {
        guard let text = try? String(contentsOf: TestPaths.root.appendingPathComponent("docs/claims.md"), encoding: .utf8),
              let start = text.range(of: "## Claims") else { return [Row(claim: "<docs/claims.md has no Claims table>", tests: [], bounds: [])] }
        let table = text[start.upperBound...].prefix { _ in true }.components(separatedBy: "\n## ").first ?? ""
        return table.split(separator: "\n").filter { $0.hasPrefix("| \"") }.map { line in
            // Cells split on `|` not escaped as `\|`.
            let cells = line.replacingOccurrences(of: "\\|", with: "\u{1}").split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.replacingOccurrences(of: "\u{1}", with: "|").trimmingCharacters(in: .whitespaces) }
            func quoted(_ cell: String) -> [String] { cell.components(separatedBy: "`").enumerated().filter { $0.offset % 2 == 1 }.map(\.element) }
            let claim = cells.count > 1 ? String(cells[1].dropFirst().dropLast()) : line.description
            return Row(claim: claim, tests: cells.count > 2 ? quoted(cells[2]) : [], bounds: cells.count > 3 ? quoted(cells[3]) : [])
        }
    }()

    static func normalized(_ s: some StringProtocol) -> String { s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// Every Swift file under Tests/ with its text.
    static let sources: [(path: String, text: String)] = {
        let root = TestPaths.root.appendingPathComponent("Tests")
        var out: [(String, String)] = []
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)! where url.pathExtension == "swift" {
            if let text = try? String(contentsOf: url, encoding: .utf8) { out.append((url.lastPathComponent, text)) }
        }
        return out
    }()

    @Test func thereAreClaims() { #expect(Self.rows.count >= 20) }

    @Test(arguments: rows)
    func claimIsCheckedAtItsBound(_ row: Row) throws {
        let readme = Self.normalized(try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8))
        let said = readme.contains(Self.normalized(row.claim))
        #expect(said, "README.md no longer says \"\(row.claim)\"")
        try #require(!row.tests.isEmpty && !row.bounds.isEmpty, "a claim needs a test and a bound")
        var files: [String] = []
        for test in row.tests {
            let parts = test.split(separator: ".").map(String.init)
            let declaring = Self.sources.filter { source in
                ["struct", "enum", "class", "extension"].contains { source.text.contains("\($0) \(parts[0]) ") || source.text.contains("\($0) \(parts[0]):") }
            }
            let found = parts.count == 1 ? declaring : declaring.filter { $0.text.contains("func \(parts[1])(") || $0.text.contains("let \(parts[1]) ") }
            #expect(!found.isEmpty, "no test \(test)")
            files += found.map(\.text)
        }
        for bound in row.bounds {
            #expect(files.contains { $0.contains(bound) }, "\(row.tests) do not state the bound `\(bound)`")
        }
    }

    /// The Status row's conformance count is the manifest's.
    @Test func conformanceCountIsTheManifests() throws {
        let manifest = try String(contentsOf: TestPaths.root.appendingPathComponent("Tests/IntegrationTests/onnx-node-tests.txt"), encoding: .utf8)
        let lines = manifest.split(separator: "\n")
        let passing = lines.filter { $0.hasPrefix("pass ") }.count, total = passing + lines.filter { $0.hasPrefix("skip ") }.count
        let dtype = lines.filter { $0.hasPrefix("skip ") && $0.contains("# dtype:") }.count
        let readme = Self.normalized(try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8))
        let counted = readme.contains("\(passing) of the \(total) onnx 1.23.2 node tests"), typed = readme.contains("\(dtype) fail\(dtype == 1 ? "s" : "") only on the dtype")
        #expect(counted, "README's Status row should say \(passing) of the \(total)")
        #expect(typed, "README's Status row should say \(dtype) fail\(dtype == 1 ? "s" : "") only on the dtype")
    }
}
