/// Replaces nodes by their ops' decompositions (``OpDefinition/decomposition``): for gradients of
/// ops that have no rule of their own, and for ONNX export at opsets that predate an op.
public enum Decomposer {
    /// `graph` with every node for which `select` holds (and whose op has a decomposition) written
    /// out in other ops. The node's outputs keep their names; added values are named after the node.
    public static func expand(_ graph: Graph, where select: (Node) -> Bool) throws -> Graph {
        var base = graph
        base.nodes = []
        let builder = GraphBuilder(base, reserved: Set(graph.nodes.flatMap(\.outputs)))
        for node in graph.nodes {
            guard select(node), let decomposition = node.definition?.decomposition else {
                builder.add(node)
                continue
            }
            builder.nodeName = node.name
            let outputs: [ValueRef?]
            do { outputs = try decomposition(OpContext(node: node, builder: builder)) } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("decomposing node \(node.label)") : e
            }
            for (i, name) in node.outputs.enumerated() where !name.isEmpty {
                guard i < outputs.count, let value = outputs[i] else {
                    throw AscentError.invalid("the decomposition of \(node.op) gives no output \(i)").within("node \(node.label)")
                }
                rename(value.name, to: name, in: builder)
            }
        }
        var out = builder.graph
        out.outputs = graph.outputs
        return out
    }

    /// Makes the value `from` (just computed by the decomposition) available as `to`: its
    /// producing node writes `to` directly when nothing else reads it, else an Identity copies it.
    public static func rename(_ from: String, to: String, in builder: GraphBuilder) {
        let readers = builder.graph.nodes.contains { $0.inputs.contains(from) }
        if !readers, let i = builder.graph.nodes.lastIndex(where: { $0.outputs.contains(from) }) {
            let k = builder.graph.nodes[i].outputs.firstIndex(of: from)!
            builder.graph.nodes[i].outputs[k] = to
            builder.reserve(to)
            builder.refresh(builder.graph.nodes[i])
            return
        }
        builder.add(Node(name: builder.nodeName, op: OpDefinition.identity.name, inputs: [from], outputs: [to]))
    }
}
