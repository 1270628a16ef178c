/// "Did you mean" for names a user typed: the closest existing names by their parts.
///
/// Model names are paths (`digits_1/conv1_1/Relu`, `model/block_3/conv:0`), so a whole-string
/// edit distance ranks short unrelated names (`probs`) above the right long one. Here a
/// candidate ranks by, in order:
/// 1. the match: equal ignoring case; the query one of the candidate's parts or runs of parts
///    (`conv1` in `digits_1/conv1_1/Relu`), or the other way round; contained anywhere; sharing
///    parts (`conv3` and `conv1` share `conv`); nothing in common;
/// 2. preferred candidates first (layer-like values: floating-point, rank 2 or more);
/// 3. more shared characters in shared parts, then the shorter name, then edit distance, then
///    the name.
/// Parts are the letter and digit runs of the lower-cased name (`Conv2D_1` → `conv`, `2`, `d`, `1`).
public enum NameSuggestions {
    public struct Candidate: Sendable, Hashable {
        public var name: String
        /// Listed before the others of the same match quality.
        public var preferred: Bool

        public init(_ name: String, preferred: Bool = false) {
            self.name = name
            self.preferred = preferred
        }
    }

    /// The `limit` closest candidates to `query`, best first.
    public static func closest(to query: String, among candidates: [Candidate], limit: Int = 3) -> [String] {
        let q = query.lowercased()
        let qParts = parts(q)
        var seen = Set<String>()
        let scored = candidates.compactMap { c -> (key: [Int], name: String)? in
            guard seen.insert(c.name).inserted else { return nil }
            let n = c.name.lowercased()
            let nParts = parts(n)
            let tier: Int
            if n == q { tier = 0 }
            else if contains(nParts, run: qParts) || contains(qParts, run: nParts) { tier = 1 }
            else if n.contains(q) || (!n.isEmpty && q.contains(n)) { tier = 2 }
            else if shared(qParts, nParts) > 0 { tier = 3 }
            else { tier = 4 }
            return ([tier, c.preferred ? 0 : 1, -shared(qParts, nParts), c.name.count, editDistance(q, n)], c.name)
        }
        return scored.sorted { a, b in a.key != b.key ? a.key.lexicographicallyPrecedes(b.key) : a.name < b.name }
            .prefix(limit).map(\.name)
    }

    /// As above for names of equal standing.
    public static func closest(to query: String, among names: [String], limit: Int = 3) -> [String] {
        closest(to: query, among: names.map { Candidate($0) }, limit: limit)
    }

    /// `; closest: 'a', 'b', 'c'`, or an empty string when there are no candidates.
    public static func hint(for query: String, among candidates: [Candidate], limit: Int = 3) -> String {
        let names = closest(to: query, among: candidates, limit: limit)
        return names.isEmpty ? "" : "; closest: " + names.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// The letter runs and digit runs of `s` (already lower-cased).
    static func parts(_ s: String) -> [Substring] {
        var out: [Substring] = []
        var start: String.Index?
        var digits = false
        for i in s.indices {
            let c = s[i]
            let isDigit = c.isNumber, isLetter = c.isLetter
            if let st = start, !(isLetter || isDigit) || isDigit != digits {
                out.append(s[st..<i])
                start = nil
            }
            if start == nil, isLetter || isDigit {
                start = i
                digits = isDigit
            }
        }
        if let st = start { out.append(s[st...]) }
        return out
    }

    /// True when `run` appears as consecutive elements of `parts`.
    static func contains(_ parts: [Substring], run: [Substring]) -> Bool {
        guard !run.isEmpty, run.count <= parts.count else { return false }
        return (0...(parts.count - run.count)).contains { i in parts[i..<(i + run.count)].elementsEqual(run) }
    }

    /// Characters in the parts of `a` that also occur in `b`, counting letter parts only
    /// (a shared `1` alone relates nothing).
    static func shared(_ a: [Substring], _ b: [Substring]) -> Int {
        let other = Set(b)
        guard a.contains(where: { other.contains($0) && $0.first?.isLetter == true }) else { return 0 }
        return Set(a).filter { other.contains($0) }.reduce(0) { $0 + $1.count }
    }

    /// Levenshtein distance.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        var row = Array(0...y.count)
        for i in stride(from: 1, through: x.count, by: 1) {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                let current = row[j]
                row[j] = Swift.min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[y.count]
    }
}

extension Graph {
    /// The names a target may use for a layer — node names and the values they make — with
    /// layer-like values (floating-point, rank 2 or more: feature maps and activations)
    /// preferred over shape computations and constants. A value named after its node
    /// (`NAME:0`, or the node's own name) is listed once, under the node's name.
    public func layerNameCandidates(types: [String: ValueType]) -> [NameSuggestions.Candidate] {
        func layerLike(_ value: String) -> Bool {
            guard let t = types[value] else { return false }
            return t.dtype.isFloatingPoint && (t.shape?.rank ?? 0) >= 2
        }
        var out: [NameSuggestions.Candidate] = []
        for node in nodes {
            guard let first = node.outputs.first(where: { !$0.isEmpty }) else { continue }
            out.append(.init(node.name, preferred: layerLike(first)))
            for o in node.outputs where !o.isEmpty && o != node.name && o != node.name + ":0" {
                out.append(.init(o, preferred: layerLike(o)))
            }
        }
        return out
    }
}
