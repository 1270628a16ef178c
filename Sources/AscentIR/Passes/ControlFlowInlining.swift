/// Replaces control-flow nodes by what they do for known conditions and trip counts: an `If` by
/// the nodes of its taken branch, a `Loop` by its body written out once per iteration, a `Scan` by
/// its body once per slice. The result has only ordinary nodes where the control flow was, so the
/// gradient builder differentiates it like any graph (the gradient of an `If` is that of its taken
/// branch; of a `Loop` or `Scan`, backpropagation through the iterations).
///
/// The nested graphs' values get fresh names (`<node>/<value>`, `<node>/<iteration>/<value>`); the
/// node's outputs keep their names (an Identity, a Concat of the stacked scan outputs). Nested
/// control flow inside a branch or body comes up to the graph's level and is decided on the next
/// round (see `ControlFlowResolution` in the runtime, which finds the values).
public enum ControlFlowInlining {
    /// What to do with one control-flow node.
    public enum Decision: Sendable {
        /// `If`: the branch taken (true: `then_branch`).
        case branch(Bool)
        /// `Loop`: the number of iterations; `Scan`: the number of slices.
        case iterations(Int)
    }

    /// `graph` with the nodes named by the index in `decisions` replaced as decided.
    public static func apply(_ graph: Graph, _ decisions: [Int: Decision]) throws -> Graph {
        var copy = graph
        copy.nodes = []
        let builder = GraphBuilder(copy, reserved: Set(graph.nodes.flatMap(\.outputs)))
        for (index, node) in graph.nodes.enumerated() {
            guard let decision = decisions[index] else {
                builder.add(node)
                continue
            }
            do {
                switch decision {
                case .branch(let taken):
                    let a = try IfAttributes(node)
                    let outs = inline(taken ? a.thenBranch : a.elseBranch, inputs: Array(node.inputs.dropFirst()),
                                      prefix: node.name, into: builder)
                    for (o, v) in zip(node.outputs, outs) where !o.isEmpty {
                        builder.add(Node(name: node.name, op: OpDefinition.identity.name, inputs: [v], outputs: [o]))
                    }
                case .iterations(let count):
                    if node.is(.loop) { try unrollLoop(node, count, builder) } else { try unrollScan(node, count, builder) }
                }
            } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("node \(node.label)") : e
            }
        }
        return builder.graph
    }

    /// Adds the nodes of `g` reading `inputs` (one per input of `g`) under fresh names; returns the
    /// names of its outputs.
    static func inline(_ g: Graph, inputs: [String], prefix: String, into builder: GraphBuilder) -> [String] {
        var names: [String: String] = [:]
        for (info, outer) in zip(g.inputs, inputs) { names[info.name] = outer }
        for (name, t) in g.initializers.sorted(by: { $0.key < $1.key }) where names[name] == nil {
            names[name] = builder.constant(t, name: "\(prefix)/\(name)")
        }
        for node in g.nodes {
            var copy = node
            copy.inputs = node.inputs.map { $0.isEmpty ? "" : names[$0] ?? $0 }
            copy.outputs = node.outputs.map { o in
                guard !o.isEmpty else { return "" }
                let fresh = builder.fresh("\(prefix)/\(o)")
                names[o] = fresh
                return fresh
            }
            copy.name = "\(prefix)/\(node.name)"
            builder.add(copy)
        }
        return g.outputs.map { names[$0.name] ?? $0.name }
    }

    /// `values` (each of one shape) stacked along a new `axis` into `output`.
    static func stack(_ values: [String], axis: Int, output: String, name: String, _ builder: GraphBuilder) {
        let axes = builder.constant(ints: [axis], name: "\(name)/axes")
        let parts = values.map { builder.emit(.unsqueeze, [$0, axes], name: name) }
        builder.add(Node(name: name, op: OpDefinition.concat.name, inputs: parts, outputs: [output], attributes: ["axis": .int(axis)]))
    }

    static func unrollLoop(_ node: Node, _ count: Int, _ builder: GraphBuilder) throws {
        let a = try LoopAttributes(node)
        let carried = node.inputs.count - 2 - a.captured
        let scanCount = node.outputs.count - carried
        guard count > 0 || scanCount == 0 else { throw AscentError.invalid("a loop of 0 iterations with scan outputs is not unrolled") }
        var values = Array(node.inputs[2..<2 + carried])
        let outer = Array(node.inputs[(2 + carried)...])
        let yes = builder.constant(Tensor(scalar: true), name: "\(node.name)/cond")
        var scans = Array(repeating: [String](), count: scanCount)
        for i in 0..<count {
            let iteration = builder.constant(Tensor(scalar: Int64(i)), name: "\(node.name)/\(i)/iteration")
            let outs = inline(a.body, inputs: [iteration, yes] + values + outer, prefix: "\(node.name)/\(i)", into: builder)
            values = Array(outs[1..<1 + carried])
            for k in 0..<scanCount { scans[k].append(outs[1 + carried + k]) }
        }
        for (o, v) in zip(node.outputs.prefix(carried), values) where !o.isEmpty {
            builder.add(Node(name: node.name, op: OpDefinition.identity.name, inputs: [v], outputs: [o]))
        }
        for (o, slices) in zip(node.outputs.dropFirst(carried), scans) where !o.isEmpty {
            stack(slices, axis: 0, output: o, name: node.name, builder)
        }
    }

    static func unrollScan(_ node: Node, _ count: Int, _ builder: GraphBuilder) throws {
        let a = try ScanAttributes(node)
        let layout = try ScanLayout(a, inputs: node.inputs.count, outputs: node.outputs.count)
        guard count > 0 || layout.scanOutputs == 0 else { throw AscentError.invalid("a scan of 0 slices with scan outputs is not unrolled") }
        let n = layout.state
        var state = Array(node.inputs[0..<n])
        let scanned = Array(node.inputs[n..<n + layout.scanInputs])
        let outer = Array(node.inputs[(n + layout.scanInputs)...])
        var axes: [Int] = []
        for (j, x) in scanned.enumerated() {
            guard let rank = builder.type(x)?.shape?.rank else { throw AscentError.invalid("the rank of scan input '\(x)' is unknown") }
            axes.append(try layout.inputAxis(j, rank: rank))
        }
        var scans = Array(repeating: [String](), count: layout.scanOutputs)
        for t in 0..<count {
            let elements = scanned.enumerated().map { j, x in
                let index = builder.constant(Tensor(scalar: Int64(layout.inputReversed(j) ? count - 1 - t : t)), name: "\(node.name)/\(t)/index")
                return builder.emit(.gather, [x, index], ["axis": .int(axes[j])], name: "\(node.name)/\(t)")
            }
            let outs = inline(a.body, inputs: state + elements + outer, prefix: "\(node.name)/\(t)", into: builder)
            state = Array(outs[0..<n])
            for k in 0..<layout.scanOutputs { scans[k].append(outs[n + k]) }
        }
        for (o, v) in zip(node.outputs.prefix(n), state) where !o.isEmpty {
            builder.add(Node(name: node.name, op: OpDefinition.identity.name, inputs: [v], outputs: [o]))
        }
        for (k, (o, slices)) in zip(node.outputs.dropFirst(n), scans).enumerated() where !o.isEmpty {
            guard let rank = builder.type(slices[0])?.shape?.rank else { throw AscentError.invalid("the rank of scan output '\(o)' is unknown") }
            let axis = try layout.outputAxis(k, rank: rank + 1)
            stack(layout.outputReversed(k) ? slices.reversed() : slices, axis: axis, output: o, name: node.name, builder)
        }
    }
}
