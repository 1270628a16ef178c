import AscentIR
import Foundation

/// Names for a classifier's classes: `3` → `happy`.
public struct ClassLabels: Sendable, Equatable, Codable {
    /// The name of class k at index k.
    public var names: [String]
    /// Where they came from, for messages: `labels.txt`, `ONNX metadata 'names'`.
    public var source: String

    public init(names: [String], source: String) {
        self.names = names
        self.source = source
    }

    /// The name of class `k`, nil when there is none (or it is empty).
    public subscript(k: Int) -> String? {
        names.indices.contains(k) && !names[k].isEmpty ? names[k] : nil
    }

    /// `3 happy`, or `3` without a name.
    public func describe(_ k: Int) -> String { self[k].map { "\(k) \($0)" } ?? "\(k)" }

    /// Reads a labels file: one class name per line, in class order (line 1 is class 0).
    /// Trailing blank lines, trailing spaces and `\r` are dropped; a blank line in between is a
    /// class without a name.
    /// - Throws: `.missingFile` when it cannot be read, `.invalidData` when it is not UTF-8 or
    ///   holds no name.
    public static func read(path: String) throws -> ClassLabels {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AscentError(.missingFile, file: path, FileManager.default.fileExists(atPath: path) ? "file is not readable" : "no such file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw AscentError.invalid("labels file is not UTF-8 text", file: path) }
        var names = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            String($0.reversed().drop { $0 == "\r" || $0 == " " || $0 == "\t" }.reversed())
        }
        while names.last?.isEmpty == true { names.removeLast() }
        guard !names.isEmpty else { throw AscentError.invalid("labels file holds no class names (one per line)", file: path) }
        return ClassLabels(names: names, source: path)
    }

    /// Keys of model metadata that hold class names, in the order they are tried.
    public static let metadataKeys = ["labels", "class_names", "classes", "names", "id2label"]

    /// Class names from model metadata (ONNX `metadata_props`), under one of
    /// ``metadataKeys``, as a JSON list (`["cat", "dog"]`), a JSON object or Python dict from
    /// index to name (`{"0": "cat"}`, Hugging Face's `id2label`; `{0: 'person', 1: 'bicycle'}`,
    /// as Ultralytics writes `names`), or a comma- or newline-separated list. Nil when no key
    /// holds names.
    public init?(metadata: [String: String]) {
        for key in Self.metadataKeys {
            guard let value = metadata[key], let names = Self.parseList(value), !names.isEmpty else { continue }
            self.init(names: names, source: "ONNX metadata '\(key)'")
            return
        }
        return nil
    }

    /// The names in one of the accepted spellings, nil when it is none of them.
    static func parseList(_ text: String) -> [String]? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("[") || trimmed.hasPrefix("{") {
            if let json = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) {
                if let list = json as? [String] { return list }
                if let map = json as? [String: Any] { return indexed(map.compactMap { k, v in Int(k).map { ($0, "\(v)") } }, total: map.count) }
                return nil
            }
            return trimmed.hasPrefix("{") ? pythonDict(trimmed) : nil
        }
        let separator: Character = trimmed.contains("\n") ? "\n" : ","
        let names = trimmed.split(separator: separator, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return names.count >= 2 ? names : nil
    }

    /// `{0: 'person', 1: "bicycle"}`: integer keys, quoted values.
    private static func pythonDict(_ text: String) -> [String]? {
        var pairs: [(Int, String)] = []
        var rest = Substring(text.dropFirst().dropLast())
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," || $0 == "\n" }
            if rest.isEmpty { break }
            guard let colon = rest.firstIndex(of: ":"), let key = Int(rest[..<colon].trimmingCharacters(in: .whitespaces)) else { return nil }
            rest = rest[rest.index(after: colon)...].drop { $0 == " " }
            guard let quote = rest.first, quote == "'" || quote == "\"" else { return nil }
            rest = rest.dropFirst()
            var value = ""
            var escaped = false
            var closed = false
            while let c = rest.first {
                rest = rest.dropFirst()
                if escaped { value.append(c); escaped = false }
                else if c == "\\" { escaped = true }
                else if c == quote { closed = true; break }
                else { value.append(c) }
            }
            guard closed else { return nil }
            pairs.append((key, value))
        }
        return indexed(pairs, total: pairs.count)
    }

    /// Names by index 0..<n, nil unless the keys are exactly 0..<n.
    private static func indexed(_ pairs: [(Int, String)], total: Int) -> [String]? {
        guard pairs.count == total, !pairs.isEmpty else { return nil }
        let sorted = pairs.sorted { $0.0 < $1.0 }
        guard sorted.enumerated().allSatisfy({ $0.offset == $0.element.0 }) else { return nil }
        return sorted.map(\.1)
    }
}
