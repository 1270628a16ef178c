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
    public func inferTypes() throws -> [String: ValueType] {
        var types: [String: ValueType] = [:]
        for input in inputs { types[input.name] = input.type }
        for (name, t) in initializers where types[name] == nil {
            types[name] = ValueType(t.dtype, Shape(t.shape))
        }
        let declared = outputs.reduce(into: valueInfo) { $0[$1.name] = $1.type }
        for node in nodes {
            guard let schema = OpRegistry.schema(node.op) else {
                for o in node.outputs where !o.isEmpty { if let d = declared[o] { types[o] = d } }
                continue
            }
            let ctx = InferenceContext(
                node: node,
                inputTypes: node.inputs.map { $0.isEmpty ? nil : types[$0] },
                constantInputs: node.inputs.map { $0.isEmpty ? nil : initializers[$0] })
            let inferred: [ValueType?]
            do {
                inferred = try schema.infer(ctx)
            } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("node \(node.label)") : e
            }
            for (i, o) in node.outputs.enumerated() where !o.isEmpty {
                let t = i < inferred.count ? inferred[i] : nil
                types[o] = Graph.merge(inferred: t, declared: declared[o])
            }
        }
        return types
    }

    /// Combines an inferred type with a declared one: known dims win, symbols from the
    /// declaration name unknown dims, and the inferred layout wins.
    static func merge(inferred: ValueType?, declared: ValueType?) -> ValueType? {
        guard let inferred else { return declared }
        guard let declared, let ds = declared.shape else { return inferred }
        guard let s = inferred.shape else { return ValueType(inferred.dtype, ds, layout: inferred.layout ?? declared.layout) }
        guard s.rank == ds.rank else { return inferred }
        let dims = zip(s.dims, ds.dims).map { (i, d) -> Dim in
            if case .known = i { return i }
            if case .unknown = i { return d }
            return i
        }
        return ValueType(inferred.dtype, Shape(dims), layout: inferred.layout ?? declared.layout)
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
            if let schema = OpRegistry.schema(node.op) {
                let nIn = node.inputs.count, nOut = node.outputs.count
                guard schema.inputs.contains(nIn) else {
                    throw AscentError.invalid("has \(nIn) inputs, \(node.op) takes \(Graph.arity(schema.inputs))")
                        .within("node \(node.label)")
                }
                guard schema.outputs.contains(nOut) else {
                    throw AscentError.invalid("has \(nOut) outputs, \(node.op) gives \(Graph.arity(schema.outputs))")
                        .within("node \(node.label)")
                }
                for spec in schema.attributes where spec.required && node.attributes[spec.name] == nil {
                    throw AscentError.invalid("missing attribute '\(spec.name)'").within("node \(node.label)")
                }
            }
            for output in node.outputs where !output.isEmpty { try define(output, by: "node \(node.label)") }
        }
        for output in outputs where !defined.contains(output.name) {
            throw AscentError.invalid("graph output '\(output.name)' is not defined")
        }
        let types = try inferTypes()
        for (name, declared) in valueInfo.merging(outputs.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }) {
            guard let inferred = types[name], let si = inferred.shape, let sd = declared.shape else { continue }
            let conflict = si.rank != sd.rank || zip(si.dims, sd.dims).contains { a, b in
                if case .known(let x) = a, case .known(let y) = b { return x != y }
                return false
            }
            if conflict || inferred.dtype != declared.dtype {
                throw AscentError.invalid("value '\(name)' is declared \(declared) but computes \(inferred)")
            }
        }
    }

    static func arity(_ r: ClosedRange<Int>) -> String {
        if r.lowerBound == r.upperBound { return "\(r.lowerBound)" }
        if r.upperBound == Int.max { return "\(r.lowerBound) or more" }
        return "\(r.lowerBound) to \(r.upperBound)"
    }
}
