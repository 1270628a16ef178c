extension Graph {
    /// The graph cut at an intermediate value: `name` (a value, or a node's name for its first
    /// output) becomes a graph input of its inferred type (layout tag included), what only
    /// computed it is dropped, and so are the inputs nothing reads any more. Probing a token
    /// model through its embedding: the embedding's output is what is optimized, the token
    /// input stays only where something else (a mask) still reads it.
    /// - Returns: the cut graph and the name of the new input.
    /// - Throws: `.invalidData` for an unknown name (with the closest names), a value that is a
    ///   constant, or one of unknown shape.
    public func cutting(at name: String) throws -> (graph: Graph, input: String) {
        if inputs.contains(where: { $0.name == name }) { return (self, name) }
        let types = try inferTypes()
        var value = name
        if types[name] == nil, let node = nodes.last(where: { $0.name == name }), let out = node.outputs.first(where: { !$0.isEmpty }) {
            value = out
        }
        guard let type = types[value], initializers[value] == nil, let producer = producers[value] else {
            throw AscentError.invalid("no input or value '\(name)'" + NameSuggestions.hint(for: name, among: layerNameCandidates(types: types))
                                      + " (ascent inspect --names lists them)")
        }
        guard type.shape != nil else { throw AscentError.invalid("value '\(value)' has an unknown shape: it cannot be made an input") }
        var g = self
        var used = Set(nodes.flatMap(\.outputs)).union(initializers.keys).union(inputs.map(\.name))
        var cut = value + "/cut"
        while used.contains(cut) { cut += "_" }
        used.insert(cut)
        g.nodes[producer].outputs = g.nodes[producer].outputs.map { $0 == value ? cut : $0 }
        g.valueInfo[value] = nil
        g.inputs.append(ValueInfo(name: value, type: type))
        g = GraphCleanup.removeDead(g)
        let read = Set(g.nodes.flatMap(\.inputs)).union(g.outputs.map(\.name))
        g.inputs = g.inputs.filter { read.contains($0.name) }
        return (g, value)
    }

    /// The table `[V, D]` (a floating-point constant) whose rows `value` looks up by an integer
    /// index (`Gather` on axis 0: an embedding), or nil.
    public func lookupTable(of value: String) -> Tensor? {
        guard let p = producers[value], nodes[p].is(.gather), (nodes[p].attributes["axis"]?.int ?? 0) == 0,
              let table = initializers[nodes[p].inputs[0]], table.shape.count == 2, table.dtype.isFloatingPoint
        else { return nil }
        return table
    }
}
