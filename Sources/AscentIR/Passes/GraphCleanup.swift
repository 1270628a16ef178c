/// Graph clean-ups any pass may run after rewriting: identities out, dead code out, equal
/// initializers stored once, padding folded into convolutions, and names tidied.
public enum GraphCleanup {
    /// Renames generated values `<base>_<n>` to `<base>` where no value is named `<base>` any more.
    public static func restoreNames(_ graph: Graph, _ suffixed: [String: String]) -> Graph {
        guard !suffixed.isEmpty else { return graph }
        var g = graph
        let interface = Set(g.inputs.map(\.name)).union(g.outputs.map(\.name))
        var names = interface.union(g.initializers.keys).union(g.nodes.flatMap(\.outputs))
        var rename: [String: String] = [:]
        let candidates = g.nodes.flatMap(\.outputs) + g.initializers.keys.sorted()
        for name in candidates where !interface.contains(name) {
            guard let base = suffixed[name], !names.contains(base) else { continue }
            rename[name] = base
            names.remove(name)
            names.insert(base)
        }
        guard !rename.isEmpty else { return g }
        for i in g.nodes.indices {
            g.nodes[i].inputs = g.nodes[i].inputs.map { rename[$0] ?? $0 }
            g.nodes[i].outputs = g.nodes[i].outputs.map { rename[$0] ?? $0 }
        }
        for (old, new) in rename where g.initializers[old] != nil {
            g.initializers[new] = g.initializers.removeValue(forKey: old)
        }
        return g
    }

    // MARK: - Identities

    public static func removeIdentities(_ graph: Graph) -> Graph {
        var g = graph
        let outputs = Set(g.outputs.map(\.name))
        var alias: [String: String] = [:]
        var nodes: [Node] = []
        for var node in g.nodes {
            node.inputs = node.inputs.map { alias[$0] ?? $0 }
            if node.is(.identity), node.inputs.count == 1, node.outputs.count == 1, !outputs.contains(node.outputs[0]) {
                alias[node.outputs[0]] = node.inputs[0]
                continue
            }
            nodes.append(node)
        }
        g.nodes = nodes
        return g
    }

    // MARK: - Dead code

    /// Drops nodes none of whose outputs is read, and initializers nothing reads.
    public static func removeDead(_ graph: Graph) -> Graph {
        var g = graph
        var live = Set(g.outputs.map(\.name))
        var kept: [Node] = []
        for node in g.nodes.reversed() where node.outputs.contains(where: live.contains) {
            kept.append(node)
            live.formUnion(node.inputs)
        }
        g.nodes = kept.reversed()
        g.initializers = g.initializers.filter { live.contains($0.key) }
        return g
    }

    // MARK: - Pad into Conv

    /// `Conv(Pad(x))` → `Conv(x)` with larger `pads`, for a zero constant Pad of the spatial axes only
    /// whose output only that Conv reads (and a Conv with explicit padding).
    public static func foldPads(_ graph: Graph) -> Graph {
        var g = graph
        var readers: [String: [Int]] = [:]
        for (i, node) in g.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { readers[input, default: []].append(i) }
        }
        let outputs = Set(g.outputs.map(\.name))
        for pad in g.nodes where pad.is(.pad) {
            guard (pad.attributes["mode"]?.string ?? "constant") == "constant", pad.outputs.count == 1,
                  pad.inputs.count >= 2, pad.inputs.count < 4 || pad.inputs[3].isEmpty,
                  let pads = g.initializers[pad.inputs[1]]?.int64s().map({ Int($0) }) else { continue }
            if pad.inputs.count > 2, !pad.inputs[2].isEmpty {
                guard let value = g.initializers[pad.inputs[2]], value.doubles().allSatisfy({ $0 == 0 }) else { continue }
            }
            let y = pad.outputs[0]
            let rank = pads.count / 2
            guard rank >= 3, !outputs.contains(y), let users = readers[y], users.count == 1 else { continue }
            let c = users[0]
            var conv = g.nodes[c]
            guard conv.is(.conv), conv.inputs[0] == y, !conv.inputs.dropFirst().contains(y),
                  (conv.attributes["auto_pad"]?.string ?? "NOTSET") == "NOTSET",
                  pads.allSatisfy({ $0 >= 0 }), pads[0] == 0, pads[1] == 0, pads[rank] == 0, pads[rank + 1] == 0 else { continue }
            let n = rank - 2
            var convPads = conv.attributes["pads"]?.ints ?? Array(repeating: 0, count: 2 * n)
            guard convPads.count == 2 * n else { continue }
            for i in 0..<n {
                convPads[i] += pads[2 + i]
                convPads[n + i] += pads[rank + 2 + i]
            }
            conv.inputs[0] = pad.inputs[0]
            conv.attributes["auto_pad"] = nil
            conv.attributes["pads"] = .ints(convPads)
            g.nodes[c] = conv
        }
        return g
    }

    // MARK: - Initializers

    struct TensorKey: Hashable {
        let dtype: DType
        let shape: [Int]
        let hash: Int

        init(_ t: Tensor) {
            dtype = t.dtype
            shape = t.shape
            var hasher = Hasher()
            t.withUnsafeBytes { hasher.combine(bytes: $0) }
            hash = hasher.finalize()
        }
    }

    /// Stores identical initializers (same dtype, shape and bytes) once, under the name read first.
    public static func deduplicateInitializers(_ graph: Graph) -> Graph {
        var g = graph
        var order: [String] = []
        var seen: Set<String> = []
        for node in g.nodes {
            for input in node.inputs where g.initializers[input] != nil && seen.insert(input).inserted { order.append(input) }
        }
        order += g.initializers.keys.filter { !seen.contains($0) }.sorted()
        let outputs = Set(g.outputs.map(\.name))
        var kept: [TensorKey: [String]] = [:]
        var rename: [String: String] = [:]
        for name in order {
            let t = g.initializers[name]!
            let key = TensorKey(t)
            if !outputs.contains(name), let same = kept[key]?.first(where: { g.initializers[$0]!.bitwiseEqual(t) }) {
                rename[name] = same
            } else {
                kept[key, default: []].append(name)
            }
        }
        guard !rename.isEmpty else { return g }
        for i in g.nodes.indices { g.nodes[i].inputs = g.nodes[i].inputs.map { rename[$0] ?? $0 } }
        for name in rename.keys { g.initializers[name] = nil }
        return g
    }

    // MARK: - Node names

    /// Every node named, each name once: a repeated name becomes `<name>/<op>` (then `_1`, `_2`...).
    public static func uniqueNodeNames(_ graph: Graph) -> Graph {
        var g = graph
        var taken: Set<String> = []
        for i in g.nodes.indices {
            let node = g.nodes[i]
            var name = node.name.isEmpty ? node.op : node.name
            if taken.contains(name) {
                let base = node.name.isEmpty ? node.op : "\(node.name)/\(node.op)"
                name = base
                var k = 1
                while taken.contains(name) {
                    name = "\(base)_\(k)"
                    k += 1
                }
            }
            taken.insert(name)
            g.nodes[i].name = name
        }
        return g
    }
}
