import AscentIR

/// Imports ONNX models (`.onnx`, any opset, external data included) into the IR.
///
/// What the imported graph looks like:
/// - **Nodes** are the file's nodes, in order, one IR node per `NodeProto` (Constant nodes included),
///   under the file's names (`<op>_<index>` when a name is empty). Older opsets are rewritten into
///   the latest forms the IR uses (attributes that became inputs turn into constants named
///   `<node>/<attribute>`); Softmax/LogSoftmax before opset 13 and pre-opset-7 aligned broadcasting
///   expand into a few nodes named `<node>/<step>`.
/// - **Contrib ops**: `com.microsoft` nodes of the contrib ops the IR defines (`FusedConv`,
///   `QLinearAdd`, `SkipLayerNormalization`...; see `Ops/Contrib.swift`) import as those ops;
///   `com.microsoft` `Gelu`, `QuantizeLinear` and `DequantizeLinear` as ai.onnx's.
/// - **Unknown ops never fail the import**: an op type Ascent does not know, a node of another
///   domain (`ai.onnx.ml`...) or another contrib op
///   become ``Node/unsupported(name:sourceOp:source:inputs:outputs:)`` placeholders whose source
///   is `<domain> opset <N>`; ``Graph/unsupportedNodes`` lists them.
/// - **Control flow** (`If`, `Loop`, `Scan` from opset 9): each subgraph becomes a graph attribute,
///   converted like the main graph; the outer values a subgraph reads become the node's last inputs
///   and the subgraph's last inputs, under the same names (see `Ops/ControlFlow.swift`).
/// - **Every numeric type is kept as declared** (float16, bfloat16, float64, uint16/32/64 included):
///   initializers, constants, graph inputs and outputs, `value_info` and Cast targets. The runtime
///   computes float16/bfloat16/float64 in float32 and converts at the graph's boundary
///   (``DType/computeDType``).
/// - **Initializers that are also graph inputs** (an input with a default value) stay initializers
///   and are dropped from ``Graph/inputs``: Ascent treats them as the model's weights.
/// - **Layout**: a 4-D floating graph input is tagged `NCHW` when a Conv or pooling node reads it
///   directly; other values carry no tag. Conv and pooling nodes keep the IR's default
///   `data_format` (`NCHW`, ONNX's own).
/// - **Declared types are hints**: a `value_info` entry or graph output whose declared type
///   disagrees with what the shape rules compute is replaced by the computed type, noted under
///   ``Graph/importNotesKey`` (`inspect` prints the notes); `dim_param` names are symbols that do
///   not force two sizes equal at run time, and `-1`, `0` and missing dims are unknown.
/// - **Metadata**: `source_format` = `onnx`, `producer` = `<producer_name> <producer_version>`,
///   `opsets` (`ai.onnx 17, ai.onnx.ml 2`), `ir_version`; `unsupported_outputs` lists graph outputs
///   Ascent cannot type (sequences, maps, strings), which are left out of ``Graph/outputs``.
///
/// The imported graph has been checked with ``Graph/validate(limits:)``.
public enum ONNXImporter {
    /// Imports the ONNX model at `path`; external data is looked up in the file's folder.
    ///
    /// This is the entry point of the command-line tool.
    /// - Throws: ``AscentError`` with `file` = `path`: `.missingFile` when the model (or an external
    ///   data file) cannot be opened, `.invalidData` for anything wrong inside it, with context such as
    ///   `node 'conv1' (Conv)` or `initializer 'w'`.
    public static func load(path: String) throws -> Graph {
        let model: ONNXModelProto
        do {
            model = try ONNXModelProto.load(path: path)
        } catch let e as ONNXFileError {
            throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: path, e.message)
        }
        return try load(model: model, folder: folder(of: path), fileName: path)
    }

    /// Imports a decoded model. `folder` is where its external data lives; `fileName` names the model
    /// in errors. Throws ``AscentError`` as ``load(path:)`` does.
    package static func load(model: ONNXModelProto, folder: String, fileName: String) throws -> Graph {
        do {
            return try build(model, folder: folder, fileName: fileName)
        } catch let e as AscentError {
            throw e.inFile(fileName)
        } catch let e as ONNXFileError {
            throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: fileName, e.message)
        }
    }

    /// The folder part of `path` (`.` for a bare file name).
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func build(_ model: ONNXModelProto, folder: String, fileName: String) throws -> Graph {
        let g = model.graph
        var opsets: [String: Int64] = [:]
        for set in model.opsetImports {
            let domain = set.domain.isEmpty ? "ai.onnx" : set.domain
            if opsets[domain] == nil { opsets[domain] = set.version }
        }
        // Files without an ai.onnx import (IR version < 3) use opset 1.
        let opset = max(1, Int(clamping: opsets["ai.onnx"] ?? 1))
        let reader = ONNXTensorReader(external: ONNXExternalData(folder: folder))
        let initializers = try readInitializers(g, reader: reader)

        var inputs: [ValueInfo] = []
        for v in g.inputs where initializers[v.name] == nil {
            let (type, problem) = try ONNXAttributes.valueType(v)
            guard let type else {
                throw AscentError.invalid("input '\(v.name)' has \(problem ?? "an unknown type"), which Ascent cannot import")
            }
            inputs.append(ValueInfo(name: v.name, type: type))
        }
        tagLayouts(&inputs, nodes: g.nodes)
        var outputs: [ValueInfo] = []
        var untyped: [String] = []
        for v in g.outputs {
            let (type, problem) = try ONNXAttributes.valueType(v)
            if let type { outputs.append(ValueInfo(name: v.name, type: type)) } else { untyped.append("\(v.name) (\(problem ?? "?"))") }
        }
        var valueInfo: [String: ValueType] = [:]
        for v in g.valueInfo where valueInfo[v.name] == nil {
            if let type = try ONNXAttributes.valueType(v).type { valueInfo[v.name] = type }
        }
        var metadata = self.metadata(model)
        if !untyped.isEmpty { metadata["unsupported_outputs"] = untyped.joined(separator: ", ") }

        var file = FileScope(opset: opset, opsets: opsets, reader: reader)
        file.collect(g)
        let graph = Graph(name: g.name.isEmpty ? stem(fileName) : g.name, inputs: inputs, outputs: outputs,
                          initializers: initializers, valueInfo: valueInfo, metadata: metadata)
        let sorted = try convertNodes(g, into: graph, file: file)
        try sorted.validate()
        return sorted
    }

    /// What every graph of a file shares while it is converted: the opsets, the tensor reader,
    /// and every value name in the file and which of them some node (at any depth) reads.
    struct FileScope {
        let opset: Int
        let opsets: [String: Int64]
        let reader: ONNXTensorReader
        var names: Set<String> = []
        var consumed: Set<String> = []

        init(opset: Int, opsets: [String: Int64], reader: ONNXTensorReader) {
            self.opset = opset
            self.opsets = opsets
            self.reader = reader
        }

        mutating func collect(_ g: ONNXGraphProto) {
            names.formUnion(g.inputs.map(\.name) + g.outputs.map(\.name) + g.initializers.map(\.name) + g.valueInfo.map(\.name))
            consumed.formUnion(g.outputs.map(\.name))
            for node in g.nodes {
                names.formUnion(node.inputs + node.outputs)
                consumed.formUnion(node.inputs)
                for a in node.attributes {
                    for sub in (a.g.map { [$0] } ?? []) + a.graphs { collect(sub) }
                }
            }
        }
    }

    /// Converts the nodes of `g` onto `graph` (its interface and initializers already set) and
    /// returns it in topological order.
    private static func convertNodes(_ g: ONNXGraphProto, into graph: Graph, file: FileScope) throws -> Graph {
        var builder = ONNXGraphBuilder(graph: graph, names: file.names, consumed: file.consumed)
        builder.source = "ai.onnx opset \(file.opset)"
        for (index, proto) in g.nodes.enumerated() {
            let name = proto.name.isEmpty ? "\(proto.opType)_\(index)" : proto.name
            do {
                try convert(proto, name: name, file: file, builder: &builder)
            } catch let e as AscentError {
                throw e.within("node '\(name)' (\(proto.opType))")
            }
        }
        // ONNX requires topological order; a file that breaks it is reordered (stably) rather than refused.
        // Declared types are hints (exporters write stale and partial ones): the computed type wins.
        var (reconciled, notes) = try builder.graph.topologicallySorted().reconcilingDeclarations()
        if !notes.isEmpty { reconciled.metadata[Graph.importNotesKey] = notes.joined(separator: "\n") }
        try reconciled.validate()
        return reconciled
    }

    /// The initializers by name; each must be named once.
    private static func readInitializers(_ g: ONNXGraphProto, reader: ONNXTensorReader) throws -> [String: Tensor] {
        guard g.sparseInitializerCount == 0 else {
            throw AscentError.invalid("the graph has \(g.sparseInitializerCount) sparse initializers, which are not supported")
        }
        var initializers: [String: Tensor] = [:]
        for (i, proto) in g.initializers.enumerated() {
            guard !proto.name.isEmpty else { throw AscentError.invalid("initializer #\(i) has no name") }
            guard initializers[proto.name] == nil else { throw AscentError.invalid("initializer '\(proto.name)' is defined twice") }
            do { initializers[proto.name] = try reader.tensor(proto) } catch let e as AscentError {
                throw e.within("initializer '\(proto.name)'")
            }
        }
        return initializers
    }

    /// Tags 4-D floating inputs that a Conv or pooling node reads directly as `NCHW`.
    private static func tagLayouts(_ inputs: inout [ValueInfo], nodes: [ONNXNodeProto]) {
        let read = Set(nodes.filter {
            ($0.domain.isEmpty || $0.domain == "ai.onnx" || $0.domain == OpDefinition.microsoftDomain)
                && (OpRegistry.definition($0.opType)?.traits.contains(.spatial) ?? false)
        }
            .compactMap(\.inputs.first))
        for i in inputs.indices where inputs[i].type.dtype.isFloatingPoint && inputs[i].type.shape?.rank == 4
            && read.contains(inputs[i].name) {
            inputs[i].type.layout = .nchw
        }
    }

    /// `source_format`, `producer`, `opsets`, `ir_version`.
    private static func metadata(_ model: ONNXModelProto) -> [String: String] {
        var metadata = ["source_format": "onnx", "ir_version": String(model.irVersion)]
        let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        if !producer.isEmpty { metadata["producer"] = producer }
        metadata["opsets"] = model.opsetImports.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }
            .joined(separator: ", ")
        return metadata
    }

    /// Adds the IR form of one node: its converter's nodes, or an unsupported placeholder.
    private static func convert(_ proto: ONNXNodeProto, name: String, file: FileScope, builder: inout ONNXGraphBuilder) throws {
        let (opset, opsets, reader) = (file.opset, file.opsets, file.reader)
        let domain = proto.domain.isEmpty ? "ai.onnx" : proto.domain
        func placeholder() -> Node {
            let version = opsets[domain].map(String.init) ?? "?"
            return Node.unsupported(name: name, sourceOp: proto.opType, source: "\(domain) opset \(version)",
                                    inputs: proto.inputs, outputs: proto.outputs)
        }
        guard let convert = ONNXOps.converter(op: proto.opType, domain: proto.domain, opset: opset) else {
            return builder.add(placeholder())
        }
        if let definition = OpRegistry.definition(proto.opType), definition.traits.contains(.subgraphs),
           !(definition.onnx?.changes.contains { if case .conversion(_, let until) = $0 { return opset < until } else { return false } } ?? false) {
            return try convertControlFlow(proto, name: name, file: file, builder: &builder)
        }
        switch try ONNXAttributes.translate(proto.attributes, tensors: reader) {
        case .untranslatable:
            builder.add(placeholder())
        case .translated(let attributes):
            try convert(ONNXNodeContext(proto: proto, name: name, opset: opset, attributes: attributes), &builder)
        }
    }

    /// An `If`, `Loop` or `Scan` node: its subgraphs converted, the outer values they read appended
    /// to the node's inputs and to each subgraph's inputs (see ``OpDefinition/if``).
    private static func convertControlFlow(_ proto: ONNXNodeProto, name: String, file: FileScope,
                                           builder: inout ONNXGraphBuilder) throws {
        var attributes: [String: Attribute] = [:]
        var subgraphs: [(String, ONNXGraphProto)] = []
        for a in proto.attributes where !ONNXAttributes.ignored.contains(a.name) {
            if ONNXAttributes.effectiveType(a) == .graph, let g = a.g {
                subgraphs.append((a.name, g))
                continue
            }
            guard let value = try ONNXAttributes.translate(a, tensors: file.reader) else {
                return builder.add(Node.unsupported(name: name, sourceOp: proto.opType, source: "ai.onnx opset \(file.opset)",
                                                    inputs: proto.inputs, outputs: proto.outputs))
            }
            attributes[a.name] = value
        }
        var captured: [String] = []
        for (_, g) in subgraphs { for v in outerValues(g) where !captured.contains(v) { captured.append(v) } }
        var inputs = proto.inputs
        let isLoop = proto.opType == OpDefinition.loop.name, isMap = proto.opType == OpDefinition.sequenceMap.name
        if isLoop { while inputs.count < 2 { inputs.append("") } }
        for (key, g) in subgraphs {
            // A formal input without a type takes the node's: Loop's iteration count and condition,
            // the carried and state values (scan elements keep an unknown shape).
            func fallback(_ i: Int) -> ValueType? {
                if isLoop {
                    if i == 0 { return ValueType(.int64, Shape([Int]())) }
                    if i == 1 { return ValueType(.bool, Shape([Int]())) }
                }
                guard i < inputs.count, !inputs[i].isEmpty, let t = builder.type(inputs[i]) else { return nil }
                if isMap { return t.kind == .sequence ? t.tensorType : t }  // SequenceMap's body sees elements
                return isLoop || i < inputs.count - (attributes["num_scan_inputs"]?.int ?? 0) ? t : ValueType(t.dtype, nil)
            }
            var formal: [ValueInfo] = []
            for (i, v) in g.inputs.enumerated() {
                guard let type = try ONNXAttributes.valueType(v).type ?? fallback(i) else {
                    throw AscentError.invalid("input '\(v.name)' of subgraph '\(key)' has no type")
                }
                formal.append(ValueInfo(name: v.name, type: type))
            }
            let outer = captured.map { ValueInfo(name: $0, type: builder.type($0) ?? ValueType(.float32, nil)) }
            do {
                attributes[key] = .graph(try subgraph(g, inputs: formal + outer, file: file))
            } catch let e as AscentError {
                throw e.within("attribute '\(key)'")
            }
        }
        if proto.opType != OpDefinition.if.name { attributes["captured"] = .int(captured.count) }
        builder.add(Node(name: name, op: proto.opType, inputs: inputs + captured, outputs: proto.outputs, attributes: attributes))
    }

    /// A subgraph with the given inputs (its own, then the outer values it reads), converted.
    private static func subgraph(_ g: ONNXGraphProto, inputs: [ValueInfo], file: FileScope) throws -> Graph {
        let initializers = try readInitializers(g, reader: file.reader)
        var declared: [String: ValueType] = [:]
        for v in g.valueInfo { if let t = try ONNXAttributes.valueType(v).type { declared[v.name] = t } }
        var outputs: [ValueInfo] = []
        for v in g.outputs {
            outputs.append(ValueInfo(name: v.name, type: try ONNXAttributes.valueType(v).type ?? ValueType(.float32, nil)))
        }
        var graph = try convertNodes(g, into: Graph(name: g.name, inputs: inputs, outputs: outputs, initializers: initializers,
                                                    valueInfo: declared), file: file)
        // Outputs the file leaves untyped take the inferred type.
        let types = (try? graph.inferTypes()) ?? [:]
        for (k, v) in g.outputs.enumerated() where (try? ONNXAttributes.valueType(v).type) == nil {
            if let t = types[v.name] { graph.outputs[k].type = t }
        }
        return graph
    }

    /// The values a subgraph (and the subgraphs inside it) reads from enclosing scopes, in order
    /// of first use.
    static func outerValues(_ g: ONNXGraphProto) -> [String] {
        var defined = Set(g.inputs.map(\.name)).union(g.initializers.map(\.name))
        var seen = Set<String>(), out: [String] = []
        func use(_ name: String) {
            if !name.isEmpty, !defined.contains(name), seen.insert(name).inserted { out.append(name) }
        }
        for node in g.nodes {
            for i in node.inputs { use(i) }
            for a in node.attributes { for sub in (a.g.map { [$0] } ?? []) + a.graphs { for v in outerValues(sub) { use(v) } } }
            defined.formUnion(node.outputs)
        }
        for o in g.outputs { use(o.name) }
        return out
    }

    /// The file name without folder and extension (`digits` for `a/digits.onnx`).
    static func stem(_ path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}
