import AscentIR
import AscentKeras
import AscentONNX
import Foundation

/// The model formats the CLI reads, chosen by file extension.
enum ModelFormat: String {
    case onnx
    case kerasH5 = "keras-h5"
    case keras
    case ascent

    init(path: String) throws {
        let lower = path.lowercased()
        if lower.hasSuffix(".onnx") { self = .onnx }
        else if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { self = .kerasH5 }
        else if lower.hasSuffix(".keras") { self = .keras }
        else if lower.hasSuffix(".ascent") { self = .ascent }
        else {
            throw AscentError(.usage, file: path, "unknown model format (expected .onnx, .h5, .keras or .ascent)")
        }
    }
}

/// A model loaded from disk, with the format it came from.
struct LoadedModel {
    var graph: Graph
    var format: ModelFormat
    /// An ONNX file's own nodes and weights, for `inspect` to list those rather than the IR's.
    var source: GraphSummary.Source? = nil
}

/// Loads any supported model file into the IR.
func loadModel(_ path: String, config: String? = nil) throws -> LoadedModel {
    let format = try ModelFormat(path: path)
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw AscentError(.missingFile, file: path, FileManager.default.fileExists(atPath: path) ? "file is not readable" : "no such file")
    }
    switch format {
    case .ascent:
        return LoadedModel(graph: try AscentFile.read(path: path), format: format)
    case .kerasH5, .keras:
        return LoadedModel(graph: try IsolatedImport.keras(path: path, config: config), format: format)
    case .onnx:
        let model: ONNXModelProto
        do {
            model = try ONNXModelProto.load(path: path)
        } catch let e as ONNXFileError {
            throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: path, e.message)
        }
        // External data lives beside the file (as `ONNXImporter.load(path:)` looks for it).
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let graph = try ONNXImporter.load(model: model, folder: folder, fileName: path)
        // Node names as the importer resolves empty ones.
        let nodes = model.graph.nodes.enumerated().map { i, n in
            GraphSummary.SourceNode(name: n.name.isEmpty ? "\(n.opType)_\(i)" : n.name, op: n.opType,
                                    inputs: n.inputs, outputs: n.outputs)
        }
        return LoadedModel(graph: graph, format: format,
                           source: .init(nodes: nodes, initializers: Set(model.graph.initializers.map(\.name))))
    }
}
