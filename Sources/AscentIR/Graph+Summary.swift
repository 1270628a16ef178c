/// Facts about a graph for people: per-node parameters and multiply-accumulates, totals,
/// the op histogram and the unsupported ops. What `ascent inspect` prints.
///
/// Rows are the IR's nodes, or, given the ``SourceNode``s of the file the graph was imported
/// from (an ONNX file's `NodeProto`s), one row per source node: the IR nodes an importer made of
/// it (named after it, or `<name>/<step>`) are folded into its row.
public struct GraphSummary: Sendable {
    public struct NodeRow: Sendable {
        public var name: String
        /// The op, or `source_op` for an unsupported node; the file's op type for a source node.
        public var op: String
        public var inputs: [String]
        public var outputs: [String]
        /// Output types as inferred (nil when unknown).
        public var outputTypes: [ValueType?]
        /// Weight scalars first used by this node.
        public var parameters: Int
        /// Multiply-accumulates of a Conv, MatMul or Gemm for one batch item (a symbolic
        /// leading batch dimension counts as 1); nil when other sizes are unknown.
        public var macs: Int?
        public var unsupported: Bool
        /// For a node of a nested graph: `<node>/<attribute>` (`/If_3/then_branch`), and how deep it nests.
        public var scope: String? = nil
        public var depth = 0
    }

    /// A node as the imported file lists it.
    public struct SourceNode: Sendable, Equatable {
        /// The node's name as the importer resolved it (ONNX: `<op>_<index>` for an empty name).
        public var name: String
        public var op: String
        public var inputs: [String]
        public var outputs: [String]

        public init(name: String, op: String, inputs: [String], outputs: [String]) {
            self.name = name
            self.op = op
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    /// The file's own view of a graph: its nodes, and the names of its weights (the IR may add
    /// constants, such as the axes of an older opset's Unsqueeze, which are not parameters).
    public struct Source: Sendable, Equatable {
        public var nodes: [SourceNode]
        public var initializers: Set<String>

        public init(nodes: [SourceNode], initializers: Set<String>) {
            self.nodes = nodes
            self.initializers = initializers
        }
    }

    /// The nodes, each followed by the nodes of its nested graphs (``NodeRow/scope``).
    public var rows: [NodeRow]
    public var types: [String: ValueType]
    /// Weight scalars: ``Graph/parameterCount``, or those of the source's initializers.
    public var parameters: Int
    /// Total multiply-accumulates over (top-level) nodes whose count is known.
    public var macs: Int
    /// Op name → (top-level) node count, sorted by count then name.
    public var histogram: [(op: String, count: Int)]
    /// Labels of the unsupported nodes.
    public var unsupported: [String]

    /// Summarizes `graph`.
    /// - Parameters:
    ///   - source: the imported file's nodes, to show those instead of the IR's.
    ///   - types: the value types to show; by default those ``Graph/inferTypes()`` gives.
    public init(_ graph: Graph, source: Source? = nil, types: [String: ValueType]? = nil) {
        let types = types ?? (try? graph.inferTypes()) ?? [:]
        var seen: Set<String> = []
        func firstUse(_ inputs: [String], among weights: (String) -> Bool) -> Int {
            var count = 0
            for input in inputs where !input.isEmpty && !seen.contains(input) && weights(input) {
                if let t = graph.initializers[input] { count += t.count; seen.insert(input) }
            }
            return count
        }
        var rows: [NodeRow] = []
        if let source {
            let groups = GraphSummary.group(graph.nodes, by: source.nodes)
            for (node, made) in zip(source.nodes, groups) {
                let macs = made.filter { $0.definition?.cost != nil }.map { GraphSummary.macs($0, types) }
                rows.append(NodeRow(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs,
                                    outputTypes: node.outputs.map { $0.isEmpty ? nil : types[$0] },
                                    parameters: firstUse(node.inputs, among: source.initializers.contains),
                                    macs: macs.isEmpty || macs.contains(nil) ? nil : macs.reduce(0) { $0 + $1! },
                                    unsupported: made.contains(where: \.isUnsupported)))
                for n in made { rows += GraphSummary.nestedRows(n, types, depth: 1) }
            }
            parameters = source.initializers.reduce(0) { $0 + (graph.initializers[$1]?.count ?? 0) }
        } else {
            for node in graph.nodes {
                let op = node.isUnsupported ? (node.attributes["source_op"]?.string ?? node.op) : node.op
                rows.append(NodeRow(name: node.name, op: op, inputs: node.inputs, outputs: node.outputs,
                                    outputTypes: node.outputs.map { types[$0] },
                                    parameters: firstUse(node.inputs) { _ in true },
                                    macs: GraphSummary.macs(node, types), unsupported: node.isUnsupported))
                rows += GraphSummary.nestedRows(node, types, depth: 1)
            }
            parameters = graph.parameterCount
        }
        self.rows = rows
        self.types = types
        let top = rows.filter { $0.scope == nil }
        macs = top.compactMap(\.macs).reduce(0, +)
        let counts = top.reduce(into: [String: Int]()) { $0[$1.op, default: 0] += 1 }
        histogram = counts.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        unsupported = graph.unsupportedNodes.map(\.label)
    }

    /// The IR nodes made of each source node: an IR node belongs to the source node named like it,
    /// or like the longest `/`-separated prefix of its name (`softmax/flatten` → `softmax`); when
    /// several source nodes share that name, to the first one not before the previous match.
    static func group(_ nodes: [Node], by source: [SourceNode]) -> [[Node]] {
        var byName: [String: [Int]] = [:]
        for (i, s) in source.enumerated() { byName[s.name, default: []].append(i) }
        var groups = [[Node]](repeating: [], count: source.count)
        var previous = 0
        for node in nodes {
            var key = Substring(node.name)
            var candidates = byName[String(key)]
            while candidates == nil, let slash = key.lastIndex(of: "/") {
                key = key[..<slash]
                candidates = byName[String(key)]
            }
            guard let candidates else { continue }
            let i = candidates.first { $0 >= previous } ?? candidates[0]
            groups[i].append(node)
            previous = i
        }
        return groups
    }

    /// The rows of `node`'s nested graphs (and theirs, deeper), each under its scope.
    static func nestedRows(_ node: Node, _ types: [String: ValueType], depth: Int) -> [NodeRow] {
        var rows: [NodeRow] = []
        for (attribute, g) in node.subgraphs {
            let inner = node.nestedTypes(g, outer: types)
            for n in g.nodes {
                let op = n.isUnsupported ? (n.attributes["source_op"]?.string ?? n.op) : n.op
                rows.append(NodeRow(name: n.name, op: op, inputs: n.inputs, outputs: n.outputs, outputTypes: n.outputs.map { inner[$0] },
                                    parameters: 0, macs: GraphSummary.macs(n, inner), unsupported: n.isUnsupported,
                                    scope: "\(node.name)/\(attribute)", depth: depth))
                rows += nestedRows(n, inner, depth: depth + 1)
            }
        }
        return rows
    }

    /// Multiply-accumulates of a node (its op's ``OpDefinition/cost``), from the inferred shapes.
    static func macs(_ node: Node, _ types: [String: ValueType]) -> Int? { node.definition?.cost?(node, types) }

}

/// What `ascent inspect --format json` prints, as a Codable value:
/// `{"format", "producer", "inputs": [{"name", "shape", "dtype"}], "outputs", "nodes": [{"name",
/// "op", "inputs", "outputs", "shapes"}], "parameters", "unsupported"}`. A shape is a list of
/// sizes (numbers), symbols (strings) and unknown sizes (null); null when even the rank is unknown.
public struct ModelDescription: Codable, Sendable, Equatable {
    /// One dimension: a size, a symbol, or unknown (`null`).
    public enum Dimension: Codable, Sendable, Equatable {
        case size(Int)
        case symbol(String)
        case unknown

        public init(_ dim: Dim) {
            switch dim {
            case .known(let v): self = .size(v)
            case .symbol(let s): self = .symbol(s)
            case .expression(let e): self = .symbol(e.description)
            case .unknown: self = .unknown
            }
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .unknown }
            else if let v = try? c.decode(Int.self) { self = .size(v) }
            else { self = .symbol(try c.decode(String.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .size(let v): try c.encode(v)
            case .symbol(let s): try c.encode(s)
            case .unknown: try c.encodeNil()
            }
        }
    }

    /// A graph input or output.
    public struct Value: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Dimension]?
        public var dtype: String
        /// `sequence`, `optional` or `optional-sequence` (the shape and dtype are its tensors');
        /// absent for a tensor.
        public var kind: String?

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(shape, forKey: .shape)
            try c.encode(dtype, forKey: .dtype)
            try c.encodeIfPresent(kind, forKey: .kind)
        }
    }

    /// A node (or, for ONNX files, the file's node) with the inferred shapes of its outputs.
    public struct Node: Codable, Sendable, Equatable {
        public var name: String
        public var op: String
        public var inputs: [String]
        public var outputs: [String]
        public var shapes: [[Dimension]?]
        /// For a node of a nested graph: `<node>/<attribute>`; absent at the top level.
        public var graph: String?
    }

    /// `onnx`, `keras-h5`, `keras` or `ascent`: the file the graph was read from.
    public var format: String
    /// ONNX `producer_name producer_version`, `keras <version>` for Keras files; nil when unrecorded.
    public var producer: String?
    public var inputs: [Value]
    public var outputs: [Value]
    public var nodes: [Node]
    /// The nodes of nested graphs (If branches, Loop and Scan bodies), each naming its ``Node/graph``;
    /// written only when there are some.
    public var nested: [Node]?
    /// Weight scalars (Keras: `count_params()`).
    public var parameters: Int
    /// Labels of the unsupported nodes.
    public var unsupported: [String]

    enum CodingKeys: String, CodingKey { case format, producer, inputs, outputs, nodes, nested, parameters, unsupported }

    /// The description of `graph`, read from a `format` file, with the types `summary` inferred.
    public init(_ graph: Graph, _ summary: GraphSummary, format: String) {
        func shape(_ s: Shape?) -> [Dimension]? { s.map { $0.dims.map(Dimension.init) } }
        func value(_ info: ValueInfo) -> Value {
            let t = summary.types[info.name] ?? info.type
            return Value(name: info.name, shape: shape(t.shape), dtype: t.dtype.rawValue, kind: t.isTensor ? nil : t.kind.rawValue)
        }
        self.format = format
        producer = graph.metadata["producer"]
        inputs = graph.inputs.map(value)
        outputs = graph.outputs.map(value)
        let all = summary.rows.map {
            Node(name: $0.name, op: $0.op, inputs: $0.inputs, outputs: $0.outputs, shapes: $0.outputTypes.map { shape($0?.shape) },
                 graph: $0.scope)
        }
        nodes = all.filter { $0.graph == nil }
        let inner = all.filter { $0.graph != nil }
        nested = inner.isEmpty ? nil : inner
        parameters = summary.parameters
        unsupported = summary.unsupported
    }

    /// Writes `producer` as `null` when absent rather than leaving the key out.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(producer, forKey: .producer)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(nodes, forKey: .nodes)
        if let nested { try c.encode(nested, forKey: .nested) }
        try c.encode(parameters, forKey: .parameters)
        try c.encode(unsupported, forKey: .unsupported)
    }
}

extension Graph {
    /// The graph with the given inputs' shapes fixed (`["input": [1, 16, 16, 1]]`), so that shapes
    /// inferred downstream become concrete. Symbolic and unknown sizes take the given size; a known
    /// size must match.
    /// - Throws: `.invalidData` for a name that is no input (naming the closest inputs), a rank
    ///   other than the declared one, a size that contradicts a known one, or sizes the graph's
    ///   shape rules reject (with the node).
    public func fixingInputShapes(_ shapes: [String: [Int]]) throws -> Graph {
        try fixingInputDims(shapes.mapValues { $0.map(Dim.known) })
    }

    /// The graph with the given inputs' dimensions fixed, where a dimension may stay a symbol
    /// (`["x": [N, 3, 224, 224]]` fixes the image size and keeps the batch open). Throws as
    /// ``fixingInputShapes(_:)``.
    public func fixingInputDims(_ shapes: [String: [Dim]]) throws -> Graph {
        var graph = self
        for (name, sizes) in shapes.sorted(by: { $0.key < $1.key }) {
            let given = "--input-shape \(name)=" + sizes.map(\.description).joined(separator: ",")
            guard let i = inputs.firstIndex(where: { $0.name == name }) else {
                let names = NameSuggestions.closest(to: name, among: inputs.map(\.name)).map { "'\($0)'" }.joined(separator: ", ")
                throw AscentError.invalid("\(given): no input '\(name)'; " + (inputs.isEmpty ? "the model has no inputs" : "closest: \(names)"))
            }
            if let declared = inputs[i].type.shape {
                guard declared.rank == sizes.count else {
                    throw AscentError.invalid("\(given): input '\(name)' has rank \(declared.rank) (\(declared)), given \(sizes.count) sizes")
                }
                for (axis, (d, n)) in zip(declared.dims, sizes).enumerated() where d.value != nil && n.value != nil && d != n {
                    throw AscentError.invalid("\(given): dimension \(axis) of input '\(name)' is \(d) (\(declared))")
                }
            }
            graph.inputs[i].type.shape = Shape(sizes)
        }
        if !shapes.isEmpty { _ = try graph.inferTypes() }
        return graph
    }
}
