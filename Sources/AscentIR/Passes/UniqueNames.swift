/// Hands out value (or node) names that clash with none taken so far: `base`, else `base_1`,
/// `base_2`...; remembers which names got a suffix and what they were meant to be, so a pass can
/// give a name back once it is free (``restoring(_:)``).
public struct UniqueNames: Sendable {
    private var taken: Set<String>
    /// Names made unique with a suffix, and the name each was meant to have.
    public private(set) var suffixed: [String: String] = [:]

    public init<S: Sequence>(taken: S) where S.Element == String { self.taken = Set(taken) }

    /// Every name a graph defines or declares: inputs, outputs, initializers, node outputs.
    public init(_ graph: Graph) {
        self.init(taken: graph.inputs.map(\.name) + graph.outputs.map(\.name) + Array(graph.initializers.keys)
                  + graph.nodes.flatMap(\.outputs))
    }

    /// A name not taken yet, based on `base`; now taken.
    public mutating func fresh(_ base: String) -> String {
        var name = base
        var i = 1
        while taken.contains(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        taken.insert(name)
        if name != base { suffixed[name] = base }
        return name
    }

    /// Marks `name` as taken.
    public mutating func reserve(_ name: String) { taken.insert(name) }

    public func contains(_ name: String) -> Bool { taken.contains(name) }
}
