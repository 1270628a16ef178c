/// Facts about a graph for people: per-node parameters and multiply-accumulates, totals,
/// the op histogram and the unsupported ops. What `ascent inspect` prints.
public struct GraphSummary: Sendable {
    public struct NodeRow: Sendable {
        public var name: String
        /// The op, or `source_op` for an unsupported node.
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
    }

    public var rows: [NodeRow]
    public var types: [String: ValueType]
    /// Weight scalars in all initializers.
    public var parameters: Int
    /// Total multiply-accumulates over nodes whose count is known.
    public var macs: Int
    /// Op name → node count, sorted by count then name.
    public var histogram: [(op: String, count: Int)]
    /// Labels of the unsupported nodes.
    public var unsupported: [String]

    public init(_ graph: Graph) {
        let types = (try? graph.inferTypes()) ?? [:]
        var seen: Set<String> = []
        var rows: [NodeRow] = []
        var counts: [String: Int] = [:]
        for node in graph.nodes {
            var params = 0
            for input in node.inputs where !input.isEmpty && !seen.contains(input) {
                if let t = graph.initializers[input] { params += t.count; seen.insert(input) }
            }
            let op = node.isUnsupported ? (node.attributes["source_op"]?.string ?? node.op) : node.op
            counts[op, default: 0] += 1
            rows.append(NodeRow(name: node.name, op: op, inputs: node.inputs, outputs: node.outputs,
                                outputTypes: node.outputs.map { types[$0] }, parameters: params,
                                macs: GraphSummary.macs(node, types), unsupported: node.isUnsupported))
        }
        self.rows = rows
        self.types = types
        parameters = graph.parameterCount
        macs = rows.compactMap(\.macs).reduce(0, +)
        histogram = counts.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
        unsupported = graph.unsupportedNodes.map(\.label)
    }

    /// Multiply-accumulates of conv and matrix products, from the inferred shapes.
    static func macs(_ node: Node, _ types: [String: ValueType]) -> Int? {
        guard let out = node.outputs.first.flatMap({ types[$0]?.shape.flatMap(perItemCount) }) else { return nil }
        switch node.op {
        case "Conv":
            guard node.inputs.count >= 2, let w = types[node.inputs[1]]?.shape?.concrete, w.count >= 3 else { return nil }
            let channelsLast = node.attributes["data_format"]?.string == "NHWC"
            // Per output element: kernel spatial size × input channels per group.
            let perOutput = channelsLast ? w.dropLast().reduce(1, *) : w.dropFirst().reduce(1, *)
            return out.multipliedReportingOverflow(by: perOutput).overflow ? nil : out * perOutput
        case "MatMul", "Gemm":
            guard let a = types[node.inputs[0]]?.shape?.dims, let k = a.last?.value else { return nil }
            let transA = node.attributes["transA"]?.int ?? 0
            let inner = node.op == "Gemm" && transA != 0 ? a.first?.value ?? k : k
            return out.multipliedReportingOverflow(by: inner).overflow ? nil : out * inner
        default:
            return nil
        }
    }

    /// Elements per batch item: the product of the sizes, with a symbolic or unknown
    /// leading dimension counted as 1; nil when another size is unknown.
    static func perItemCount(_ shape: Shape) -> Int? {
        var dims = shape.dims
        if let first = dims.first, first.value == nil { dims[0] = .known(1) }
        return Shape(dims).elementCount
    }
}
