// The bridge between ONNX protobuf bytes and plain Swift values.
//
// This is the only Swift file that imports COnnx (protobuf-c code generated from onnx.proto of
// ONNX 1.23.2 by Tools/gen-onnx-proto). Decoding unpacks with protobuf-c, copies everything into
// the Swift value types below and frees the C message at once; encoding builds C structs in an
// arena, packs them and frees the arena. No C type leaves this file.
//
// Not carried over (ignored when decoding, absent when encoding): functions, training_info,
// device configurations, sparse tensors (only counted), TypeProto attributes, tensor segments,
// quantization annotations and per-node / per-graph metadata_props.

import AscentIR
import COnnx
import Foundation

// MARK: - Errors

/// An ONNX file that could not be read or decoded, or a model that could not be encoded.
///
/// `description` reads `<file>: <message>`, e.g. `model.onnx: not a valid ONNX protobuf`.
public struct ONNXFileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The file does not exist.
        case missing
        /// The file exists but cannot be read (permissions, a folder, an I/O error).
        case unreadable
        /// The bytes are not an ONNX model (empty, truncated, not protobuf, no graph, too deep).
        case invalid
        /// The in-memory model cannot be encoded (a string holding a NUL character, subgraphs
        /// nested too deep, over 2 GiB, out of memory).
        case unencodable
    }

    public let kind: Kind
    /// The file (path as given, or a display name) the error is about.
    public let fileName: String
    public let message: String

    public init(_ kind: Kind, fileName: String, message: String) {
        (self.kind, self.fileName, self.message) = (kind, fileName, message)
    }

    /// True when the input could not be opened at all (missing or unreadable), as opposed to
    /// opened but invalid. Command-line tools map this to exit code 66 (EX_NOINPUT).
    public var isMissingOrUnreadable: Bool { kind == .missing || kind == .unreadable }

    public var description: String { "\(fileName): \(message)" }
}

// MARK: - Value types
//
// Every property has a default, so the memberwise initializers take only what differs, e.g.
// `ONNXNodeProto(opType: "Relu", inputs: ["x"], outputs: ["y"])`.

/// A `(domain, version)` entry of `ModelProto.opset_import`; the empty domain is `ai.onnx`.
package struct ONNXOperatorSet: Equatable, Sendable {
    package var domain = ""
    package var version: Int64 = 0
}

/// A key/value entry (`StringStringEntryProto`), used for metadata and external-data locations.
package struct ONNXStringPair: Equatable, Sendable {
    package var key = ""
    package var value = ""
}

/// `ModelProto`: the top-level ONNX message.
package struct ONNXModelProto: Equatable, Sendable {
    package var irVersion: Int64 = 0
    package var producerName = ""
    package var producerVersion = ""
    package var domain = ""
    package var modelVersion: Int64 = 0
    package var docString = ""
    package var opsetImports: [ONNXOperatorSet] = []
    package var metadataProps: [ONNXStringPair] = []
    package var graph = ONNXGraphProto()
}

/// `GraphProto`: nodes in topological order, constant initializers, and the graph's interface.
package struct ONNXGraphProto: Equatable, Sendable {
    package var name = ""
    package var nodes: [ONNXNodeProto] = []
    package var initializers: [ONNXTensorProto] = []
    /// Number of `sparse_initializer` entries (their contents are not decoded nor encoded).
    package var sparseInitializerCount = 0
    package var inputs: [ONNXValueInfoProto] = []
    package var outputs: [ONNXValueInfoProto] = []
    package var valueInfo: [ONNXValueInfoProto] = []
    package var docString = ""
}

/// `NodeProto`: one operator application. An empty input name means an omitted optional input.
package struct ONNXNodeProto: Equatable, Sendable {
    package var name = ""
    package var opType = ""
    package var domain = ""
    package var inputs: [String] = []
    package var outputs: [String] = []
    package var attributes: [ONNXAttributeProto] = []
    package var docString = ""
}

/// `AttributeProto.AttributeType`, with `unknown` keeping codes this schema does not know.
package enum ONNXAttributeType: Equatable, Sendable {
    case undefined, float, int, string, tensor, graph, sparseTensor, typeProto
    case floats, ints, strings, tensors, graphs, sparseTensors, typeProtos
    case unknown(Int32)

    private static let known: [(ONNXAttributeType, Int32)] = [
        (.undefined, 0), (.float, 1), (.int, 2), (.string, 3), (.tensor, 4), (.graph, 5),
        (.floats, 6), (.ints, 7), (.strings, 8), (.tensors, 9), (.graphs, 10),
        (.sparseTensor, 11), (.sparseTensors, 12), (.typeProto, 13), (.typeProtos, 14),
    ]

    /// Creates the type for a wire code.
    package init(code: Int32) {
        self = Self.known.first { $0.1 == code }?.0 ?? .unknown(code)
    }

    /// The wire code.
    package var code: Int32 {
        if case .unknown(let code) = self { return code }
        return Self.known.first { $0.0 == self }?.1 ?? 0
    }
}

/// `AttributeProto`: a named attribute; `type` says which of the value fields is meaningful.
package struct ONNXAttributeProto: Equatable, Sendable {
    package var name = ""
    package var type = ONNXAttributeType.undefined
    package var f: Float = 0
    package var i: Int64 = 0
    package var s: [UInt8] = []
    package var t: ONNXTensorProto?
    /// Subgraph (the `then_branch`/`else_branch` of If, the `body` of Loop and Scan).
    package var g: ONNXGraphProto?
    package var floats: [Float] = []
    package var ints: [Int64] = []
    package var strings: [[UInt8]] = []
    package var tensors: [ONNXTensorProto] = []
    package var graphs: [ONNXGraphProto] = []
    /// A `TypeProto` attribute (Optional's `type`), decoded as a nameless value's type.
    package var tp: ONNXValueInfoProto?
    /// Inside a function body: the name of the caller's attribute this one refers to.
    package var refAttrName = ""
    package var docString = ""
}

/// `TensorProto`: a constant tensor. The values live in exactly one of `rawData` (little-endian,
/// dense) or the typed arrays, or outside the file when `dataLocation == .external`.
package struct ONNXTensorProto: Equatable, Sendable {
    /// `TensorProto.DataLocation`.
    package enum DataLocation: Equatable, Sendable { case `default`, external }

    package var name = ""
    /// `TensorProto.DataType` code (1 float, 2 uint8, 3 int8, 6 int32, 7 int64, 10 float16, 11 double…).
    package var dataType: Int32 = 0
    package var dims: [Int64] = []
    /// The `raw_data` field, nil when absent (an empty array when present but empty).
    package var rawData: [UInt8]?
    package var floatData: [Float] = []
    package var int32Data: [Int32] = []
    package var int64Data: [Int64] = []
    package var doubleData: [Double] = []
    package var uint64Data: [UInt64] = []
    package var stringData: [[UInt8]] = []
    package var dataLocation = DataLocation.default
    /// For external data: `location`, `offset`, `length`, `checksum` entries.
    package var externalData: [ONNXStringPair] = []
    package var docString = ""
    /// A large `raw_data` field of a loaded file, left in the mapped file instead of copied
    /// (`rawData` is then nil). ``ONNXModelProto/load(path:)`` sets it for initializers.
    package var mappedRawData: ONNXMappedBytes?

    /// The `raw_data` bytes wherever they are (a copy for mapped ones), nil when absent.
    package var rawBytes: [UInt8]? { rawData ?? mappedRawData.map { Array($0.bytes) } }
}

/// A range of a memory-mapped ONNX file, kept mapped as long as this value lives.
package struct ONNXMappedBytes: Equatable, Sendable {
    package let file: MappedFile
    package let range: Range<Int>

    /// The bytes, valid while `file` is alive.
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: file.bytes[range]) }

    /// Same bytes.
    package static func == (a: ONNXMappedBytes, b: ONNXMappedBytes) -> Bool { a.bytes.elementsEqual(b.bytes) }
}

/// One dimension of a `TensorShapeProto`.
package enum ONNXDimension: Equatable, Sendable {
    /// A fixed size.
    case value(Int64)
    /// A symbolic size, such as `batch` or `unk__12`.
    case param(String)
    /// Neither set.
    case unknown
}

/// `ValueInfoProto`: the name and type of a graph input, output or intermediate value.
package struct ONNXValueInfoProto: Equatable, Sendable {
    /// Which `TypeProto` alternative is set; tensor and sparse-tensor types carry `elemType` and
    /// `shape`, sequences and optionals their element's type (``inner``); maps and opaque types are
    /// not decoded.
    package enum Kind: Equatable, Sendable { case none, tensor, sparseTensor, sequence, map, optional, opaque }

    package var name = ""
    package var kind = Kind.tensor
    /// For a sequence or optional: the kinds inside it, outermost first, down to the tensor
    /// (`[.tensor]` for a sequence of tensors, `[.sequence, .tensor]` for an optional sequence);
    /// `elemType` and `shape` are then the innermost tensor's. Empty for other kinds.
    package var inner: [Kind] = []
    /// `TensorProto.DataType` code of the elements, 0 when unset.
    package var elemType: Int32 = 0
    /// The shape, nil when unknown (unknown rank); `[]` is a scalar.
    package var shape: [ONNXDimension]?
    package var docString = ""
}

// MARK: - Loading and decoding

extension ONNXModelProto {
    /// ONNX files are protobuf messages, which are limited to 2 GiB.
    package static let maximumFileSize = Int(Int32.max)

    /// Reads and decodes the ONNX model at `path`. Throws `ONNXFileError` (`.missing`,
    /// `.unreadable` or `.invalid`), naming the path as given.
    package static func load(path: String) throws -> ONNXModelProto {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ONNXFileError(.missing, fileName: path, message: "no such file")
        }
        if isDirectory.boolValue {
            throw ONNXFileError(.unreadable, fileName: path, message: "is a directory, not an ONNX file")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
           size > maximumFileSize {
            throw ONNXFileError(.invalid, fileName: path,
                                message: "file of \(size) bytes exceeds the 2 GiB protobuf limit")
        }
        // Mapped, not read. The initializers' large raw_data fields stay in the file's pages: the
        // message protobuf-c unpacks is a copy of the file without them (WireStrip), and each
        // initializer points back at its bytes in the mapping (no heap copies of the weights).
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let e as AscentError {
            throw ONNXFileError(.unreadable, fileName: path, message: "cannot read file (\(e.message))")
        }
        let buffer = UnsafeBufferPointer(start: file.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: file.bytes.count)
        guard !buffer.isEmpty, buffer.count <= maximumFileSize, WireScan.problem(in: buffer) == nil,
              let stripped = WireStrip(buffer) else {
            return try decode(buffer: buffer, fileName: path)
        }
        var model = try stripped.bytes.withUnsafeBufferPointer { try decode(buffer: $0, fileName: path) }
        for (index, range) in stripped.rawData where index < model.graph.initializers.count {
            model.graph.initializers[index].rawData = nil
            model.graph.initializers[index].mappedRawData = ONNXMappedBytes(file: file, range: range)
        }
        return model
    }

    /// Decodes a serialized `ModelProto`. `fileName` is only used in error messages.
    /// Throws `ONNXFileError(.invalid)` for empty, truncated, corrupt or graph-less input.
    package static func decode(bytes: [UInt8], fileName: String) throws -> ONNXModelProto {
        try bytes.withUnsafeBufferPointer { try decode(buffer: $0, fileName: fileName) }
    }

    private static func decode(buffer: UnsafeBufferPointer<UInt8>, fileName: String) throws -> ONNXModelProto {
        func invalid(_ message: String) -> ONNXFileError { ONNXFileError(.invalid, fileName: fileName, message: message) }
        guard !buffer.isEmpty else { throw invalid("empty file, not an ONNX model") }
        guard buffer.count <= maximumFileSize else { throw invalid("more than 2 GiB, beyond the protobuf limit") }
        do {
            // protobuf-c recurses without a depth limit; bound the nesting first (see WireScan).
            if let problem = WireScan.problem(in: buffer) { throw invalid("not a valid ONNX protobuf (\(problem))") }
            guard let message = onnx__model_proto__unpack(nil, buffer.count, buffer.baseAddress) else {
                throw invalid("not a valid ONNX protobuf")
            }
            defer { onnx__model_proto__free_unpacked(message, nil) }
            guard let graph = message.pointee.graph else {
                throw invalid("not an ONNX model: the protobuf holds no graph")
            }
            return CDecode.model(message.pointee, graph: graph.pointee)
        }
    }
}

/// Copies protobuf-c messages into the Swift value types. Every pointer it reads belongs to a
/// message that stays alive (and unmodified) for the duration of the call.
private enum CDecode {
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    /// A repeated scalar field (`n_x`, `x`).
    static func values<T>(_ count: Int, _ pointer: UnsafeMutablePointer<T>?) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// A repeated message or string field (`n_x`, `x` as an array of pointers).
    static func each<T, R>(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?,
                           _ transform: (T) -> R) -> [R] {
        values(count, pointer).compactMap { $0.map { transform($0.pointee) } }
    }

    static func strings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        values(count, pointer).map { string($0) }
    }

    static func pair(_ e: Onnx__StringStringEntryProto) -> ONNXStringPair {
        ONNXStringPair(key: string(e.key), value: string(e.value))
    }

    static func model(_ m: Onnx__ModelProto, graph g: Onnx__GraphProto) -> ONNXModelProto {
        ONNXModelProto(
            irVersion: m.ir_version, producerName: string(m.producer_name),
            producerVersion: string(m.producer_version), domain: string(m.domain),
            modelVersion: m.model_version, docString: string(m.doc_string),
            opsetImports: each(m.n_opset_import, m.opset_import) {
                ONNXOperatorSet(domain: string($0.domain), version: $0.version)
            },
            metadataProps: each(m.n_metadata_props, m.metadata_props, pair), graph: graph(g))
    }

    static func graph(_ g: Onnx__GraphProto) -> ONNXGraphProto {
        ONNXGraphProto(
            name: string(g.name), nodes: each(g.n_node, g.node, node),
            initializers: each(g.n_initializer, g.initializer, tensor),
            sparseInitializerCount: g.n_sparse_initializer,
            inputs: each(g.n_input, g.input, valueInfo), outputs: each(g.n_output, g.output, valueInfo),
            valueInfo: each(g.n_value_info, g.value_info, valueInfo), docString: string(g.doc_string))
    }

    static func node(_ n: Onnx__NodeProto) -> ONNXNodeProto {
        ONNXNodeProto(
            name: string(n.name), opType: string(n.op_type), domain: string(n.domain),
            inputs: strings(n.n_input, n.input), outputs: strings(n.n_output, n.output),
            attributes: each(n.n_attribute, n.attribute, attribute), docString: string(n.doc_string))
    }

    static func attribute(_ a: Onnx__AttributeProto) -> ONNXAttributeProto {
        ONNXAttributeProto(
            name: string(a.name), type: ONNXAttributeType(code: Int32(a.type.rawValue)), f: a.f, i: a.i,
            s: bytes(a.s), t: a.t.map { tensor($0.pointee) }, g: a.g.map { graph($0.pointee) },
            floats: values(a.n_floats, a.floats), ints: values(a.n_ints, a.ints),
            strings: values(a.n_strings, a.strings).map(bytes),
            tensors: each(a.n_tensors, a.tensors, tensor), graphs: each(a.n_graphs, a.graphs, graph),
            tp: a.tp.map { typed(ONNXValueInfoProto(kind: .none), $0.pointee) },
            refAttrName: string(a.ref_attr_name), docString: string(a.doc_string))
    }

    static func tensor(_ t: Onnx__TensorProto) -> ONNXTensorProto {
        ONNXTensorProto(
            name: string(t.name), dataType: t.data_type, dims: values(t.n_dims, t.dims),
            rawData: t.has_raw_data != 0 ? bytes(t.raw_data) : nil,
            floatData: values(t.n_float_data, t.float_data), int32Data: values(t.n_int32_data, t.int32_data),
            int64Data: values(t.n_int64_data, t.int64_data),
            doubleData: values(t.n_double_data, t.double_data),
            uint64Data: values(t.n_uint64_data, t.uint64_data),
            stringData: values(t.n_string_data, t.string_data).map(bytes),
            dataLocation: t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL ? .external : .default,
            externalData: each(t.n_external_data, t.external_data, pair), docString: string(t.doc_string))
    }

    static func valueInfo(_ v: Onnx__ValueInfoProto) -> ONNXValueInfoProto {
        let info = ONNXValueInfoProto(name: string(v.name), kind: .none, docString: string(v.doc_string))
        guard let type = v.type?.pointee else { return info }
        return typed(info, type)
    }

    /// `info` with the kind, element type and shape of `type` (sequences and optionals followed
    /// down to their tensor type, at most a few levels).
    static func typed(_ info: ONNXValueInfoProto, _ type: Onnx__TypeProto) -> ONNXValueInfoProto {
        var info = info
        var shape: UnsafeMutablePointer<Onnx__TensorShapeProto>?
        var current = type
        var kinds: [ONNXValueInfoProto.Kind] = []
        for _ in 0..<8 {
            var next: UnsafeMutablePointer<Onnx__TypeProto>?
            switch current.value_case {
            case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
                kinds.append(.tensor)
                info.elemType = current.tensor_type?.pointee.elem_type ?? 0
                shape = current.tensor_type?.pointee.shape
            case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
                kinds.append(.sparseTensor)
                info.elemType = current.sparse_tensor_type?.pointee.elem_type ?? 0
                shape = current.sparse_tensor_type?.pointee.shape
            case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
                kinds.append(.sequence)
                next = current.sequence_type?.pointee.elem_type
            case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: kinds.append(.map)
            case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
                kinds.append(.optional)
                next = current.optional_type?.pointee.elem_type
            case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE: kinds.append(.opaque)
            default: kinds.append(.none)
            }
            guard let next else { break }
            current = next.pointee
        }
        info.kind = kinds.first ?? .none
        info.inner = Array(kinds.dropFirst())
        info.shape = shape.map { shape in
            each(shape.pointee.n_dim, shape.pointee.dim) { (d: Onnx__TensorShapeProto__Dimension) -> ONNXDimension in
                switch d.value_case {
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: return .value(d.dim_value)
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: return .param(string(d.dim_param))
                default: return .unknown
                }
            }
        }
        return info
    }
}

/// A pre-flight walk over the protobuf wire format that follows only the schema's recursive
/// paths (graph → node → attribute → graph, and nested TypeProtos). protobuf-c unpacks nested
/// messages recursively with no depth limit, so a small malicious file could overflow the stack;
/// this rejects nesting deeper than `maximumDepth` (the default recursion limit of the protobuf
/// C++ runtime, which onnx itself uses) and malformed framing on those paths.
private enum WireScan {
    static let maximumDepth = 100

    /// The messages on recursive paths, each with its fields (number → message) to descend into.
    private enum Message {
        case model, trainingInfo, graph, function, node, attribute, valueInfo, type, typeWrapper, typeMap

        var children: [UInt64: Message] {
            switch self {
            case .model: [7: .graph, 20: .trainingInfo, 25: .function]
            case .trainingInfo: [1: .graph, 2: .graph]
            case .graph: [1: .node, 11: .valueInfo, 12: .valueInfo, 13: .valueInfo]
            case .function: [7: .node, 11: .attribute, 12: .valueInfo]
            case .node: [5: .attribute]
            case .attribute: [6: .graph, 11: .graph, 14: .type, 15: .type]
            case .valueInfo: [2: .type]
            case .type: [4: .typeWrapper, 5: .typeMap, 9: .typeWrapper]  // sequence, map, optional
            case .typeWrapper: [1: .type]  // Sequence.elem_type, Optional.elem_type
            case .typeMap: [2: .type]  // Map.value_type
            }
        }
    }

    /// nil when the framing is sound, else a short description of the problem.
    static func problem(in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        scan(bytes, 0..<bytes.count, .model, depth: 1)
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ message: Message,
                             depth: Int) -> String? {
        if depth > maximumDepth { return "messages nested deeper than \(maximumDepth) levels" }
        let children = message.children
        let fields: [WireField]
        switch WireField.all(in: bytes, range) {
        case .success(let f): fields = f
        case .failure(let problem): return problem.message
        }
        for f in fields where f.wireType == 2 {
            if let child = children[f.number], let problem = scan(bytes, f.payload, child, depth: depth + 1) {
                return problem
            }
        }
        return nil
    }
}

/// The length-delimited fields of a protobuf message (number and payload), in order; nil when
/// the framing is malformed. For reading the small messages of ONNX's test data (`SequenceProto`,
/// `OptionalProto`), which the bridge's generated code does not hold.
package func protobufMessageFields(_ bytes: [UInt8]) -> [(number: UInt64, payload: [UInt8])]? {
    bytes.withUnsafeBufferPointer { buffer in
        guard case .success(let fields) = WireField.all(in: buffer, 0..<buffer.count) else { return nil }
        return fields.filter { $0.wireType == 2 }.map { ($0.number, Array(buffer[$0.payload])) }
    }
}

/// One field of a protobuf message: number, wire type, where its key starts, and its payload (for
/// length-delimited fields; the whole field otherwise).
private struct WireField {
    let number: UInt64, wireType: UInt64, start: Int, payload: Range<Int>

    struct Problem: Error { let message: String }

    /// The fields of the message in `range`, or what is wrong with its framing.
    static func all(in bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Result<[WireField], Problem> {
        var out: [WireField] = []
        var index = range.lowerBound
        func varint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard index < range.upperBound else { return nil }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7f) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }
        while index < range.upperBound {
            let start = index
            guard let key = varint() else { return .failure(Problem(message: "truncated field key")) }
            var length: UInt64 = 0
            switch key & 7 {
            case 0: guard varint() != nil else { return .failure(Problem(message: "truncated varint")) }
            case 1: length = 8
            case 5: length = 4
            case 2: guard let value = varint() else { return .failure(Problem(message: "truncated length")) }; length = value
            default: return .failure(Problem(message: "unsupported wire type \(key & 7)"))
            }
            guard length <= UInt64(range.upperBound - index) else { return .failure(Problem(message: "truncated data")) }
            let payloadStart = key & 7 == 2 ? index : start
            index += Int(length)
            out.append(WireField(number: key >> 3, wireType: key & 7, start: start, payload: payloadStart..<index))
        }
        return .success(out)
    }
}

/// A copy of a `ModelProto`'s bytes without the large `raw_data` fields of the graph's
/// initializers (each left present but empty), and where those fields lie in the original.
///
/// Only `ModelProto.graph` (7) → `GraphProto.initializer` (5) → `TensorProto.raw_data` (9) is
/// rewritten; every other field is copied byte for byte, so protobuf-c decodes the same message
/// minus those bytes. Repeated `graph` fields merge and repeated `raw_data` fields keep the last,
/// as protobuf's rules say. nil when the framing along that path is malformed (the caller then
/// decodes the original, which reports the problem).
private struct WireStrip {
    /// `raw_data` of at least this many bytes stays in the file.
    static let threshold = 1024

    private(set) var bytes: [UInt8] = []
    /// Initializer index (in decoding order) → the byte range of its last `raw_data` payload.
    private(set) var rawData: [Int: Range<Int>] = [:]
    private var initializers = 0
    private let source: UnsafeBufferPointer<UInt8>

    init?(_ source: UnsafeBufferPointer<UInt8>) {
        self.source = source
        guard let model = rewrite(0..<source.count, level: 0) else { return nil }
        bytes = model
    }

    /// The message in `range` rewritten; level 0 a model, 1 a graph, 2 an initializer.
    private mutating func rewrite(_ range: Range<Int>, level: Int) -> [UInt8]? {
        guard case .success(let fields) = WireField.all(in: source, range) else { return nil }
        let tensor = level == 2 ? initializers : -1
        var out: [UInt8] = []
        for f in fields {
            let child = f.wireType == 2 && ((level == 0 && f.number == 7) || (level == 1 && f.number == 5))
            if child {
                if level == 1 { initializers += 1 }
                guard let inner = rewrite(f.payload, level: level + 1) else { return nil }
                WireStrip.append(key: f.number << 3 | 2, to: &out)
                WireStrip.append(key: UInt64(inner.count), to: &out)
                out += inner
            } else if level == 2 && f.number == 9 && f.wireType == 2 {
                if f.payload.count >= WireStrip.threshold {
                    rawData[tensor - 1] = f.payload
                    out += [9 << 3 | 2, 0]  // present, empty: the bytes stay in the file
                } else {
                    rawData[tensor - 1] = nil
                    out += source[f.start..<f.payload.upperBound]
                }
            } else {
                out += source[f.start..<f.payload.upperBound]
            }
        }
        return out
    }

    private static func append(key value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}

// MARK: - Encoding

extension ONNXModelProto {
    /// The file name `encode()` errors carry.
    private static let encoderName = "<encoded ONNX model>"

    /// Serializes the model to ONNX protobuf bytes (protobuf-c `onnx__model_proto__pack`).
    /// Empty singular strings and zero scalars are left unset, except the value field an
    /// attribute's `type` selects, which is always written. Throws `ONNXFileError(.unencodable)`
    /// for a string holding a NUL character, subgraphs nested over 31 levels deep (which the
    /// decoder would refuse) or a model beyond the 2 GiB protobuf limit.
    package func encode() throws -> [UInt8] {
        guard Self.fitsNestingLimit(graph, depth: 2) else {
            throw ONNXFileError(.unencodable, fileName: Self.encoderName, message:
                "subgraphs nested deeper than \(WireScan.maximumDepth) protobuf levels, which no reader accepts")
        }
        let arena = CArena()  // owns every C allocation below; frees them when released
        return try withExtendedLifetime(arena) {
            let message = try CEncode(arena: arena).model(self)
            let size = onnx__model_proto__get_packed_size(message)
            guard size <= Self.maximumFileSize else {
                throw ONNXFileError(.unencodable, fileName: Self.encoderName,
                                    message: "encoded model of \(size) bytes exceeds the 2 GiB protobuf limit")
            }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = size == 0 ? 0 : onnx__model_proto__pack(message, buffer.baseAddress)
            }
        }
    }

    /// Whether `graph`, a message at `depth` in `WireScan` terms, keeps its nested messages
    /// (value types: +3, subgraphs: +3 per level) within `WireScan.maximumDepth`. Stops
    /// descending as soon as the limit is passed, so it never recurses deeper than the limit.
    private static func fitsNestingLimit(_ graph: ONNXGraphProto, depth: Int) -> Bool {
        guard depth + 3 <= WireScan.maximumDepth else { return false }
        return graph.nodes.allSatisfy { node in
            node.attributes.allSatisfy { attribute in
                ((attribute.g.map { [$0] } ?? []) + attribute.graphs).allSatisfy { fitsNestingLimit($0, depth: depth + 3) }
            }
        }
    }
}

/// Owns the C memory of a message tree under construction; frees all of it on deinit.
private final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for block in blocks { free(block) } }

    /// Zeroed storage for `count` values of `T`.
    func allocate<T>(_ type: T.Type, count: Int) throws -> UnsafeMutablePointer<T> {
        guard let raw = calloc(max(count, 1), MemoryLayout<T>.stride) else {
            throw ONNXFileError(.unencodable, fileName: "<encoded ONNX model>", message: "out of memory")
        }
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// A message set up by its generated `onnx__…__init` function.
    func message<T>(_ initialize: (UnsafeMutablePointer<T>) -> Void) throws -> UnsafeMutablePointer<T> {
        let pointer = try allocate(T.self, count: 1)
        initialize(pointer)
        return pointer
    }

    /// A copy of `values` (nil when empty), for the `x` of an `n_x`/`x` pair.
    func array<T>(_ values: [T]) throws -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let pointer = try allocate(T.self, count: values.count)
        pointer.initialize(from: values, count: values.count)
        return pointer
    }

    /// A NUL-terminated copy of `string`.
    func string(_ string: String) throws -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8)
        guard !utf8.contains(0) else {
            throw ONNXFileError(.unencodable, fileName: "<encoded ONNX model>",
                                message: "string \(string.debugDescription) holds a NUL character")
        }
        let pointer = try allocate(CChar.self, count: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        return pointer
    }

    /// Like `string(_:)`, but nil (the field left unset) for the empty string.
    func optionalString(_ string: String) throws -> UnsafeMutablePointer<CChar>? {
        string.isEmpty ? nil : try self.string(string)
    }

    func binary(_ bytes: [UInt8]) throws -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: try array(bytes))
    }
}

/// Builds protobuf-c message trees from the Swift value types, in a `CArena`.
private struct CEncode {
    let arena: CArena

    /// A repeated message/string field: the count and an arena array of element pointers.
    func list<T, C>(_ items: [T], _ make: (T) throws -> UnsafeMutablePointer<C>) throws
        -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<C>?>?) {
        (items.count, try arena.array(items.map { Optional(try make($0)) }))
    }

    func flag(_ set: Bool) -> protobuf_c_boolean { set ? 1 : 0 }

    func pair(_ p: ONNXStringPair) throws -> UnsafeMutablePointer<Onnx__StringStringEntryProto> {
        let e = try arena.message(onnx__string_string_entry_proto__init)
        e.pointee.key = try arena.string(p.key)
        e.pointee.value = try arena.string(p.value)
        return e
    }

    func model(_ m: ONNXModelProto) throws -> UnsafeMutablePointer<Onnx__ModelProto> {
        let p = try arena.message(onnx__model_proto__init)
        (p.pointee.has_ir_version, p.pointee.ir_version) = (flag(m.irVersion != 0), m.irVersion)
        (p.pointee.n_opset_import, p.pointee.opset_import) = try list(m.opsetImports) { set in
            let o = try arena.message(onnx__operator_set_id_proto__init)
            o.pointee.domain = try arena.string(set.domain)  // "" is the default ai.onnx domain
            (o.pointee.has_version, o.pointee.version) = (1, set.version)
            return o
        }
        p.pointee.producer_name = try arena.optionalString(m.producerName)
        p.pointee.producer_version = try arena.optionalString(m.producerVersion)
        p.pointee.domain = try arena.optionalString(m.domain)
        (p.pointee.has_model_version, p.pointee.model_version) = (flag(m.modelVersion != 0), m.modelVersion)
        p.pointee.doc_string = try arena.optionalString(m.docString)
        p.pointee.graph = try graph(m.graph)
        (p.pointee.n_metadata_props, p.pointee.metadata_props) = try list(m.metadataProps, pair)
        return p
    }

    func graph(_ g: ONNXGraphProto) throws -> UnsafeMutablePointer<Onnx__GraphProto> {
        let p = try arena.message(onnx__graph_proto__init)
        (p.pointee.n_node, p.pointee.node) = try list(g.nodes, node)
        p.pointee.name = try arena.optionalString(g.name)
        (p.pointee.n_initializer, p.pointee.initializer) = try list(g.initializers, tensor)
        p.pointee.doc_string = try arena.optionalString(g.docString)
        (p.pointee.n_input, p.pointee.input) = try list(g.inputs, valueInfo)
        (p.pointee.n_output, p.pointee.output) = try list(g.outputs, valueInfo)
        (p.pointee.n_value_info, p.pointee.value_info) = try list(g.valueInfo, valueInfo)
        return p
    }

    func node(_ n: ONNXNodeProto) throws -> UnsafeMutablePointer<Onnx__NodeProto> {
        let p = try arena.message(onnx__node_proto__init)
        (p.pointee.n_input, p.pointee.input) = try list(n.inputs, arena.string)
        (p.pointee.n_output, p.pointee.output) = try list(n.outputs, arena.string)
        p.pointee.name = try arena.optionalString(n.name)
        p.pointee.op_type = try arena.optionalString(n.opType)
        p.pointee.domain = try arena.optionalString(n.domain)
        (p.pointee.n_attribute, p.pointee.attribute) = try list(n.attributes, attribute)
        p.pointee.doc_string = try arena.optionalString(n.docString)
        return p
    }

    func attribute(_ a: ONNXAttributeProto) throws -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let p = try arena.message(onnx__attribute_proto__init)
        p.pointee.name = try arena.string(a.name)
        p.pointee.ref_attr_name = try arena.optionalString(a.refAttrName)
        p.pointee.doc_string = try arena.optionalString(a.docString)
        p.pointee.has_type = flag(a.type != .undefined)
        p.pointee.type = Onnx__AttributeProto__AttributeType(rawValue: .init(truncatingIfNeeded: a.type.code))
        (p.pointee.has_f, p.pointee.f) = (flag(a.type == .float || a.f != 0), a.f)
        (p.pointee.has_i, p.pointee.i) = (flag(a.type == .int || a.i != 0), a.i)
        (p.pointee.has_s, p.pointee.s) = (flag(a.type == .string || !a.s.isEmpty), try arena.binary(a.s))
        p.pointee.t = try a.t.map(tensor)
        p.pointee.g = try a.g.map(graph)
        (p.pointee.n_floats, p.pointee.floats) = (a.floats.count, try arena.array(a.floats))
        (p.pointee.n_ints, p.pointee.ints) = (a.ints.count, try arena.array(a.ints))
        (p.pointee.n_strings, p.pointee.strings) = (a.strings.count, try arena.array(a.strings.map(arena.binary)))
        (p.pointee.n_tensors, p.pointee.tensors) = try list(a.tensors, tensor)
        (p.pointee.n_graphs, p.pointee.graphs) = try list(a.graphs, graph)
        if let tp = a.tp { p.pointee.tp = try typeProto(tp) }
        return p
    }

    func tensor(_ t: ONNXTensorProto) throws -> UnsafeMutablePointer<Onnx__TensorProto> {
        let p = try arena.message(onnx__tensor_proto__init)
        (p.pointee.n_dims, p.pointee.dims) = (t.dims.count, try arena.array(t.dims))
        (p.pointee.has_data_type, p.pointee.data_type) = (flag(t.dataType != 0), t.dataType)
        (p.pointee.n_float_data, p.pointee.float_data) = (t.floatData.count, try arena.array(t.floatData))
        (p.pointee.n_int32_data, p.pointee.int32_data) = (t.int32Data.count, try arena.array(t.int32Data))
        (p.pointee.n_string_data, p.pointee.string_data) =
            (t.stringData.count, try arena.array(t.stringData.map(arena.binary)))
        (p.pointee.n_int64_data, p.pointee.int64_data) = (t.int64Data.count, try arena.array(t.int64Data))
        p.pointee.name = try arena.optionalString(t.name)
        p.pointee.doc_string = try arena.optionalString(t.docString)
        if let raw = t.rawBytes { (p.pointee.has_raw_data, p.pointee.raw_data) = (1, try arena.binary(raw)) }
        (p.pointee.n_external_data, p.pointee.external_data) = try list(t.externalData, pair)
        if t.dataLocation == .external {
            (p.pointee.has_data_location, p.pointee.data_location) = (1, ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        }
        (p.pointee.n_double_data, p.pointee.double_data) = (t.doubleData.count, try arena.array(t.doubleData))
        (p.pointee.n_uint64_data, p.pointee.uint64_data) = (t.uint64Data.count, try arena.array(t.uint64Data))
        return p
    }

    func valueInfo(_ v: ONNXValueInfoProto) throws -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let p = try arena.message(onnx__value_info_proto__init)
        p.pointee.name = try arena.optionalString(v.name)
        p.pointee.doc_string = try arena.optionalString(v.docString)
        guard v.kind != .none else { return p }
        p.pointee.type = try typeProto(v)
        return p
    }

    /// The `TypeProto` of `v`: its kind, then the ``ONNXValueInfoProto/inner`` kinds, around the tensor type.
    func typeProto(_ v: ONNXValueInfoProto) throws -> UnsafeMutablePointer<Onnx__TypeProto> {
        let shape = try v.shape.map { dims in
            let s = try arena.message(onnx__tensor_shape_proto__init)
            (s.pointee.n_dim, s.pointee.dim) = try list(dims, dimension)
            return s
        }
        func make(_ kinds: ArraySlice<ONNXValueInfoProto.Kind>) throws -> UnsafeMutablePointer<Onnx__TypeProto> {
            let type = try arena.message(onnx__type_proto__init)
            switch kinds.first ?? .tensor {
            case .tensor:
                let tensor = try arena.message(onnx__type_proto__tensor__init)
                (tensor.pointee.has_elem_type, tensor.pointee.elem_type) = (flag(v.elemType != 0), v.elemType)
                tensor.pointee.shape = shape
                (type.pointee.value_case, type.pointee.tensor_type) = (ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, tensor)
            case .sparseTensor:
                let tensor = try arena.message(onnx__type_proto__sparse_tensor__init)
                (tensor.pointee.has_elem_type, tensor.pointee.elem_type) = (flag(v.elemType != 0), v.elemType)
                tensor.pointee.shape = shape
                (type.pointee.value_case, type.pointee.sparse_tensor_type) = (ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE, tensor)
            case .sequence:
                let sequence = try arena.message(onnx__type_proto__sequence__init)
                if kinds.count > 1 { sequence.pointee.elem_type = try make(kinds.dropFirst()) }
                (type.pointee.value_case, type.pointee.sequence_type) = (ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE, sequence)
            case .map:
                (type.pointee.value_case, type.pointee.map_type) =
                    (ONNX__TYPE_PROTO__VALUE_MAP_TYPE, try arena.message(onnx__type_proto__map__init))
            case .optional:
                let optional = try arena.message(onnx__type_proto__optional__init)
                if kinds.count > 1 { optional.pointee.elem_type = try make(kinds.dropFirst()) }
                (type.pointee.value_case, type.pointee.optional_type) = (ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE, optional)
            case .opaque:
                (type.pointee.value_case, type.pointee.opaque_type) =
                    (ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE, try arena.message(onnx__type_proto__opaque__init))
            case .none: break
            }
            return type
        }
        return try make(ArraySlice([v.kind] + v.inner))
    }

    func dimension(_ d: ONNXDimension) throws -> UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension> {
        let p = try arena.message(onnx__tensor_shape_proto__dimension__init)
        switch d {
        case .value(let value):
            (p.pointee.value_case, p.pointee.dim_value) = (ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, value)
        case .param(let name):
            (p.pointee.value_case, p.pointee.dim_param) =
                (ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM, try arena.string(name))
        case .unknown: break
        }
        return p
    }
}
