/// A computation graph: named inputs, constant initializers, nodes in topological
/// order, and named outputs. The one IR that the importers produce and the runtime runs.
public struct Graph: Sendable {
    public var name: String
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    /// Constant tensors by value name (weights, folded constants).
    public var initializers: [String: Tensor]
    public var nodes: [Node]
    /// Declared types of intermediate values (from the source file), by value name.
    public var valueInfo: [String: ValueType]
    /// Free-form facts about the source: `source_format`, `producer`, `keras_version`...
    public var metadata: [String: String]

    public init(name: String, inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
                initializers: [String: Tensor] = [:], nodes: [Node] = [],
                valueInfo: [String: ValueType] = [:], metadata: [String: String] = [:]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.initializers = initializers
        self.nodes = nodes
        self.valueInfo = valueInfo
        self.metadata = metadata
    }

    /// The ``metadata`` key of what an importer changed from the file, one note a line (a declared
    /// type replaced by the computed one); `ascent inspect` prints them.
    public static let importNotesKey = "import_notes"

    /// The notes under ``importNotesKey``, in order.
    public var importNotes: [String] {
        metadata[Graph.importNotesKey].map { $0.split(separator: "\n").map(String.init) } ?? []
    }

    /// Nodes that are ``Node/isUnsupported`` placeholders, in graph order.
    public var unsupportedNodes: [Node] { nodes.filter(\.isUnsupported) }

    /// The number of weight scalars: `metadata["parameters"]` when the importer recorded
    /// the source framework's own count (Keras's `count_params()`, which leaves out the
    /// constants an importer adds, such as Clip bounds), else the scalars of all initializers.
    public var parameterCount: Int {
        if let recorded = metadata["parameters"].flatMap({ Int($0) }) { return recorded }
        return initializers.values.reduce(0) { $0 + $1.count }
    }

    /// The index of the node that defines each node-output value.
    public var producers: [String: Int] {
        var out: [String: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for o in node.outputs where !o.isEmpty { out[o] = i }
        }
        return out
    }

    /// The same graph with nodes reordered so every value is defined before use
    /// (stable: keeps the given order where it is already valid). Throws on a cycle.
    public func topologicallySorted() throws -> Graph {
        var defined = Set(inputs.map(\.name)).union(initializers.keys)
        var remaining = nodes
        var sorted: [Node] = []
        sorted.reserveCapacity(nodes.count)
        let producedHere = Set(nodes.flatMap(\.outputs))
        while !remaining.isEmpty {
            var progressed = false
            var next: [Node] = []
            for node in remaining {
                let ready = node.inputs.allSatisfy { $0.isEmpty || defined.contains($0) || !producedHere.contains($0) }
                if ready {
                    sorted.append(node)
                    defined.formUnion(node.outputs)
                    progressed = true
                } else {
                    next.append(node)
                }
            }
            if !progressed {
                throw AscentError.invalid("cycle through node \(next[0].label)")
            }
            remaining = next
        }
        var copy = self
        copy.nodes = sorted
        return copy
    }
}

extension Graph: Equatable {
    /// Same name, interface, nodes (nested graphs included), declared types, metadata and
    /// initializers bit for bit.
    public static func == (a: Graph, b: Graph) -> Bool {
        a.name == b.name && a.inputs == b.inputs && a.outputs == b.outputs && a.nodes == b.nodes
            && a.valueInfo == b.valueInfo && a.metadata == b.metadata && a.initializers.count == b.initializers.count
            && a.initializers.allSatisfy { name, t in b.initializers[name].map { $0.bitwiseEqual(t) } ?? false }
    }
}
