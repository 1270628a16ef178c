import AscentIR

extension Graph {
    /// The graph as it runs for `feeds`, without the control flow those inputs decide: every `If`
    /// whose condition, and every `Loop` or `Scan` whose number of iterations, is known for these
    /// inputs is replaced by the nodes it runs (``ControlFlowInlining``), round after round until
    /// nested control flow is decided too. What gradients are planned on, as they are planned on
    /// the inputs' concrete shapes.
    ///
    /// Conditions and trip counts computed from the inputs' values are found by running the graph
    /// up to them; with `feeds` nil only those known without running (constants, sizes of the
    /// inputs' fixed shapes) decide — what holds for any input of those shapes, as a probe whose
    /// input changes every step needs. A `Loop` stays when its body decides when to stop (a
    /// condition computed in the body) or it has no trip count: the gradient builder then names it.
    public func resolvingControlFlow(feeds: [String: Tensor]?) throws -> Graph {
        var g = self
        while g.hasControlFlow {
            let facts = try g.inferFacts()
            func known(_ name: String) -> Bool { name.isEmpty || facts.constants[name] != nil }
            var wanted: [String] = []
            for node in g.nodes where node.hasSubgraphs {
                let decisive = node.is(.if) ? [node.inputs[0]] : node.is(.loop) ? Array(node.inputs.prefix(2)) : []
                for v in decisive where !known(v) && !wanted.contains(v) { wanted.append(v) }
            }
            var values = facts.constants
            if !wanted.isEmpty, let feeds {
                var probe = g
                probe.outputs = wanted.map { ValueInfo(name: $0, type: facts.types[$0] ?? ValueType(.bool, nil)) }
                let inputs = Set(g.inputs.map(\.name))
                values.merge(try Session(graph: probe).run(feeds.filter { inputs.contains($0.key) })) { a, _ in a }
            }
            var decisions: [Int: ControlFlowInlining.Decision] = [:]
            for (i, node) in g.nodes.enumerated() where node.hasSubgraphs {
                if node.is(.if), let c = values[node.inputs[0]], c.count == 1 {
                    decisions[i] = .branch(c.doubles()[0] != 0)
                } else if node.is(.loop), let m = values[node.inputs[0]], m.count == 1 {
                    let condition = node.inputs[1].isEmpty || (values[node.inputs[1]].map { $0.count == 1 && $0.doubles()[0] != 0 } ?? false)
                    let body = try LoopAttributes(node).body
                    if condition, LoopTripCount.bodyKeepsGoing(body, inputValue: { values[node.inputs[$0]] }) {
                        decisions[i] = .iterations(max(0, Int(m.int64s()[0])))
                    }
                } else if node.is(.scan) {
                    let a = try ScanAttributes(node)
                    let layout = try ScanLayout(a, inputs: node.inputs.count, outputs: node.outputs.count)
                    if let s = facts.types[node.inputs[layout.state]]?.shape, let length = s.dims[try layout.inputAxis(0, rank: s.rank)].value {
                        decisions[i] = .iterations(length)
                    }
                }
            }
            if decisions.isEmpty { break }
            g = try ControlFlowInlining.apply(g, decisions)
        }
        return g
    }
}
