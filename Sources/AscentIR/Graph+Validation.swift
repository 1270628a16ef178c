extension Graph {
    /// Limits the validator enforces on graphs from untrusted files.
    public struct Limits: Sendable {
        public var maxNodes: Int
        public init(maxNodes: Int = 1_000_000) { self.maxNodes = maxNodes }
    }

    /// Infers the type of every value, node by node, from the graph inputs and initializers.
    ///
    /// Declared types (``valueInfo``, graph outputs) fill in what a rule cannot infer.
    /// Unsupported nodes produce unknown types, so inference goes on past them.
    /// - Throws: ``AscentError`` naming the node whose shape rule fails.
    public func inferTypes() throws -> [String: ValueType] { try inferFacts().types }

    /// Infers types, constants and symbolic values of every value (see ``ValueFacts``).
    public func inferFacts() throws -> ValueFacts { try inferFacts(from: ValueFacts(self)) }

    /// Infers facts node by node, starting from `facts` (a nested graph's inputs typed, and
    /// valued where constant, as its node's inputs are).
    public func inferFacts(from start: ValueFacts) throws -> ValueFacts {
        var facts = start
        let declared = outputs.reduce(into: valueInfo) { $0[$1.name] = $1.type }
        for node in nodes {
            guard !node.isUnsupported, let definition = node.definition else {
                for o in node.outputs where !o.isEmpty { if let d = declared[o] { facts.types[o] = d } }
                continue
            }
            do {
                try facts.infer(node, definition, declared: declared)
            } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("node \(node.label)") : e
            }
        }
        return facts
    }

    /// Checks the graph is well formed:
    /// - every value has one definition (graph input, initializer or one node output);
    /// - nodes are in topological order (no use before definition, no cycles);
    /// - every node input and graph output is defined;
    /// - each supported node has an allowed number of inputs and outputs and its required attributes;
    /// - shape rules accept the inputs, and inferred types agree with declared ones.
    ///
    /// Unsupported nodes are not errors here (import keeps them); running refuses them.
    /// - Throws: the first problem, as ``AscentError`` `.invalidData` naming the node or value.
    public func validate(limits: Limits = Limits()) throws {
        guard nodes.count <= limits.maxNodes else {
            throw AscentError.invalid("graph has \(nodes.count) nodes, more than the limit of \(limits.maxNodes)")
        }
        var defined: Set<String> = []
        func define(_ name: String, by what: String) throws {
            guard !name.isEmpty else { throw AscentError.invalid("\(what) defines a value with an empty name") }
            guard defined.insert(name).inserted else { throw AscentError.invalid("value '\(name)' is defined twice (again by \(what))") }
        }
        for input in inputs { try define(input.name, by: "graph input") }
        for name in initializers.keys.sorted() where !inputs.contains(where: { $0.name == name }) {
            try define(name, by: "initializer")
        }
        let producedLater = Set(nodes.flatMap(\.outputs))
        for node in nodes {
            for input in node.inputs where !input.isEmpty && !defined.contains(input) {
                if producedLater.contains(input) {
                    _ = try topologicallySorted() // throws on a cycle
                    throw AscentError.invalid("value '\(input)' is used before it is defined (nodes not in topological order)")
                        .within("node \(node.label)")
                }
                throw AscentError.invalid("input '\(input)' is not defined").within("node \(node.label)")
            }
            if let definition = node.definition {
                let nIn = node.inputs.count, nOut = node.outputs.count
                guard definition.inputs.contains(nIn) else {
                    throw AscentError.invalid("has \(nIn) inputs, \(node.op) takes \(Graph.arity(definition.inputs))")
                        .within("node \(node.label)")
                }
                guard definition.outputs.contains(nOut) else {
                    throw AscentError.invalid("has \(nOut) outputs, \(node.op) gives \(Graph.arity(definition.outputs))")
                        .within("node \(node.label)")
                }
                for spec in definition.attributes where spec.required && node.attributes[spec.name] == nil {
                    throw AscentError.invalid("missing attribute '\(spec.name)'").within("node \(node.label)")
                }
            }
            for (attribute, g) in node.subgraphs {
                do { try g.validate(limits: limits) } catch let e as AscentError {
                    throw e.within("attribute '\(attribute)'").within("node \(node.label)")
                }
            }
            for output in node.outputs where !output.isEmpty { try define(output, by: "node \(node.label)") }
        }
        for output in outputs where !defined.contains(output.name) {
            throw AscentError.invalid("graph output '\(output.name)' is not defined")
        }
        if let (name, declared, inferred) = try declarationConflicts().first {
            throw AscentError.invalid("value '\(name)' is declared \(declared) but computes \(inferred)")
        }
    }

    /// The declared types (``valueInfo`` and graph outputs) that disagree with what the shape
    /// rules compute: another dtype, another rank, or a known size where another is computed (both
    /// with a shape; a declaration without one is not checked).
    /// Sorted by name.
    public func declarationConflicts() throws -> [(name: String, declared: ValueType, computed: ValueType)] {
        let types = try inferTypes()
        var conflicts: [(name: String, declared: ValueType, computed: ValueType)] = []
        for (name, declared) in valueInfo.merging(outputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }) {
            if let inferred = types[name], inferred.kind != declared.kind {
                conflicts.append((name, declared, inferred))
                continue
            }
            // A declaration without a shape (or a value inferred without one) is not checked.
            guard let inferred = types[name], let si = inferred.shape, let sd = declared.shape else { continue }
            let conflict = inferred.dtype != declared.dtype || si.rank != sd.rank || zip(si.dims, sd.dims).contains { a, b in
                if case .known(let x) = a, case .known(let y) = b { return x != y }
                return false
            }
            if conflict { conflicts.append((name, declared, inferred)) }
        }
        return conflicts.sorted { $0.name < $1.name }
    }

    /// The graph with every declaration that disagrees with the computed type (see
    /// ``declarationConflicts()``) replaced by the computed type (a `value_info` entry dropped, a
    /// graph output retyped): declared shapes are hints, as exporters write stale and partial ones.
    /// Returns one note per replaced declaration (`value '387' is declared float32[1,seqlen] but
    /// computes float32[?,?,?]; the computed type is used`).
    public func reconcilingDeclarations() throws -> (graph: Graph, notes: [String]) {
        var graph = self, replaced: [(name: String, declared: ValueType)] = []
        let order = producers
        // One at a time, the earliest in the graph first: a stale hint upstream can make a later
        // declaration look wrong, and dropping it may settle that one.
        while let first = try graph.declarationConflicts().min(by: { (order[$0.name] ?? -1) < (order[$1.name] ?? -1) }) {
            replaced.append((first.name, first.declared))
            graph.valueInfo[first.name] = nil
            // An output keeps only its computed dtype as a hint until the final inference below.
            for i in graph.outputs.indices where graph.outputs[i].name == first.name {
                graph.outputs[i].type = ValueType(first.computed.dtype, nil, kind: first.computed.kind)
            }
        }
        guard !replaced.isEmpty else { return (graph, []) }
        let types = try graph.inferTypes()
        for i in graph.outputs.indices where replaced.contains(where: { $0.name == graph.outputs[i].name }) {
            graph.outputs[i].type = types[graph.outputs[i].name] ?? graph.outputs[i].type
        }
        let notes = replaced.sorted { $0.name < $1.name }.map { name, declared in
            "value '\(name)' is declared \(declared) but computes \(types[name].map(\.description) ?? "?"); the computed type is used"
        }
        return (graph, notes)
    }

    static func arity(_ r: ClosedRange<Int>) -> String {
        if r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
        if r.upperBound == Int.max { return "\(r.lowerBound) or more" }
        return "\(r.lowerBound) to \(r.upperBound)"
    }
}
