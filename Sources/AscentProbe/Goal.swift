import AscentIR

/// What a probe maximizes, per batch item: a weighted sum of targets.
///
/// `Goal([[.init(target: .logit(3))], [.init(target: .logit(5))]])` optimizes a batch of two,
/// item 0 for class 3 and item 1 for class 5; `Goal([[.init(1, .layer(...)), .init(-0.5, .logit(2))]])`
/// one image for a mix. Batch items are independent (the model runs in inference mode), so the
/// sum over items of each item's own objective has, for each item, the gradient of that item's
/// objective.
public struct Goal: Sendable, Equatable {
    /// One weighted target.
    public struct Term: Sendable, Equatable {
        public var weight: Float
        public var target: Target
        public init(_ weight: Float = 1, _ target: Target) { self.weight = weight; self.target = target }
    }

    /// `items[b]` is the weighted sum maximized by batch item b.
    public var items: [[Term]]

    /// Lucid's `diversity(layer)` subtracted with this weight: the mean over items of the
    /// summed cosine similarity of item i's Gram matrix of the layer's activations with
    /// every other item's, `Σ_{i≠j} ⟨Ĝ_i, Ĝ_j⟩ / B` (Ĝ = G/‖G‖, G = AᵀA over positions).
    /// It pushes the items of a batch apart (Lucid uses weight 100 with a channel objective).
    public var diversity: Diversity?

    public struct Diversity: Sendable, Equatable {
        public var layer: String
        public var weight: Float
        public init(layer: String, weight: Float = 100) { self.layer = layer; self.weight = weight }
    }

    public init(_ items: [[Term]], diversity: Diversity? = nil) { self.items = items; self.diversity = diversity }

    /// One target for one image.
    public init(_ target: Target) { items = [[Term(1, target)]] }

    /// One image per target (the CLI's repeated `--target`).
    public init(batch targets: [Target]) { items = targets.map { [Term(1, $0)] } }

    public var description: String {
        items.map { terms in
            terms.map { $0.weight == 1 ? $0.target.description : "\($0.weight)·\($0.target)" }.joined(separator: " + ")
        }.joined(separator: " | ")
    }
}

extension Objective {
    /// Resolves a ``Goal`` on `graph`: the `[B]` value holds item b's weighted sum, computed
    /// on item b of the batch.
    public init(_ goal: Goal, on graph: Graph, border: Int = 0) throws {
        guard !goal.items.isEmpty, goal.items.allSatisfy({ !$0.isEmpty }) else {
            throw AscentError.invalid("a goal needs at least one target per batch item")
        }
        if goal.items.count == 1, goal.items[0].count == 1, goal.items[0][0].weight == 1, goal.diversity == nil {
            self = try Objective(goal.items[0][0].target, on: graph, border: border)
            return
        }
        // Resolve each distinct target once, each on the graph the previous one extended.
        var g = graph
        var resolved: [Target: Objective] = [:]
        var summaries: [String] = []
        for terms in goal.items {
            for term in terms where resolved[term.target] == nil {
                let o = try Objective(term.target, on: g, border: border)
                g = o.graph
                resolved[term.target] = o
                summaries.append(o.summary)
            }
        }
        var b = ObjectiveBuilder(g)
        func emit(_ op: String, _ inputs: [String], _ attrs: [String: Attribute] = [:]) -> String { b.emit(op, inputs, attrs) }
        func constant(_ t: Tensor) -> String { b.constant(t) }
        // value = Σ_target objective_target ⊙ weights_target, where weights_target[b] is the
        // weight of that target in item b (0 when item b does not use it): elementwise, so
        // the batch axis stays symbolic.
        var total: String?
        for (target, o) in resolved.sorted(by: { $0.key.description < $1.key.description }) {
            var weights = [Float](repeating: 0, count: goal.items.count)
            for (b, terms) in goal.items.enumerated() {
                for term in terms where term.target == target { weights[b] += term.weight }
            }
            let v = emit(OpDefinition.mul.name, [o.value, constant(Tensor(shape: [weights.count], scalars: weights))])
            total = total.map { emit(OpDefinition.add.name, [$0, v]) } ?? v
        }
        value = total!
        if let diversity = goal.diversity {
            // Each item's value carries −λ·diversity/B, so the sum over the batch (what the
            // gradient sees) is Σ objectives − λ·diversity.
            let types = try graph.inferTypes()
            let a = try Objective.resolveValue(diversity.layer, in: graph, types: types)
            guard let t = types[a], let shape = t.shape, shape.rank >= 3, let layout = t.layout, layout.rank == shape.rank,
                  let channels = shape.dims[layout.channelAxis].value else {
                throw AscentError.invalid("diversity needs a feature map with a known channel axis; '\(a)' is \(types[a].map { "\($0)" } ?? "unknown")")
            }
            var features = a
            if layout.channelAxis != shape.rank - 1 {
                let perm = (0..<shape.rank).filter { $0 != layout.channelAxis } + [layout.channelAxis]
                features = emit(OpDefinition.transpose.name, [a], ["perm": .ints(perm)])
            }
            let flat = emit(OpDefinition.reshape.name, [features, constant(Tensor(shape: [3], scalars: [Int64(0), -1, Int64(channels)]))])
            let gram = emit(OpDefinition.matMul.name, [emit(OpDefinition.transpose.name, [flat], ["perm": .ints([0, 2, 1])]), flat])
            let squared = emit(OpDefinition.reduceSum.name, [emit(OpDefinition.mul.name, [gram, gram])], ["axes": .ints([1, 2]), "keepdims": .int(1)])
            let norm = emit(OpDefinition.sqrt.name, [emit(OpDefinition.add.name, [squared, constant(Tensor(scalar: Float(1e-10)))])])
            let unit = emit(OpDefinition.div.name, [gram, norm])
            let summed = emit(OpDefinition.reduceSum.name, [unit], ["axes": .ints([0]), "keepdims": .int(0)])
            let all = emit(OpDefinition.reduceSum.name, [emit(OpDefinition.mul.name, [summed, summed])], ["axes": .ints([0, 1]), "keepdims": .int(0)])
            let own = emit(OpDefinition.reduceSum.name, [emit(OpDefinition.mul.name, [unit, unit])], ["axes": .ints([0, 1, 2]), "keepdims": .int(0)])
            let batch = Float(goal.items.count)
            let penalty = emit(OpDefinition.mul.name, [emit(OpDefinition.sub.name, [all, own]), constant(Tensor(scalar: diversity.weight / (batch * batch)))])
            value = emit(OpDefinition.sub.name, [value, penalty])
        }
        source = resolved[goal.items[0][0].target]!.source
        summary = goal.description + (summaries.count == 1 ? " (\(summaries[0]))" : "")
            + (goal.diversity.map { " − \($0.weight)·diversity('\($0.layer)')" } ?? "")
        self.graph = b.graph
    }
}
