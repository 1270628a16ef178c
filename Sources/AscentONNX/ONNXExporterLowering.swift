import AscentIR

/// Why one node has no ONNX form at the target opset; the lowering driver collects these so that
/// the export error lists every such node at once.
struct ONNXExportRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Rewrites an IR graph into ONNX's forms at one opset, node by node: the result is still an IR
/// graph (every op it uses is an IR op with ONNX's semantics), which ``ONNXExportOptimizer`` then
/// tidies and ``ONNXExporter`` encodes.
///
/// Every op with an ONNX history exports: as it is when the target opset has the op, in its older
/// form where the history records one (``ONNXChange``: inputs that were attributes, attributes and
/// inputs added later, named conversions), or as its decomposition when the op is newer than the
/// target; onnxruntime's contrib ops (``OpDefinition/microsoftDomain``) as their decomposition at
/// every opset. The IR's own extensions (channels-last `data_format`, BatchNormalization on another
/// axis, attribute forms of axes) have rules of their own (`ONNXExporterLowering+Families.swift`).
/// Backward primitives and Ascent's own ops are refused with that reason.
///
/// Added values and initializers are named after what they come from (`<value>/channels_first`,
/// `<layer>/scale`); added nodes are named `<node>/<step>`; the node that does a layer's main work
/// keeps the layer's name.
struct ONNXExportLowering {
    typealias Rule = @Sendable (inout ONNXExportLowering, Node) throws -> Void

    let opset: Int
    /// The graph being built, with the types of every value so far.
    let builder: GraphBuilder
    /// Values some source node reads or the graph returns.
    let read: Set<String>
    /// For each source initializer, how many node inputs read it, and how many of those are the
    /// kernel of a channels-last Conv (a kernel read only so is transposed in place).
    let reads: [String: Int]
    let channelsLastKernelReads: [String: Int]
    private var transposedWeights: [String: String] = [:]

    /// Lowers `source` for `opset`.
    /// - Throws: ``AscentError`` `.invalidData` listing every node that cannot be exported.
    static func lower(_ source: Graph, opset: Int) throws -> (graph: Graph, suffixed: [String: String]) {
        try source.validate()
        var lowering = ONNXExportLowering(source: source, opset: opset)
        var problems: [String] = []
        for node in source.nodes {
            do {
                try lowering.lower(node)
            } catch let refusal as ONNXExportRefusal {
                problems.append("\(node.label): \(refusal.reason)")
            }
        }
        lowering.typeOutputs()
        guard problems.isEmpty else {
            let count = problems.count == 1 ? "1 node has" : "\(problems.count) nodes have"
            throw AscentError.invalid("cannot export to ONNX opset \(opset): \(count) no ONNX form: "
                                      + problems.joined(separator: "; "))
        }
        return (lowering.builder.graph, lowering.builder.suffixed)
    }

    private init(source: Graph, opset: Int) {
        self.opset = opset
        builder = GraphBuilder(Graph(name: source.name, inputs: source.inputs, outputs: source.outputs,
                                     initializers: source.initializers, metadata: source.metadata),
                               reserved: Set(source.nodes.flatMap(\.outputs)))
        var read = Set(source.outputs.map(\.name))
        var reads: [String: Int] = [:], kernelReads: [String: Int] = [:]
        for node in source.nodes {
            read.formUnion(node.inputs)
            for (i, input) in node.inputs.enumerated() where source.initializers[input] != nil {
                reads[input, default: 0] += 1
                if node.is(.conv), i == 1, node.attributes["data_format"]?.string == DataFormat.channelsLast.rawValue {
                    kernelReads[input, default: 0] += 1
                }
            }
        }
        self.read = read
        self.reads = reads
        channelsLastKernelReads = kernelReads
    }

    /// Graph outputs declared without a shape (or with another rank) take the shape inferred.
    mutating func typeOutputs() {
        for i in builder.graph.outputs.indices {
            let o = builder.graph.outputs[i]
            if let inferred = builder.type(o.name)?.shape, o.type.shape == nil || o.type.shape?.rank != inferred.rank {
                builder.graph.outputs[i].type.shape = inferred
            }
        }
    }

    // MARK: - Driver

    /// Lowers one node: its IR-form rule when it has one, else ``write(_:)``.
    mutating func lower(_ node: Node) throws {
        if node.isUnsupported { throw ONNXExportRefusal("unsupported at import") }
        guard let definition = node.definition else { throw ONNXExportRefusal("not an IR op") }
        if definition.traits.contains(.backward) { throw ONNXExportRefusal("gradient-only op") }
        if definition.isInternal { throw ONNXExportRefusal("Ascent's own op, with no ONNX form") }
        if let rule = Self.irForms[definition.name] { return try rule(&self, node) }
        try write(node)
    }

    /// Writes `node` (in ONNX's latest form, IR extensions already lowered) in the target opset's
    /// form: as it is, in an older form, or decomposed when the op is newer than the opset.
    mutating func write(_ node: Node) throws {
        guard let definition = node.definition, let history = definition.onnx else {
            // Contrib ops are written as their decomposition, in standard ONNX.
            if node.definition?.decomposition != nil { return try decompose(node) }
            throw ONNXExportRefusal("no ONNX form")
        }
        guard history.version(atOpset: opset) != nil else {
            guard definition.decomposition != nil else {
                throw ONNXExportRefusal("\(node.op) exists from opset \(history.introduced)")
            }
            return try decompose(node)
        }
        var node = node
        for key in node.attributes.keys where key.hasPrefix("_") { node.attributes[key] = nil }  // private annotations
        for change in history.changes { try apply(change, to: &node, definition) }
        builder.add(node)
    }

    /// Writes `node` as its op's decomposition, each node of which is lowered in turn.
    mutating func decompose(_ node: Node) throws {
        guard let decomposition = node.definition?.decomposition else { throw ONNXExportRefusal("no decomposition") }
        let scratch = GraphBuilder(builder.graph, reserved: read)
        let start = scratch.graph.nodes.count
        scratch.nodeName = node.name
        let outputs: [ValueRef?]
        do { outputs = try decomposition(OpContext(node: node, builder: scratch)) } catch let e as AscentError {
            throw ONNXExportRefusal("cannot decompose: \(e.message)")
        }
        for (i, name) in node.outputs.enumerated() where !name.isEmpty {
            guard i < outputs.count, let value = outputs[i] else { throw ONNXExportRefusal("its decomposition gives no output \(i)") }
            Decomposer.rename(value.name, to: name, in: scratch)
        }
        for (name, t) in scratch.graph.initializers where builder.graph.initializers[name] == nil {
            builder.constant(t, name: name)
        }
        for made in scratch.graph.nodes[start...] {
            for o in made.outputs { builder.reserve(o) }
            try lower(made)
        }
    }

    /// Rewrites `node` for one change of its op's history that concerns the target opset.
    mutating func apply(_ change: ONNXChange, to node: inout Node, _ definition: OpDefinition) throws {
        switch change {
        case let .inputWasAttribute(input, attribute, until):
            if opset < until {
                guard input < node.inputs.count, !node.inputs[input].isEmpty else { return }
                guard let t = constantValue(node.inputs[input]), t.dtype.isInteger else {
                    throw ONNXExportRefusal("\(attribute) computed at run time need opset \(until)")
                }
                node.attributes[attribute] = .ints(t.int64s().map { Int($0) })
                node.inputs[input] = ""
                while node.inputs.last == "" { node.inputs.removeLast() }
            } else if let value = node.attributes.removeValue(forKey: attribute), let ints = value.ints {
                // The IR's attribute form (graphs Ascent builds) → the input of newer opsets.
                while node.inputs.count < input { node.inputs.append("") }
                let name = int64s("\(node.name)/\(attribute)", ints)
                if node.inputs.count == input { node.inputs.append(name) } else if node.inputs[input].isEmpty { node.inputs[input] = name }
            }
        case let .attributeAdded(name, since):
            guard opset < since, let value = node.attributes[name] else { return }
            if let spec = definition.attribute(name), spec.defaultValue == value {
                node.attributes[name] = nil
            } else {
                throw ONNXExportRefusal("attribute '\(name)' = \(value) needs opset \(since)")
            }
        case let .inputAdded(input, since):
            if opset < since, input < node.inputs.count, !node.inputs[input].isEmpty {
                throw ONNXExportRefusal("input \(input) needs opset \(since)")
            }
        case let .conversion(conversion, until):
            if opset < until { try downgrade(conversion, &node) }
        }
    }

    // MARK: - Building

    /// Adds an initializer; returns its name.
    mutating func constant(_ base: String, _ tensor: Tensor) -> String { builder.constant(tensor, name: base) }

    /// Adds a 1-D int64 initializer.
    func int64s(_ base: String, _ values: [Int]) -> String { builder.constant(ints: values, name: base) }

    /// Adds a scalar initializer of `value`'s dtype (float32 when unknown).
    func scalar(_ base: String, _ v: Double, like value: String) -> String {
        builder.constant(Tensor(scalar: v).converted(to: dtype(value) ?? .float32), name: base)
    }

    /// Appends a one-output node of `op`, lowered for the opset; its output is `output`, or a fresh
    /// name based on `base`.
    @discardableResult
    mutating func emit(_ op: OpDefinition, name: String, _ inputs: [String], _ attributes: [String: Attribute] = [:],
                       output: String? = nil, base: String) throws -> String {
        let out = output ?? builder.fresh(base)
        try write(Node(name: name, op: op.name, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    func rank(_ value: String) -> Int? { builder.type(value)?.shape?.rank }
    func dtype(_ value: String) -> DType? { builder.type(value)?.dtype }
    func constantValue(_ value: String) -> Tensor? { value.isEmpty ? nil : builder.graph.initializers[value] }

    /// The weight `w` with its axes permuted by `perm`: an initializer transposed once (in place
    /// when only channels-last Conv kernels read it), else a Transpose node.
    mutating func transposedWeight(_ w: String, perm: [Int], node: String) throws -> String {
        guard let t = constantValue(w) else {
            return try emit(.transpose, name: "\(node)/kernel_to_channels_first", [w], ["perm": .ints(perm)],
                            base: "\(w)/channels_first")
        }
        let key = "\(w)|\(perm)"
        if let done = transposedWeights[key] { return done }
        let value = try t.transposed(perm)
        let name: String
        if reads[w] == channelsLastKernelReads[w], transposedWeights.values.allSatisfy({ $0 != w }) {
            name = w
            builder.graph.initializers[w] = value
            builder.refreshConstant(w)
        } else {
            name = constant("\(w)/channels_first", value)
        }
        transposedWeights[key] = name
        return name
    }
}
