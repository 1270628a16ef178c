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
