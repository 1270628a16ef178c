import AscentIR

/// Exports IR graphs as ONNX models (`ascent convert model.h5 --output model.onnx`).
///
/// What the exported model looks like:
/// - **One opset** of the default domain, ``defaultOpset`` (17) unless asked otherwise, any of
///   ``supportedOpsets`` (1 to 28, the pinned onnx release's); the IR version is the one that opset
///   was released with. Every op that has an ONNX form exports: as it is when the opset has it, in the
///   opset's older form where its history (``ONNXHistory``) records one — inputs that were
///   attributes (Reduce* `axes`, Squeeze/Unsqueeze `axes`, Reshape's shape, Slice, Clip, Pad, TopK's
///   k), attributes added later (dropped at their default, else refused), Split's sizes, Softmax's 2-D
///   coercion for the last axis, legacy broadcasting — and decomposed when the op is newer than the
///   opset and has a decomposition (Gelu, Mish, HardSwish, Swish, Celu, ThresholdedRelu,
///   LayerNormalization). Backward primitives and forms an opset cannot express are refused.
/// - **Layout**: graph inputs and outputs keep their names, dtypes, shapes (symbolic dims as
///   `dim_param`) and so their layout: a Keras model still takes NHWC images. Channels-last Conv and
///   pooling nodes become Transpose → the ONNX (channels-first) op → Transpose, with Conv kernels
///   transposed once into `[out, in/group, k...]` initializers; then transposes are pushed down
///   through layout-agnostic ops (elementwise, Softmax, Concat, Pad, Slice, reductions that keep
///   their axes) and cancelled against each other, so that a chain of convolutions has transposes
///   only at its ends and no Transpose ever reads another's output. A transpose that only moves
///   size-1 axes before a Flatten or Reshape is dropped, and one before a Flatten feeding a MatMul
///   or Gemm is folded into the weight rows. A zero Pad feeding a Conv is folded into its `pads`.
///   `SAME` padding becomes explicit `pads` where the input sizes are known.
/// - **BatchNormalization** on axis 1 stays one node; on any other axis (Keras's channels-last)
///   with constant parameters it becomes `x·scale + shift` with per-channel constants folded from
///   gamma, beta, mean, variance and epsilon.
/// - **Names**: nodes keep the IR's names (Keras layer names); the extra nodes a layer becomes are
///   named `<layer>/<step>`, and repeated names get `/<op>` appended so every node name is unique.
///   Constant nodes become initializers; identical initializers are stored once; unused values and
///   nodes are dropped.
/// - **Refused**: unsupported placeholders, gradient-only ops and forms the target opset cannot
///   express make the export fail with one error listing every such node.
///
/// The model passes `onnx.checker.check_model(full_check=True)`; the tests run it with onnxruntime.
public enum ONNXExporter {
    /// The opsets Ascent writes.
    public static let supportedOpsets: ClosedRange<Int> = 1...28
    /// The opset written when none is asked for.
    public static let defaultOpset = 17

    /// What to write.
    public struct Options: Sendable {
        /// The default-domain opset, within ``ONNXExporter/supportedOpsets``.
        public var opset: Int
        /// Recorded as the model's `producer_version` (the producer is always `ascent`).
        public var producerVersion: String
        /// When set, a file name in the model's folder: ``ONNXExporter/write(_:to:options:)`` stores
        /// every initializer of at least ``externalDataThreshold`` bytes there (ONNX external data,
        /// each tensor at a 64-byte aligned offset) instead of inside the model, which protobuf
        /// limits to 2 GiB.
        public var externalData: String?
        /// The smallest initializer, in bytes, that goes to the external-data file.
        public var externalDataThreshold: Int

        public init(opset: Int = ONNXExporter.defaultOpset, producerVersion: String = "", externalData: String? = nil,
                    externalDataThreshold: Int = 1024) {
            self.opset = opset
            self.producerVersion = producerVersion
            self.externalData = externalData
            self.externalDataThreshold = externalDataThreshold
        }
    }

    /// The IR version each opset was released with (onnx's `VERSION_TABLE`).
    static let irVersions: [Int: Int64] = [1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7,
                                           14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11,
                                           24: 12, 25: 13, 26: 13, 27: 13, 28: 14]

    /// Writes `graph` as an ONNX model at `path` (and, with ``Options/externalData``, its large
    /// initializers to that file beside it), atomically: a failed export leaves no new file and
    /// keeps existing ones.
    /// - Throws: ``AscentError``: `.usage` for an opset out of range or an external-data name that
    ///   is not a plain file name, `.invalidData` listing the nodes that have no ONNX form or for
    ///   initializers over protobuf's 2 GiB limit without external data, `.missingFile` when the
    ///   output folder cannot be written.
    @discardableResult
    public static func write(_ graph: Graph, to path: String, options: Options = Options()) throws -> Summary {
        var model = try self.model(graph, options: options)
        guard let name = options.externalData else {
            let bytes = model.graph.initializers.reduce(0) { $0 + ($1.rawData?.count ?? 0) }
            // The rest of the model (nodes, names, shapes) needs room too.
            guard bytes < ONNXModelProto.maximumFileSize - (1 << 24) else {
                throw AscentError.invalid("the initializers take \(bytes) bytes, beyond protobuf's 2 GiB limit: "
                                          + "store them as external data (ascent convert --external-data)")
            }
            try AtomicWriter.write(try encode(model), to: path)
            return Summary(model)
        }
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw AscentError(.usage, "external data file '\(name)' must be a file name, without a folder")
        }
        let slash = path.lastIndex(of: "/")
        let dataPath = (slash.map { String(path[...$0]) } ?? "") + name
        guard dataPath != path else { throw AscentError(.usage, "the external data file cannot be the model itself") }
        let data = try AtomicWriter(path: dataPath)
        var offset = 0
        for i in model.graph.initializers.indices {
            guard let raw = model.graph.initializers[i].rawData, raw.count >= options.externalDataThreshold else { continue }
            let padding = (64 - offset % 64) % 64
            try data.write([UInt8](repeating: 0, count: padding))
            offset += padding
            try data.write(raw)
            model.graph.initializers[i].rawData = nil
            model.graph.initializers[i].dataLocation = .external
            model.graph.initializers[i].externalData = [
                ONNXStringPair(key: "location", value: name), ONNXStringPair(key: "offset", value: String(offset)),
                ONNXStringPair(key: "length", value: String(raw.count)),
            ]
            offset += raw.count
        }
        let writer = try AtomicWriter(path: path)
        try writer.write(try encode(model))
        try data.commit()
        try writer.commit()
        return Summary(model)
    }

    /// The serialized ONNX model of `graph`. Throws as ``write(_:to:options:)``.
    public static func export(_ graph: Graph, options: Options = Options()) throws -> [UInt8] {
        try encode(try model(graph, options: options))
    }

    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var opset: Int
        public var nodes: Int
        public var initializers: Int
        /// Node count by op type.
        public var ops: [String: Int]
        /// Initializers stored in the external-data file.
        public var externalInitializers: Int

        init(_ model: ONNXModelProto) {
            opset = Int(model.opsetImports.first?.version ?? 0)
            nodes = model.graph.nodes.count
            initializers = model.graph.initializers.count
            externalInitializers = model.graph.initializers.filter { $0.dataLocation == .external }.count
            ops = model.graph.nodes.reduce(into: [:]) { $0[$1.opType, default: 0] += 1 }
        }
    }

    static func encode(_ model: ONNXModelProto) throws -> [UInt8] {
        do {
            return try model.encode()
        } catch let e as ONNXFileError {
            throw AscentError.invalid("cannot encode the ONNX model: \(e.message)")
        }
    }

    /// The ONNX model of `graph`, before encoding.
    /// The dtype of `graph`'s (top-level) initializers, inputs, outputs, declared values, tensor
    /// attributes and dtype attributes (Cast `to`...) that needs the newest opset, with that opset;
    /// nil when every one exists at opset 1.
    public static func newestType(in graph: Graph) -> (dtype: DType, opset: Int)? {
        var types = Set(graph.initializers.values.map(\.dtype))
        types.formUnion((graph.inputs + graph.outputs).map(\.type.dtype))
        types.formUnion(graph.valueInfo.values.map(\.dtype))
        for node in graph.nodes {
            for (key, attribute) in node.attributes {
                if let t = attribute.tensor { types.insert(t.dtype) }
                if Graph.dtypeAttributes.contains(key), let code = attribute.int, let t = DType(onnxCode: code) { types.insert(t) }
            }
        }
        return types.filter { $0.firstONNXOpset > 1 }.max { ($0.firstONNXOpset, $0.rawValue) < ($1.firstONNXOpset, $1.rawValue) }
            .map { ($0, $0.firstONNXOpset) }
    }

    /// The opset `convert` writes when none is asked for: ``defaultOpset``, or the first opset that
    /// has the graph's newest type (int4 weights: 21).
    public static func defaultOpset(for graph: Graph) -> Int { max(defaultOpset, newestType(in: graph)?.opset ?? 1) }

    package static func model(_ graph: Graph, options: Options = Options()) throws -> ONNXModelProto {
        if let (dtype, first) = newestType(in: graph), options.opset < first {
            throw AscentError(.usage, "the graph holds \(dtype.rawValue) values, which ONNX has from opset \(first): export at opset \(first) or later, not \(options.opset)")
        }
        let onnx = try onnxGraph(graph, opset: options.opset)
        var model = ONNXModelProto()
        model.irVersion = irVersions[options.opset] ?? 8
        model.producerName = "ascent"
        model.producerVersion = options.producerVersion
        let source = graph.metadata["source_format"].map { " (source format: \($0))" } ?? ""
        model.docString = "ascent: exported at opset \(options.opset)\(source)"
        model.opsetImports = [ONNXOperatorSet(domain: "", version: Int64(options.opset))]
        for key in ["source_format", "producer"] {
            if let value = graph.metadata[key] {
                model.metadataProps.append(ONNXStringPair(key: key == "producer" ? "source_producer" : key, value: value))
            }
        }
        model.graph = try proto(onnx)
        return model
    }

    /// `graph` rewritten into ONNX's forms at `opset` (still an IR graph: ONNX op names, NCHW Conv and
    /// pooling, opset-specific attributes), optimized and checked by ``Graph/validate(limits:)``.
    /// A `nested` graph (a branch or loop body) may declare inputs without a shape, and its outputs
    /// are declared without one.
    package static func onnxGraph(_ graph: Graph, opset: Int, nested: Bool = false) throws -> Graph {
        guard supportedOpsets.contains(opset) else {
            throw AscentError(.usage, "ONNX opset \(opset) is not supported (Ascent writes opsets "
                              + "\(supportedOpsets.lowerBound) to \(supportedOpsets.upperBound))")
        }
        let (lowered, suffixed) = try ONNXExportLowering.lower(graph, opset: opset)
        // ONNX declares every graph input and output with a shape (the checker insists).
        // (A sequence's or optional's tensors may have no fixed rank.)
        let unshaped = (lowered.inputs + lowered.outputs).filter { $0.type.shape == nil && $0.type.isTensor }.map { "'\($0.name)'" }
        guard unshaped.isEmpty || nested else {
            throw AscentError.invalid("cannot export to ONNX: graph inputs or outputs of unknown rank: "
                                      + unshaped.joined(separator: ", "))
        }
        var optimized = try ONNXExportOptimizer.optimize(lowered, suffixed: suffixed)
        // A nested graph's outputs are declared by dtype alone: their sizes may depend on which
        // branch runs or on the enclosing graph's values, which the graph on its own does not know.
        if nested { for i in optimized.outputs.indices { optimized.outputs[i].type.shape = nil } }
        do {
            try optimized.validate()
        } catch let e as AscentError {
            throw AscentError(.internal, context: ["exported ONNX graph"] + e.context, e.message)
        }
        return optimized
    }

    // MARK: - Protobuf values

    static func proto(_ g: Graph) throws -> ONNXGraphProto {
        var p = ONNXGraphProto()
        p.name = g.name.isEmpty ? "ascent" : g.name
        p.nodes = try g.nodes.map(proto)
        // Initializers in the order nodes first read them, then the rest by name.
        var order: [String] = []
        var seen: Set<String> = []
        for node in g.nodes {
            for input in node.inputs where g.initializers[input] != nil && seen.insert(input).inserted { order.append(input) }
        }
        order += g.initializers.keys.filter { !seen.contains($0) }.sorted()
        p.initializers = order.map { tensor(g.initializers[$0]!, name: $0) }
        p.inputs = g.inputs.map(valueInfo)
        p.outputs = g.outputs.map(valueInfo)
        return p
    }

    static func proto(_ node: Node) throws -> ONNXNodeProto {
        let captured = node.capturedValues
        var p = ONNXNodeProto(name: node.name, opType: node.op, inputs: Array(node.inputs.dropLast(captured.count)),
                              outputs: node.outputs)
        var attributes = node.attributes
        if node.hasSubgraphs { attributes["captured"] = nil }
        p.attributes = try attributes.keys.sorted().map { key in
            guard let g = attributes[key]!.graph else {
                // A type attribute (Optional's `type`) is held as the type's text.
                if node.definition?.attribute(key)?.kind == "type", let text = attributes[key]!.string {
                    guard let type = ValueType(parsing: text) else { throw AscentError.invalid("attribute '\(key)' is not a type: \(text)") }
                    var a = ONNXAttributeProto(name: key)
                    (a.type, a.tp) = (.typeProto, valueInfo(ValueInfo(name: "", type: type)))
                    return a
                }
                return attribute(key, attributes[key]!)
            }
            var a = ONNXAttributeProto(name: key)
            (a.type, a.g) = (.graph, try proto(opening: g, captured: captured))
            return a
        }
        return p
    }

    /// A nested graph in ONNX's form: its last inputs, the node's captured values, become reads of
    /// the enclosing scope's values (by the names the node reads them under); an output that is
    /// such a value is copied by an Identity first.
    static func proto(opening g: Graph, captured: ArraySlice<String>) throws -> ONNXGraphProto {
        var g = g
        let inner = g.inputs.suffix(captured.count).map(\.name)
        g.inputs.removeLast(captured.count)
        var outer: [String: String] = [:]
        for (i, o) in zip(inner, captured) { outer[i] = o }
        for n in g.nodes.indices { g.nodes[n].inputs = g.nodes[n].inputs.map { outer[$0] ?? $0 } }
        let builder = GraphBuilder(g, reserved: Set(captured))
        for k in g.outputs.indices {
            guard let o = outer[g.outputs[k].name] else { continue }
            let copy = builder.fresh(g.outputs[k].name + "/copy")
            builder.graph.nodes.append(Node(name: copy, op: OpDefinition.identity.name, inputs: [o], outputs: [copy]))
            builder.graph.outputs[k].name = copy
        }
        return try proto(builder.graph)
    }

    static func attribute(_ name: String, _ value: Attribute) -> ONNXAttributeProto {
        var a = ONNXAttributeProto(name: name)
        switch value {
        case .int(let v): (a.type, a.i) = (.int, Int64(v))
        case .float(let v): (a.type, a.f) = (.float, Float(v))
        case .string(let v): (a.type, a.s) = (.string, Array(v.utf8))
        case .ints(let v): (a.type, a.ints) = (.ints, v.map { Int64($0) })
        case .floats(let v): (a.type, a.floats) = (.floats, v.map { Float($0) })
        case .strings(let v): (a.type, a.strings) = (.strings, v.map { Array($0.utf8) })
        case .tensor(let t): (a.type, a.t) = (.tensor, tensor(t, name: ""))
        case .graph: preconditionFailure("nested graphs are written by proto(opening:captured:)")
        }
        return a
    }

    /// A dense tensor as little-endian `raw_data` (4- and 2-bit types packed, low bits first).
    static func tensor(_ t: Tensor, name: String) -> ONNXTensorProto {
        var p = ONNXTensorProto(name: name)
        p.dataType = Int32(t.dtype.onnxCode)
        p.dims = t.shape.map { Int64($0) }
        p.rawData = (t.dtype.narrowBits ?? 8) < 8 ? ONNXTensorReader.packed(t) : t.withUnsafeBytes { Array($0) }
        return p
    }

    static func valueInfo(_ v: ValueInfo) -> ONNXValueInfoProto {
        var p = ONNXValueInfoProto(name: v.name)
        switch v.type.kind {
        case .tensor: p.kind = .tensor
        case .sequence: (p.kind, p.inner) = (.sequence, [.tensor])
        case .optionalTensor: (p.kind, p.inner) = (.optional, [.tensor])
        case .optionalSequence: (p.kind, p.inner) = (.optional, [.sequence, .tensor])
        }
        p.elemType = Int32(v.type.dtype.onnxCode)
        p.shape = v.type.shape.map { shape in
            shape.dims.map { d -> ONNXDimension in
                switch d {
                case .known(let n): return .value(Int64(n))
                case .symbol(let s): return .param(s)
                case .expression(let e): return .param(e.description)
                case .unknown: return .unknown
                }
            }
        }
        return p
    }
}
