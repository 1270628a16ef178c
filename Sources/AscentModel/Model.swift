import AscentIR
import AscentKeras
import AscentONNX
import Foundation

/// The model file formats Ascent reads, told apart by the file's extension.
public enum ModelFormat: String, Sendable, Codable {
    case onnx
    case kerasH5 = "keras-h5"
    case keras
    case ascent

    /// The format of the file at `path`: `.onnx`, `.h5`/`.hdf5`, `.keras` or `.ascent` (any case).
    /// - Throws: `.usage` for any other extension.
    public init(path: String) throws {
        let lower = path.lowercased()
        if lower.hasSuffix(".onnx") { self = .onnx }
        else if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { self = .kerasH5 }
        else if lower.hasSuffix(".keras") { self = .keras }
        else if lower.hasSuffix(".ascent") { self = .ascent }
        else {
            throw AscentError(.usage, file: path, "unknown model format (expected .onnx, .h5, .keras or .ascent)")
        }
    }

    /// True for the formats read through libhdf5 (`.h5`, `.keras`).
    public var usesHDF5: Bool { self == .kerasH5 || self == .keras }
}

/// A model loaded from a file: its graph, where it came from, and what it says about itself.
///
/// ```swift
/// let model = try Model.load(path: "digits.onnx")
/// let feeds = try model.feeds([InputFile(parsing: "digit.png")], options: .init(resize: true))
/// let outputs = try Session(graph: model.graph).run(feeds)
/// ```
public struct Model: Sendable {
    /// The file, as the caller named it (used in error messages).
    public var path: String
    public var format: ModelFormat
    public var graph: Graph
    /// An ONNX file's own nodes and initializers, so a summary can list the file's nodes rather
    /// than the IR's (an old-opset node the importer rewrote into several stays one row).
    public var source: GraphSummary.Source?
    /// Class names the model carries (ONNX metadata), nil when it carries none.
    public var labels: ClassLabels?

    /// Reads a Keras file (`.h5`/`.keras`) into a graph: `path`, then the architecture JSON
    /// for a weights-only file.
    public typealias KerasReader = @Sendable (_ path: String, _ config: String?) throws -> Graph

    /// `KerasImporter` in this process. (The `ascent` CLI passes a reader that parses in a
    /// child process instead, because libhdf5 can crash or hang on corrupt files.)
    public static let kerasInProcess: KerasReader = { path, config in try KerasImporter.load(path: path, configPath: config) }

    /// Loads any supported model file.
    /// - Parameters:
    ///   - path: the file; its extension tells the format.
    ///   - config: the architecture JSON (`model.to_json()`) for a weights-only Keras file.
    ///   - readKeras: how `.h5` and `.keras` files are parsed.
    /// - Throws: `AscentError`: `.usage` for an unknown extension, `.missingFile` for a file
    ///   that is missing or unreadable, `.invalidData` for one that is corrupt or unsupported
    ///   (naming the file, and the layer or node at fault).
    public static func load(path: String, config: String? = nil, readKeras: KerasReader = kerasInProcess) throws -> Model {
        let format = try ModelFormat(path: path)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw AscentError(.missingFile, file: path, FileManager.default.fileExists(atPath: path) ? "file is not readable" : "no such file")
        }
        switch format {
        case .ascent:
            return Model(path: path, format: format, graph: try AscentFile.read(path: path))
        case .kerasH5, .keras:
            return Model(path: path, format: format, graph: try readKeras(path, config))
        case .onnx:
            let proto: ONNXModelProto
            do {
                proto = try ONNXModelProto.load(path: path)
            } catch let e as ONNXFileError {
                throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: path, e.message)
            }
            // External data lives beside the file (as `ONNXImporter.load(path:)` looks for it).
            let slash = path.lastIndex(of: "/")
            let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            let graph = try ONNXImporter.load(model: proto, folder: folder, fileName: path)
            // Node names as the importer resolves empty ones.
            let nodes = proto.graph.nodes.enumerated().map { i, n in
                GraphSummary.SourceNode(name: n.name.isEmpty ? "\(n.opType)_\(i)" : n.name, op: n.opType,
                                        inputs: n.inputs, outputs: n.outputs)
            }
            let metadata = Dictionary(proto.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
            return Model(path: path, format: format, graph: graph,
                         source: .init(nodes: nodes, initializers: Set(proto.graph.initializers.map(\.name))),
                         labels: ClassLabels(metadata: metadata))
        }
    }

    public init(path: String, format: ModelFormat, graph: Graph, source: GraphSummary.Source? = nil, labels: ClassLabels? = nil) {
        self.path = path
        self.format = format
        self.graph = graph
        self.source = source
        self.labels = labels
    }

    /// The floating-point graph inputs (those a probe or a gradient can move).
    public var floatingInputs: [ValueInfo] { graph.inputs.filter { $0.type.dtype.isFloatingPoint } }
}
