/// Builds or rewrites a graph node by node: fresh value names that clash with nothing, constants,
/// and the types (and symbolic sizes) of every value as it goes, from the ops' shape rules.
///
/// The one builder the importers, the gradient pass, the graph passes and the ONNX exporter share.
/// Nodes go through ``add(_:)``; ``emit(_:_:_:name:output:)`` makes a one-output node and returns
/// its value's name; ``value(_:)`` wraps a name as a ``ValueRef`` for writing arithmetic as
/// expressions.
public final class GraphBuilder {
    public var graph: Graph
    /// What is known of every value so far.
    public private(set) var facts: ValueFacts
    private var names: UniqueNames
    /// Names made unique with a suffix, and the name each was meant to have.
    public var suffixed: [String: String] { names.suffixed }
    /// Node name given to nodes made by ``emit`` when no name is passed.
    public var nodeName: String = ""
    /// Declared types that fill in what the shape rules leave unknown.
    public var declared: [String: ValueType] = [:]

    /// A builder that continues `graph`; `reserved` names are never handed out.
    public init(_ graph: Graph, reserved: Set<String> = []) {
        self.graph = graph
        facts = ValueFacts(graph)
        names = UniqueNames(graph)
        for name in reserved { names.reserve(name) }
        declared = graph.outputs.reduce(into: graph.valueInfo) { $0[$1.name] = $1.type }
        for node in graph.nodes { record(node) }
    }

    /// An empty graph named `name`.
    public convenience init(name: String) { self.init(Graph(name: name)) }

    /// The type of `value` when known.
    public func type(_ value: String) -> ValueType? { facts.types[value] }
    /// The value of `value` when it is a constant.
    public func constantValue(_ value: String) -> Tensor? { facts.constants[value] }
    /// The types of all values so far.
    public var types: [String: ValueType] { facts.types }

    /// A value name not used yet, based on `base` (`base`, `base_1`, `base_2`...).
    public func fresh(_ base: String) -> String { names.fresh(base) }

    /// Marks `name` as taken.
    public func reserve(_ name: String) { names.reserve(name) }

    /// Adds a graph input.
    public func addInput(_ name: String, _ type: ValueType) {
        names.reserve(name)
        graph.inputs.append(ValueInfo(name: name, type: type))
        facts.types[name] = type
    }

    /// Adds a constant (an initializer) under a fresh name based on `base`; returns the name. With
    /// `reuse`, an equal constant already held under `base` is returned instead (a shared layer's
    /// weights at its second call site).
    @discardableResult
    public func constant(_ tensor: Tensor, name base: String, reuse: Bool = false) -> String {
        if reuse, let existing = graph.initializers[base], existing.bitwiseEqual(tensor) { return base }
        let name = fresh(base)
        graph.initializers[name] = tensor
        facts.types[name] = ValueType(tensor.dtype, Shape(tensor.shape))
        facts.constants[name] = tensor
        if tensor.dtype.isInteger, tensor.shape.count <= 1 {
            facts.symbolic[name] = tensor.int64s().map { .known(Int($0)) }
        }
        return name
    }

    /// Records again the type and value of initializer `name` after a pass replaced it.
    public func refreshConstant(_ name: String) {
        guard let t = graph.initializers[name] else { return }
        facts.types[name] = ValueType(t.dtype, Shape(t.shape))
        facts.constants[name] = t
    }

    /// Adds a 1-D int64 constant.
    @discardableResult
    public func constant(ints: [Int], name: String) -> String {
        constant(Tensor(shape: [ints.count], scalars: ints.map { Int64($0) }), name: name)
    }

    /// Adds a float32 scalar constant.
    @discardableResult
    public func constant(scalar: Float, name: String) -> String {
        constant(Tensor(scalar: scalar), name: name)
    }

    /// Appends `node` (its outputs must be fresh names) and records its outputs' types. A shape
    /// rule that fails leaves them unknown (``Graph/validate(limits:)`` reports it with the node).
    public func add(_ node: Node) {
        for o in node.outputs where !o.isEmpty { names.reserve(o) }
        graph.nodes.append(node)
        record(node)
    }

    /// Like ``add(_:)``, but a shape rule that fails throws, naming the node.
    public func addChecked(_ node: Node) throws {
        for o in node.outputs where !o.isEmpty { names.reserve(o) }
        graph.nodes.append(node)
        guard let def = OpRegistry.definition(node.op), !node.isUnsupported else { return }
        do { try facts.infer(node, def, declared: declared) } catch let e as AscentError {
            throw e.context.isEmpty ? e.within("node \(node.label)") : e
        }
    }

    /// Adds a one-output node of `op` and returns its output's name (`output`, or
    /// `<node name>/<op>` made fresh).
    @discardableResult
    public func emit(_ op: OpDefinition, _ inputs: [String], _ attributes: [String: Attribute] = [:],
                     name: String? = nil, output: String? = nil) -> String {
        let nodeName = name ?? self.nodeName
        let out = fresh(output ?? (nodeName.isEmpty ? op.name : "\(nodeName)/\(op.name)"))
        add(Node(name: nodeName, op: op.name, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    /// `value` as a handle for writing expressions (`x * y + 1`).
    public func value(_ name: String) -> ValueRef { ValueRef(name, self) }

    /// Records `node`'s outputs again (after a pass renamed them).
    public func refresh(_ node: Node) { record(node) }

    private func record(_ node: Node) {
        guard !node.isUnsupported, let def = OpRegistry.definition(node.op) else {
            for o in node.outputs where !o.isEmpty { if let d = declared[o] { facts.types[o] = d } }
            return
        }
        do { try facts.infer(node, def, declared: declared) } catch {
            for o in node.outputs where !o.isEmpty { if let d = declared[o] { facts.types[o] = d } }
        }
    }
}
