import AscentIR

/// What a model says about itself that a probe can use: the range its input expects (from a
/// rescaling or normalization at its start) and whether it ends in class probabilities.
public enum ModelFacts {
    /// An input range read from the graph, with where it came from.
    public struct InputRange: Sendable, Equatable {
        public var range: ClosedRange<Float>
        /// For messages: `the Rescaling at node 'rescaling' (x·0.00392 + 0)`.
        public var source: String
        /// False when the range is an estimate (a normalization's mean ± 2σ, say).
        public var exact: Bool
    }

    /// The range the model expects on `input`, when its first arithmetic tells:
    /// - a scalar rescaling `y = s·x + o` (Keras `Rescaling`, or `Mul`/`Div` then `Add`/`Sub`
    ///   by scalar constants in any format): pixels `x ∈ [0, 1/s]` when the result is `[0, 1]`-like
    ///   (o > −1), `[0, 2/s]` when it is `[−1, 1]` (o ≤ −1) — 1/255 gives 0…255, and so does
    ///   1/127.5 with offset −1;
    /// - a per-channel normalization `(x − mean) / std` (Keras `Normalization`, ImageNet
    ///   preprocessing in ONNX): the union of `mean ± 2·std` over channels, snapped to 0…1 or
    ///   0…255 when it lies near one of them (an estimate: the statistics do not give the bounds).
    /// Layout-only ops (Transpose, Identity, Reshape, Cast) between the input and the arithmetic
    /// are skipped. Nil when the model does not say.
    public static func inputRange(of graph: Graph, input: String) -> InputRange? {
        var consumers: [String: [Node]] = [:]
        for node in graph.nodes { for i in Set(node.inputs) where !i.isEmpty { consumers[i, default: []].append(node) } }
        func only(_ value: String) -> Node? {
            let users = (consumers[value] ?? []).filter { !($0.definition?.traits.contains(.readsTypeOnly) ?? false) }
            guard users.count == 1 else { return nil }
            return users[0]
        }
        func constant(_ node: Node, other value: String) -> (tensor: Tensor, first: Bool)? {
            guard node.inputs.count == 2 else { return nil }
            let (a, b) = (node.inputs[0], node.inputs[1])
            if a == value, let t = graph.initializers[b], t.dtype.isFloatingPoint { return (t, false) }
            if b == value, let t = graph.initializers[a], t.dtype.isFloatingPoint { return (t, true) }
            return nil
        }
        var value = input
        var node = only(value)
        while let n = node, [OpDefinition.transpose, .identity, .reshape, .cast].contains(where: n.is), let out = n.outputs.first {
            value = out
            node = only(out)
        }
        guard let first = node, let c = constant(first, other: value), let out = first.outputs.first else { return nil }
        let next = only(out)
        let values = c.tensor.floats()
        // Scalar rescaling.
        if values.count == 1, first.is(.mul) || (first.is(.div) && !c.first) {
            let s = first.is(.mul) ? values[0] : 1 / values[0]
            var o: Float = 0
            if let n = next, let d = constant(n, other: out), d.tensor.count == 1 {
                if n.is(.add) { o = d.tensor.floats()[0] } else if n.is(.sub), !d.first { o = -d.tensor.floats()[0] }
            }
            guard s.isFinite, s > 0 else { return nil }
            // 1/s in float32 misses whole numbers by an ulp (1/(1/255) = 254.99998): snap to them.
            var hi = (o <= -1 ? 2 : 1) / s
            if abs(hi - hi.rounded()) <= 1e-4 * hi { hi = hi.rounded() }
            let shift = o == 0 ? "" : o > 0 ? " + \(short(o))" : " − \(short(-o))"
            return InputRange(range: 0...hi, source: "the scaling at node '\(first.name)' (x·\(short(s))\(shift))", exact: true)
        }
        // Per-channel normalization: Sub(x, mean) then Div(·, std) or Mul(·, 1/std).
        guard first.is(.sub), !c.first, let n = next, let d = constant(n, other: out), !d.first,
              n.is(.div) || n.is(.mul), d.tensor.count == values.count || d.tensor.count == 1 else { return nil }
        let scale = d.tensor.floats()
        var lo = Float.infinity, hi = -Float.infinity
        for (k, mean) in values.enumerated() {
            let s = scale[scale.count == 1 ? 0 : k]
            let std = n.is(.div) ? s : 1 / s
            guard std.isFinite, std > 0 else { return nil }
            lo = min(lo, mean - 2 * std)
            hi = max(hi, mean + 2 * std)
        }
        var range = lo...hi
        if lo > -0.5, hi < 1.5 { range = 0...1 } else if lo > -100, hi > 150, hi < 400 { range = 0...255 }
        return InputRange(range: range, source: "the normalization at node '\(first.name)' (mean ± 2σ, estimated)", exact: false)
    }

    /// The graph output holding class probabilities: the model's only output, made by a
    /// final Softmax (through Identity nodes). Nil when the model is not such a classifier.
    public static func probabilitiesOutput(of graph: Graph) -> String? {
        guard graph.outputs.count == 1 else { return nil }
        let producers = graph.producers
        var value = graph.outputs[0].name
        while let p = producers[value] {
            let node = graph.nodes[p]
            if node.is(.softmax) { return graph.outputs[0].name }
            guard node.is(.identity), let i = node.inputs.first else { return nil }
            value = i
        }
        return nil
    }

    private static func short(_ v: Float) -> String {
        let s = "\(v)"
        return s.hasSuffix(".0") ? String(s.dropLast(2)) : s
    }
}

extension ModelFacts {
    /// What a report says about a model: its format and producer, inputs and outputs with
    /// their types, node and parameter counts.
    public static func reportFacts(of graph: Graph, format: String) -> [Report.Fact] {
        var facts = [Report.Fact("format", format)]
        if let producer = graph.metadata["producer"], !producer.isEmpty { facts.append(.init("producer", producer)) }
        facts.append(.init("inputs", graph.inputs.map { "\($0.name) \($0.type)" }.joined(separator: ", ")))
        facts.append(.init("outputs", graph.outputs.map { "\($0.name) \($0.type)" }.joined(separator: ", ")))
        facts.append(.init("nodes", "\(graph.nodes.count)"))
        facts.append(.init("parameters", Report.grouped(graph.parameterCount)))
        return facts
    }
}
