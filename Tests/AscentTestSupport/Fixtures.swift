import Foundation

/// Locations shared by the test targets.
public enum TestPaths {
    /// The package root (the folder holding Package.swift).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `Fixtures/<relative>`.
    public static func fixture(_ relative: String) -> URL {
        root.appendingPathComponent("Fixtures").appendingPathComponent(relative)
    }

    /// A fresh, empty temporary folder, unique to the call.
    public static func temporaryDirectory(_ label: String = "ascent-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The names in `Fixtures/<relative>` (sorted, hidden files left out). When the folder cannot
    /// be listed the one name returned says so — `<cannot list Fixtures/x: …>` — so a test that
    /// takes its cases from the listing fails on it instead of running no case at all.
    public static func list(_ relative: String) -> [String] {
        do {
            let names = try FileManager.default.contentsOfDirectory(atPath: fixture(relative).path)
            return names.filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            return ["<cannot list Fixtures/\(relative): \(error.localizedDescription)>"]
        }
    }

    /// The op reference cases listed in `Fixtures/ops/manifest.json`; a missing or unreadable
    /// manifest is one case named for the problem, which then fails (never an empty list).
    public static let opCaseNames: [String] = {
        do {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture("ops/manifest.json"))) as? [String: Any]
            return json?["cases"] as? [String] ?? ["<Fixtures/ops/manifest.json has no \"cases\" list>"]
        } catch {
            return ["<no readable Fixtures/ops/manifest.json: run Tools/fixtures/generate>"]
        }
    }()
}
