/// What inference knows about the values of a graph: their types, the values of constants, and the
/// symbolic values of small integer tensors (sizes).
public struct ValueFacts: Sendable {
    public var types: [String: ValueType] = [:]
    public var constants: [String: Tensor] = [:]
    public var symbolic: [String: [Dim]] = [:]

    public init() {}

    /// Facts about a graph's inputs (declared types) and initializers (values).
    public init(_ graph: Graph) {
        for input in graph.inputs { types[input.name] = input.type }
        let inputs = Set(graph.inputs.map(\.name))
        for (name, t) in graph.initializers {
            if types[name] == nil { types[name] = ValueType(t.dtype, Shape(t.shape)) }
            if !inputs.contains(name) { constants[name] = t }  // an input with a default may be overridden
        }
    }

    /// The shape-rule context for `node`.
    public func context(for node: Node) -> ShapeContext {
        ShapeContext(node: node,
                     inputTypes: node.inputs.map { $0.isEmpty ? nil : types[$0] },
                     constantInputs: node.inputs.map { $0.isEmpty ? nil : constants[$0] },
                     symbolicInputs: node.inputs.map { $0.isEmpty ? nil : symbolic[$0] })
    }

    /// Runs `definition`'s rules on `node` and records its outputs' types and symbolic values.
    /// `declared` types fill in what the rule leaves unknown (declared shapes are hints: a
    /// computed size wins over a declared one).
    public mutating func infer(_ node: Node, _ definition: OpDefinition, declared: [String: ValueType] = [:]) throws {
        let ctx = context(for: node)
        if !definition.traits.contains(.valueKinds) {
            for (i, t) in ctx.inputTypes.enumerated() where t.map({ !$0.isTensor }) ?? false {
                throw AscentError.invalid("\(definition.name) takes tensors; input '\(node.inputs[i])' is \(t!)")
            }
        }
        let inferred = try definition.shape(ctx)
        let values = try definition.values?(ctx)
        for (i, o) in node.outputs.enumerated() where !o.isEmpty {
            let t = i < inferred.count ? inferred[i] : nil
            if let merged = ValueFacts.merge(inferred: t, declared: declared[o]) { types[o] = merged }
            if let v = values, i < v.count, let dims = v[i] {
                symbolic[o] = dims
                if dims.allSatisfy({ $0.value != nil }), let t = types[o], t.dtype == .int64, let s = t.shape?.concrete,
                   s.count <= 1, Shape.product(s) == dims.count {
                    constants[o] = Tensor(shape: s, scalars: dims.map { Int64($0.value!) })
                }
            }
        }
        if node.op == OpDefinition.constant.name, let t = node.attributes["value"]?.tensor, let o = node.outputs.first {
            constants[o] = t
        }
    }

    /// Combines an inferred type with a declared one: computed sizes win, declared sizes and
    /// symbols name what inference leaves unknown, and the inferred layout wins.
    public static func merge(inferred: ValueType?, declared: ValueType?) -> ValueType? {
        guard let inferred else { return declared }
        guard let declared, let ds = declared.shape else { return inferred }
        guard declared.kind == inferred.kind else { return inferred }
        guard let s = inferred.shape else { return ValueType(inferred.dtype, ds, layout: inferred.layout ?? declared.layout, kind: inferred.kind) }
        guard s.rank == ds.rank else { return inferred }
        let dims = zip(s.dims, ds.dims).map { (i, d) -> Dim in
            if case .unknown = i { return d }
            return i
        }
        return ValueType(inferred.dtype, Shape(dims), layout: inferred.layout ?? declared.layout, kind: inferred.kind)
    }
}
