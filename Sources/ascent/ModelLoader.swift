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
        return LoadedModel(graph: try ONNXImporter.load(path: path), format: format)
    }
}
