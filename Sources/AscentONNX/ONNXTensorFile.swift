import AscentIR
import Foundation

/// A standalone serialized `TensorProto`, as the ONNX backend tests store their inputs and
/// outputs (`test_data_set_0/input_0.pb`) and `onnx.numpy_helper.from_array(...).SerializeToString()`
/// writes them.
///
/// Element types are imported as initializers are (see ``ONNXImporter``): every numeric type as
/// itself; string, complex and the 8-bit-and-narrower float and integer types are refused. External data is looked up beside the file.
public struct ONNXTensorFile: Sendable {
    /// The tensor's `name` field (empty when unset).
    public var name: String
    public var tensor: Tensor

    /// Reads and decodes the `TensorProto` at `path`.
    /// - Throws: ``AscentError`` with `file` = `path`: `.missingFile` when it cannot be read,
    ///   `.invalidData` when it is not a TensorProto Ascent can import.
    public static func load(path: String) throws -> ONNXTensorFile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AscentError(.missingFile, file: path, "cannot read file (\(error.localizedDescription))")
        }
        return try decode(bytes: [UInt8](data), fileName: path, folder: ONNXImporter.folder(of: path))
    }

    /// Decodes a serialized `TensorProto`. `fileName` names it in errors; `folder` is where external
    /// data would be.
    public static func decode(bytes: [UInt8], fileName: String, folder: String = ".") throws -> ONNXTensorFile {
        // The bridge decodes whole models: wrap the tensor as the only initializer of a model's graph
        // (ModelProto.graph = field 7, GraphProto.initializer = field 5, both length-delimited),
        // which is byte for byte how a TensorProto is embedded in a model file.
        let graph = lengthDelimited(field: 5, bytes)
        let model = lengthDelimited(field: 7, graph)
        let proto: ONNXTensorProto
        do {
            let decoded = try ONNXModelProto.decode(bytes: model, fileName: fileName)
            guard decoded.graph.initializers.count == 1, let first = decoded.graph.initializers.first else {
                throw AscentError.invalid("not a TensorProto", file: fileName)
            }
            proto = first
        } catch let e as ONNXFileError {
            throw AscentError.invalid(e.message.replacingOccurrences(of: "ONNX protobuf", with: "TensorProto"),
                                      file: fileName)
        }
        do {
            let tensor = try ONNXTensorReader(external: ONNXExternalData(folder: folder)).tensor(proto)
            return ONNXTensorFile(name: proto.name, tensor: tensor)
        } catch let e as AscentError {
            throw e.inFile(fileName)
        } catch let e as ONNXFileError {
            throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: fileName, e.message)
        }
    }

    /// Reads a serialized value of `kind` at `path`, as the ONNX backend tests store them: a
    /// `TensorProto` for a tensor, a `SequenceProto` of tensors for a sequence, an `OptionalProto`
    /// (holding a tensor or a sequence, or nothing) for an optional.
    /// - Throws: as ``load(path:)``; `.invalidData` when the message is not of that kind (a nested
    ///   sequence, a map) or a tensor in it cannot be imported.
    public static func loadValue(path: String, kind: ValueKind) throws -> GraphValue {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AscentError(.missingFile, file: path, "cannot read file (\(error.localizedDescription))")
        }
        return try decodeValue(bytes: [UInt8](data), kind: kind, fileName: path, folder: ONNXImporter.folder(of: path))
    }

    /// Decodes a serialized `TensorProto`, `SequenceProto` or `OptionalProto` as a value of `kind`.
    public static func decodeValue(bytes: [UInt8], kind: ValueKind, fileName: String, folder: String = ".") throws -> GraphValue {
        func fields(_ bytes: [UInt8], _ what: String) throws -> [(number: UInt64, payload: [UInt8])] {
            guard let f = protobufMessageFields(bytes) else { throw AscentError.invalid("not a \(what): malformed protobuf", file: fileName) }
            return f
        }
        // SequenceProto: tensor_values = 3, sequence_values = 5, map_values = 6, optional_values = 7.
        func sequence(_ bytes: [UInt8]) throws -> [Tensor] {
            let f = try fields(bytes, "SequenceProto")
            if f.contains(where: { [4, 5, 6, 7].contains($0.number) }) {
                throw AscentError.invalid("a SequenceProto of sequences, maps, optionals or sparse tensors is not supported", file: fileName)
            }
            return try f.filter { $0.number == 3 }.map { try decode(bytes: $0.payload, fileName: fileName, folder: folder).tensor }
        }
        switch kind {
        case .tensor: return .tensor(try decode(bytes: bytes, fileName: fileName, folder: folder).tensor)
        case .sequence: return .sequence(try sequence(bytes))
        case .optionalTensor, .optionalSequence:
            // OptionalProto: tensor_value = 3, sequence_value = 5; neither set is an empty optional.
            let f = try fields(bytes, "OptionalProto")
            if let t = f.last(where: { $0.number == 3 }), kind == .optionalTensor {
                return .tensor(try decode(bytes: t.payload, fileName: fileName, folder: folder).tensor)
            }
            if let s = f.last(where: { $0.number == 5 }), kind == .optionalSequence { return .sequence(try sequence(s.payload)) }
            if f.contains(where: { [3, 4, 5, 6, 7].contains($0.number) }) {
                throw AscentError.invalid("the OptionalProto holds another kind of value than \(kind.rawValue)", file: fileName)
            }
            return .none
        }
    }

    /// `bytes` as a length-delimited protobuf field (wire type 2) numbered `field`.
    private static func lengthDelimited(field: UInt64, _ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 12)
        func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        varint(field << 3 | 2)
        varint(UInt64(bytes.count))
        out.append(contentsOf: bytes)
        return out
    }
}
