import AscentIR
@testable import AscentKeras
@testable import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// The README's lists of Keras layers, activations and ops are generated from the
/// registration tables. This test fails when they drift; run it with
/// `ASCENT_UPDATE_README=1 swift test --filter ReadmeTablesTests` to rewrite them.
@Suite struct ReadmeTablesTests {
    static func list(_ names: some Sequence<String>) -> String {
        var lines: [String] = []
        var line = ""
        for name in names.sorted() {
            let item = "`\(name)`"
            if !line.isEmpty, line.count + item.count + 3 > 100 {
                lines.append(line)
                line = ""
            }
            line += line.isEmpty ? item : " · " + item
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    static func sections() -> [(String, String)] {
        // Backward primitives (ConvGradInput...) are listed with the gradients, not here.
        let kernelOps = KernelRegistry.factories.keys.filter {
            OpRegistry.definition($0).map { !$0.traits.contains(.backward) } ?? false
        }
        return [
            ("keras-layers", list(KerasLayers.table.keys)),
            ("keras-activations", list(KerasActivations.names)),
            ("ops", list(kernelOps)),
            // Ops defined by decomposition alone (contrib ops, QLinearConv): the planner writes them out.
            ("decomposed-ops", list(OpRegistry.all.filter { $0.name != Node.unsupportedOp && !KernelRegistry.has($0.name) }.map(\.name))),
            // Quantized ops have no gradient, even where a decomposition would give one.
            ("gradient-ops", list(OpRegistry.all.filter {
                !$0.traits.contains(.backward) && !$0.traits.contains(.quantized) && ($0.vjp != nil || $0.decomposition != nil)
            }.map(\.name))),
        ]
    }

    @Test func readmeListsMatchTheRegistries() throws {
        let url = TestPaths.root.appendingPathComponent("README.md")
        let original = try String(contentsOf: url, encoding: .utf8)
        var text = original
        for (key, body) in Self.sections() {
            let begin = "<!-- \(key):begin -->", end = "<!-- \(key):end -->"
            let b = try #require(text.range(of: begin), "README lacks \(begin)")
            let e = try #require(text.range(of: end, range: b.upperBound..<text.endIndex), "README lacks \(end)")
            let inline = !text[b.upperBound..<e.lowerBound].contains("\n") && !original[b.lowerBound...].hasPrefix(begin + "\n")
            let replacement = inline ? body.replacingOccurrences(of: "\n", with: " ") : "\n" + body + "\n"
            text.replaceSubrange(b.upperBound..<e.lowerBound, with: replacement)
        }
        if ProcessInfo.processInfo.environment["ASCENT_UPDATE_README"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        } else {
            #expect(text == original, "README tables are stale: run ASCENT_UPDATE_README=1 swift test --filter ReadmeTablesTests")
        }
    }
}
