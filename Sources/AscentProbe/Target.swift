import AscentIR

/// What to differentiate or maximize, as the CLI spells it:
/// - `logit:K` — class K of the model's (single) output, before the final softmax when
///   the model ends in one;
/// - `output:NAME:K` — index K along the last axis of graph output NAME;
/// - `layer:NAME:C` — channel C of a layer's output (or any value), averaged over its
///   non-feature axes (`layer:NAME:C:max` takes the maximum instead);
/// - `neuron:NAME:C@i,j` — channel C of a layer's output at one spatial position (row i,
///   column j; `C@i` for 1-D feature maps).
public enum Target: Hashable, Sendable, CustomStringConvertible {
    case logit(Int)
    case output(name: String, index: Int)
    case layer(name: String, channel: Int, reduction: Reduction)
    case neuron(name: String, channel: Int, position: [Int])

    public enum Reduction: String, Sendable { case mean, max }

    /// Parses the CLI form. Throws a `.usage` error describing the accepted forms.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func index(_ s: String, _ what: String) throws -> Int {
            guard let v = Int(s), v >= 0 else { throw Target.usage("\(what) '\(s)' in target '\(text)' is not a non-negative integer") }
            return v
        }
        switch parts.first {
        case "logit" where parts.count == 2:
            self = .logit(try index(parts[1], "class"))
        case "output" where parts.count >= 3:
            // Output names may contain ':' (ONNX): the index is the last part.
            self = .output(name: parts[1..<(parts.count - 1)].joined(separator: ":"), index: try index(parts.last!, "index"))
        case "layer" where parts.count >= 3:
            var rest = Array(parts.dropFirst())
            var reduction = Reduction.mean
            if let last = rest.last, let r = Reduction(rawValue: last), rest.count >= 3 {
                reduction = r
                rest.removeLast()
            }
            self = .layer(name: rest.dropLast().joined(separator: ":"), channel: try index(rest.last!, "channel"), reduction: reduction)
        case "neuron" where parts.count >= 3:
            let last = parts.last!.split(separator: "@", omittingEmptySubsequences: false).map(String.init)
            guard last.count == 2, !last[1].isEmpty else {
                throw Target.usage("target '\(text)' is not neuron:NAME:C@i,j (a channel and a position)")
            }
            self = .neuron(name: parts[1..<(parts.count - 1)].joined(separator: ":"), channel: try index(last[0], "channel"),
                           position: try last[1].split(separator: ",", omittingEmptySubsequences: false).map { try index(String($0), "position") })
        case "logit" where parts.count == 1:
            throw Target.usage("target '\(text)': missing class: logit:K")
        case "output" where parts.count == 2:
            throw Target.usage("target '\(text)': missing index: output:NAME:K")
        case "layer" where parts.count == 2:
            throw Target.usage("target '\(text)': missing channel: layer:NAME:C")
        case "neuron" where parts.count == 2:
            throw Target.usage("target '\(text)': missing channel and position: neuron:NAME:C@i,j")
        default:
            throw Target.usage("target '\(text)' is not logit:K, output:NAME:K, layer:NAME:C[:max] or neuron:NAME:C@i,j")
        }
    }

    /// Parses a target whose class or channel is a range `A-B` (inclusive), as in
    /// `layer:conv1:0-15` or `logit:0-9`, into one target per index; a target without a
    /// range gives itself. At most 1024 targets.
    public static func expanding(_ text: String) throws -> [Target] {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        // The range is the last part that looks like one (a `:max` may follow it).
        guard let k = parts.indices.reversed().first(where: { k in
            let ends = parts[k].split(separator: "-", omittingEmptySubsequences: false)
            return k > 0 && ends.count == 2 && ends.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
        }) else { return [try Target(parsing: text)] }
        let ends = parts[k].split(separator: "-").map { Int($0) }
        guard let lo = ends[0], let hi = ends[1], lo <= hi else {
            throw Target.usage("range '\(parts[k])' in target '\(text)' must be A-B with A ≤ B")
        }
        guard hi - lo < 1024 else { throw Target.usage("range '\(parts[k])' in target '\(text)' asks for more than 1024 targets") }
        return try (lo...hi).map { i in
            parts[k] = String(i)
            return try Target(parsing: parts.joined(separator: ":"))
        }
    }

    public var description: String {
        switch self {
        case .logit(let k): return "logit:\(k)"
        case .output(let name, let k): return "output:\(name):\(k)"
        case .layer(let name, let c, let r): return "layer:\(name):\(c)" + (r == .max ? ":max" : "")
        case .neuron(let name, let c, let p): return "neuron:\(name):\(c)@" + p.map(String.init).joined(separator: ",")
        }
    }

    static func usage(_ message: String) -> AscentError { AscentError(.usage, message) }
}
