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
/// Added values and initializers are named after what they come from (`<value>/channels_first`,
/// `<layer>/scale`); added nodes are named `<node>/<step>`; the node that does a layer's main work
/// keeps the layer's name.
struct ONNXExportLowering {
    typealias Rule = @Sendable (inout ONNXExportLowering, Node) throws -> Void

    let opset: Int
    /// The graph being built.
    var graph: Graph
    /// Types of the source graph's values and of every value added since.
    var types: [String: ValueType]
    /// Values some source node reads or the graph returns.
    let read: Set<String>
    /// For each source initializer, how many node inputs read it, and how many of those are the
    /// kernel of a channels-last Conv (a kernel read only so is transposed in place).
    let reads: [String: Int]
    let channelsLastKernelReads: [String: Int]
    private var used: Set<String>
    /// Names made unique with a suffix, and the name each was meant to have.
    private(set) var suffixed: [String: String] = [:]
    private var transposedWeights: [String: String] = [:]

    /// The ops only gradient graphs use: they describe a backward pass, not a model.
    static let gradientOps: Set<String> = [
        "ConvGradInput", "ConvGradFilter", "MaxPoolGrad", "AveragePoolGrad", "GlobalAveragePoolGrad",
        "GlobalMaxPoolGrad", "SliceGrad", "SumTo",
    ]

    /// Lowers `source` for `opset`.
    /// - Throws: ``AscentError`` `.invalidData` listing every node that cannot be exported.
    static func lower(_ source: Graph, opset: Int) throws -> (graph: Graph, suffixed: [String: String]) {
        try source.validate()
        var lowering = ONNXExportLowering(source: source, types: try source.inferTypes(), opset: opset)
        var problems: [String] = []
        for node in source.nodes {
            if node.isUnsupported {
                problems.append("\(node.label): unsupported at import")
            } else if gradientOps.contains(node.op) {
                problems.append("'\(node.name)' (\(node.op)): gradient-only op")
            } else if let rule = rules[node.op] {
                do {
                    try rule(&lowering, node)
                } catch let refusal as ONNXExportRefusal {
                    problems.append("'\(node.name)' (\(node.op)): \(refusal.reason)")
                }
            } else {
                problems.append("'\(node.name)' (\(node.op)): no ONNX export rule")
            }
        }
        lowering.typeOutputs()
        guard problems.isEmpty else {
            let count = problems.count == 1 ? "1 node has" : "\(problems.count) nodes have"
            throw AscentError.invalid("cannot export to ONNX opset \(opset): \(count) no ONNX form: "
                                      + problems.joined(separator: "; "))
        }
        return (lowering.graph, lowering.suffixed)
    }

    private init(source: Graph, types: [String: ValueType], opset: Int) {
        self.opset = opset
        self.types = types
        graph = Graph(name: source.name, inputs: source.inputs, outputs: source.outputs,
                      initializers: source.initializers, metadata: source.metadata)
        var read = Set(source.outputs.map(\.name))
        var reads: [String: Int] = [:], kernelReads: [String: Int] = [:]
        for node in source.nodes {
            read.formUnion(node.inputs)
            for (i, input) in node.inputs.enumerated() where source.initializers[input] != nil {
                reads[input, default: 0] += 1
                if node.op == "Conv", i == 1, node.attributes["data_format"]?.string == "NHWC" {
                    kernelReads[input, default: 0] += 1
                }
            }
        }
        self.read = read
        self.reads = reads
        channelsLastKernelReads = kernelReads
        used = Set(source.inputs.map(\.name)).union(source.initializers.keys).union(source.outputs.map(\.name))
            .union(source.nodes.flatMap(\.outputs))
    }

    /// Graph outputs declared without a shape (or with another rank) take the shape inferred.
    mutating func typeOutputs() {
        for i in graph.outputs.indices {
            let o = graph.outputs[i]
            if let inferred = types[o.name]?.shape, o.type.shape == nil || o.type.shape?.rank != inferred.rank {
                graph.outputs[i].type.shape = inferred
            }
        }
    }

    // MARK: - Building

    /// A value name not used yet, based on `base`.
    mutating func unique(_ base: String) -> String {
        var name = base
        var i = 1
        while used.contains(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        used.insert(name)
        if name != base { suffixed[name] = base }
        return name
    }

    /// Adds an initializer; returns its name.
    mutating func constant(_ base: String, _ tensor: Tensor) -> String {
        let name = unique(base)
        graph.initializers[name] = tensor
        types[name] = ValueType(tensor.dtype, Shape(tensor.shape))
        return name
    }

    /// Adds a 1-D int64 initializer.
    mutating func int64s(_ base: String, _ values: [Int]) -> String {
        constant(base, Tensor(shape: [values.count], scalars: values.map { Int64($0) }))
    }

    /// Adds a scalar initializer of `value`'s dtype (float32 when unknown).
    mutating func scalar(_ base: String, _ v: Double, like value: String) -> String {
        constant(base, Tensor(scalar: v).converted(to: dtype(value) ?? .float32))
    }

    /// Appends `node`, recording the types its IR shape rule gives its outputs.
    mutating func add(_ node: Node) {
        graph.nodes.append(node)
        guard let schema = OpRegistry.definition(node.op) else { return }
        let ctx = InferenceContext(node: node,
                                   inputTypes: node.inputs.map { $0.isEmpty ? nil : types[$0] },
                                   constantInputs: node.inputs.map { $0.isEmpty ? nil : graph.initializers[$0] })
        guard let inferred = try? schema.shape(ctx) else { return }
        for (i, o) in node.outputs.enumerated() where i < inferred.count && !o.isEmpty {
            if let t = inferred[i] { types[o] = t }
        }
    }

    /// Appends a one-output node; its output is `output`, or a fresh name based on `base`.
    @discardableResult
    mutating func emit(_ op: String, name: String, _ inputs: [String], _ attributes: [String: Attribute] = [:],
                       output: String? = nil, base: String) -> String {
        let out = output ?? unique(base)
        add(Node(name: name, op: op, inputs: inputs, outputs: [out], attributes: attributes))
        return out
    }

    func rank(_ value: String) -> Int? { types[value]?.shape?.rank }
    func dtype(_ value: String) -> DType? { types[value]?.dtype }
    func constantValue(_ value: String) -> Tensor? { value.isEmpty ? nil : graph.initializers[value] }

    /// The weight `w` with its axes permuted by `perm`: an initializer transposed once (in place
    /// when only channels-last Conv kernels read it), else a Transpose node.
    mutating func transposedWeight(_ w: String, perm: [Int], node: String) throws -> String {
        guard let t = constantValue(w) else {
            return emit("Transpose", name: "\(node)/kernel_to_channels_first", [w], ["perm": .ints(perm)],
                        base: "\(w)/channels_first")
        }
        let key = "\(w)|\(perm)"
        if let done = transposedWeights[key] { return done }
        let value = try t.transposed(perm)
        let name: String
        if reads[w] == channelsLastKernelReads[w], transposedWeights.values.allSatisfy({ $0 != w }) {
            name = w
            graph.initializers[w] = value
            types[w] = ValueType(value.dtype, Shape(value.shape))
        } else {
            name = constant("\(w)/channels_first", value)
        }
        transposedWeights[key] = name
        return name
    }

    /// Reduce node `op` over `axes` (nil: all), with `axes` as an attribute or an input as `opset` wants.
    @discardableResult
    mutating func reduce(_ op: String, name: String, _ x: String, axes: [Int]?, keepdims: Bool,
                         output: String? = nil, base: String) -> String {
        var attributes: [String: Attribute] = ["keepdims": .int(keepdims ? 1 : 0)]
        var inputs = [x]
        if let axes {
            if ONNXExportLowering.reduceAxesAreInput(op, opset: opset) {
                inputs.append(int64s("\(name)/axes", axes))
            } else {
                attributes["axes"] = .ints(axes)
            }
        }
        return emit(op, name: name, inputs, attributes, output: output, base: base)
    }

    /// The IR's reductions.
    static let reduceOps: Set<String> = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]

    /// Whether Reduce op `op` takes its axes as an input at `opset` (ReduceSum from 13, the others from 18).
    static func reduceAxesAreInput(_ op: String, opset: Int) -> Bool {
        op == "ReduceSum" ? opset >= 13 : opset >= 18
    }

    // MARK: - Rules

    /// The rule for each IR op that has an ONNX form.
    static let rules: [String: Rule] = {
        var table: [String: Rule] = [:]
        let same: [String] = [
            "Identity", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf", "Floor",
            "Ceil", "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Not",
            "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Celu", "ThresholdedRelu", "Clip",
            "Add", "Sub", "Mul", "Div", "Pow", "PRelu",
            "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor",
            "Max", "Min", "Sum", "Mean", "Where",
            "MatMul", "Gemm", "Softmax", "LogSoftmax",
            "Flatten", "Transpose", "Concat", "Gather", "Slice", "Tile", "Expand", "ConstantOfShape", "Range",
            "ConvTranspose",
        ]
        for op in same { table[op] = passThrough }
        for op in ["Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"] { table[op] = window }
        for op in reduceOps { table[op] = reduction }
        table["Constant"] = constant
        table["Reshape"] = reshape
        table["Cast"] = cast
        table["Shape"] = shape
        table["Squeeze"] = axesInput
        table["Unsqueeze"] = axesInput
        table["Split"] = split
        table["Pad"] = pad
        table["BatchNormalization"] = batchNormalization
        table["LayerNormalization"] = layerNormalization
        table["Gelu"] = gelu
        table["Swish"] = swish
        table["Mish"] = mish
        table["HardSwish"] = hardSwish
        table["Trilu"] = newerThan(14)
        return table
    }()

    /// The node as it is.
    static let passThrough: Rule = { l, node in l.add(node) }

    /// An op ONNX has from `opset` on, unchanged since: as it is, or refused for older targets.
    static func newerThan(_ since: Int) -> Rule {
        { l, node in
            guard l.opset >= since else { throw ONNXExportRefusal("\(node.op) needs opset \(since)") }
            l.add(node)
        }
    }

    /// Constant nodes become initializers (a constant the graph returns stays a node).
    static let constant: Rule = { l, node in
        guard let t = node.attributes["value"]?.tensor, let out = node.outputs.first else {
            throw ONNXExportRefusal("no tensor value")
        }
        if l.graph.outputs.contains(where: { $0.name == out }) { return l.add(node) }
        l.graph.initializers[out] = t
        l.types[out] = ValueType(t.dtype, Shape(t.shape))
    }

    /// Reshape: `allowzero` exists from opset 14; before, only shapes without a 0 keep its meaning.
    static let reshape: Rule = { l, node in
        var node = node
        if l.opset < 14, let allowZero = node.attributes.removeValue(forKey: "allowzero"), allowZero.int == 1 {
            guard let target = l.constantValue(node.inputs[1]), !target.int64s().contains(0) else {
                throw ONNXExportRefusal("allowzero = 1 needs opset 14")
            }
        }
        if node.attributes["allowzero"]?.int == 0 { node.attributes["allowzero"] = nil }
        l.add(node)
    }

    /// Cast: `saturate` exists from opset 19 (and only matters for float8 targets).
    static let cast: Rule = { l, node in
        var node = node
        if l.opset < 19 { node.attributes["saturate"] = nil }
        l.add(node)
    }

    /// Shape: `start` and `end` exist from opset 15; before, Shape then Slice.
    static let shape: Rule = { l, node in
        let start = node.attributes["start"]?.int ?? 0, end = node.attributes["end"]?.int
        guard l.opset < 15, start != 0 || end != nil else { return l.add(node) }
        let whole = l.emit("Shape", name: "\(node.name)/shape", [node.inputs[0]], base: "\(node.outputs[0])/whole")
        l.emit("Slice", name: node.name, [whole, l.int64s("\(node.name)/starts", [start]),
                                           l.int64s("\(node.name)/ends", [end ?? Int(Int64.max)]),
                                           l.int64s("\(node.name)/axes", [0])], output: node.outputs[0], base: "")
    }

    /// Squeeze / Unsqueeze: an `axes` attribute becomes the int64 input of opset 13.
    static let axesInput: Rule = { l, node in
        var node = node
        if let axes = node.attributes.removeValue(forKey: "axes")?.ints {
            if node.inputs.count < 2 || node.inputs[1].isEmpty {
                node.inputs = [node.inputs[0], l.int64s("\(node.name)/axes", axes)]
            }
        }
        l.add(node)
    }

    /// Reduce*: `axes` as an attribute or an input, as the opset wants; `noop_with_empty_axes`
    /// (an attribute of the input form only) with no axes is an Identity.
    static let reduction: Rule = { l, node in
        let x = node.inputs[0], y = node.outputs[0]
        let keep = (node.attributes["keepdims"]?.int ?? 1) != 0
        let noop = (node.attributes["noop_with_empty_axes"]?.int ?? 0) != 0
        var axes = node.attributes["axes"]?.ints
        let axesInput = node.inputs.count > 1 && !node.inputs[1].isEmpty ? node.inputs[1] : nil
        if let axesInput {
            guard let t = l.constantValue(axesInput) else {
                guard reduceAxesAreInput(node.op, opset: l.opset) else {
                    throw ONNXExportRefusal("axes computed at run time need opset 18")
                }
                return l.add(Node(name: node.name, op: node.op, inputs: [x, axesInput], outputs: [y],
                                  attributes: node.attributes.filter { $0.key != "axes" }))
            }
            axes = t.int64s().map { Int($0) }
        }
        if axes?.isEmpty ?? true {
            if noop { return l.add(Node(name: node.name, op: "Identity", inputs: [x], outputs: [y])) }
            axes = nil
        }
        l.reduce(node.op, name: node.name, x, axes: axes, keepdims: keep, output: y, base: "")
    }

    /// Split: `num_outputs` from opset 18; before, equal parts (or explicit sizes when the axis does
    /// not divide evenly).
    static let split: Rule = { l, node in
        var node = node
        let count = node.attributes.removeValue(forKey: "num_outputs")
        let given = node.inputs.count > 1 && !node.inputs[1].isEmpty
        if !given {
            if l.opset >= 18 {
                node.attributes["num_outputs"] = count ?? .int(node.outputs.count)
            } else if let rank = l.rank(node.inputs[0]),
                      let axis = try? ShapeRules.axis(node.attributes["axis"]?.int ?? 0, rank: rank),
                      let size = l.types[node.inputs[0]]?.shape?.dims[axis].value {
                let sizes = ShapeRules.equalSplit(size: size, parts: node.outputs.count)
                if Set(sizes).count > 1 { node.inputs = [node.inputs[0], l.int64s("\(node.name)/split", sizes)] }
            }
        }
        l.add(node)
    }

    /// Pad: the `axes` input exists from opset 18 (before, pads for every axis); `wrap` from 19.
    static let pad: Rule = { l, node in
        if node.attributes["mode"]?.string == "wrap", l.opset < 19 { throw ONNXExportRefusal("mode 'wrap' needs opset 19") }
        guard node.inputs.count > 3, !node.inputs[3].isEmpty, l.opset < 18 else { return l.add(node) }
        guard let axesTensor = l.constantValue(node.inputs[3]), let padsTensor = l.constantValue(node.inputs[1]),
              let rank = l.rank(node.inputs[0]) else {
            throw ONNXExportRefusal("pads for some axes only, not all constant, need opset 18")
        }
        let axes = try ShapeRules.normalizedAxes(axesTensor.int64s().map { Int($0) }, rank: rank)
        let pads = padsTensor.int64s().map { Int($0) }
        var full = [Int](repeating: 0, count: 2 * rank)
        for (i, a) in axes.enumerated() {
            full[a] = pads[i]
            full[rank + a] = pads[axes.count + i]
        }
        var node = node
        node.inputs = [node.inputs[0], l.int64s("\(node.name)/pads", full), node.inputs[2]]
        while node.inputs.last == "" { node.inputs.removeLast() }
        l.add(node)
    }
}
