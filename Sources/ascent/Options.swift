import ArgumentParser
import AscentIR
import AscentModel
import AscentRuntime
import Foundation

// Options shared by several commands (`@OptionGroup`).

/// The model file, and the architecture JSON a weights-only Keras file needs.
struct ModelOptions: ParsableArguments {
    @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
    var model: String

    @Option(help: "Architecture JSON for a weights-only Keras file.")
    var config: String?

    /// Loads the model; `.h5` and `.keras` files are parsed in a child process
    /// (``IsolatedImport``).
    func load() throws -> Model {
        try Model.load(path: model, config: config, readKeras: IsolatedImport.keras)
    }
}

/// `--straight-through-quantization`, for the commands that differentiate.
struct QuantizedGradientOptions: ParsableArguments {
    @Flag(help: """
        Differentiate through QuantizeLinear→DequantizeLinear pairs as the identity on the quantized \
        range (the straight-through estimator: zero where the value saturates) instead of refusing.
        """)
    var straightThroughQuantization = false

    /// The model with its quantize–dequantize pairs made straight-through when asked (a note on
    /// stderr says how many).
    func prepared(_ model: Model) throws -> Model {
        guard straightThroughQuantization else { return model }
        var m = model
        let (graph, pairs) = try m.graph.straightThroughQuantization()
        m.graph = graph
        FileHandle.standardError.write(Data("note: --straight-through-quantization: \(pairs) QuantizeLinear→DequantizeLinear pair\(pairs == 1 ? "" : "s") differentiated as the identity on the quantized range\n".utf8))
        return m
    }
}

/// `--threads N` for the CPU kernels.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the CPU kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    var session: Session.Options {
        var options = Session.Options()
        if let threads { options.threads = threads }
        return options
    }
}

/// `--input [NAME=]FILE` (repeatable), with how pictures become tensors.
struct InputFileOptions: ParsableArguments {
    @Option(name: .customLong("input"), help: "An input as [NAME=]FILE (.npy or .png); repeat for several inputs.")
    var inputs: [String] = []

    @Option(help: "Factor applied to PNG pixel values (0...255).")
    var scale: Float = 1.0 / 255.0

    @Flag(help: "Fit PNG pictures to the model's input: scale to its height and width, convert gray/RGB.")
    var resize = false

    @Flag(help: "Convert an .npy of another dtype to the input's even where values change (by default only lossless conversions are made).")
    var convertInputs = false

    func feeds(for model: Model) throws -> [String: Tensor] {
        try model.feeds(inputs.map(InputFile.init(parsing:)),
                        options: InputOptions(scale: scale, resize: resize, convertDTypes: convertInputs))
    }

    /// The feeds with sequence and optional inputs (`ascent run`).
    func valueFeeds(for model: Model) throws -> [String: GraphValue] {
        try model.valueFeeds(inputs.map(InputFile.init(parsing:)),
                             options: InputOptions(scale: scale, resize: resize, convertDTypes: convertInputs))
    }
}

/// `--input-shape NAME=d0,d1,...` (repeatable).
struct InputShapeOptions: ParsableArguments {
    @Option(name: .customLong("input-shape"),
            help: "Fix an input's shape as NAME=d0,d1,... so inferred shapes become concrete; repeat for several inputs.")
    var inputShapes: [String] = []

    func validate() throws { _ = try shapes() }

    /// Sizes by input name; malformed specs are usage errors.
    func shapes() throws -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for spec in inputShapes {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw ValidationError("--input-shape '\(spec)' is not NAME=d0,d1,...")
            }
            let name = String(spec[..<eq])
            let sizes = spec[spec.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--input-shape '\(spec)' needs positive integer sizes, as NAME=1,224,224,3")
            }
            guard out[name] == nil else { throw ValidationError("--input-shape gives '\(name)' twice") }
            out[name] = sizes.map { $0! }
        }
        return out
    }
}

/// `--labels FILE`: class names for captions and printed classes.
struct LabelOptions: ParsableArguments {
    @Option(help: "Class names, one per line, class 0 first (default: the model's own, when it carries them).")
    var labels: String?

    /// The file's names, else the model's, else nil.
    func labels(for model: Model) throws -> ClassLabels? {
        if let labels { return try ClassLabels.read(path: labels) }
        return model.labels
    }
}

/// Refuses, before any work, an output whose folder is missing or not writable, or a path
/// that is a folder.
func checkOutput(_ path: String?, option: String) throws {
    guard let path else { return }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw AscentError(.usage, file: path, "\(option) names a folder, not a file")
    }
    try checkFolder(containing: path, option: option)
}

/// Refuses an output whose enclosing folder does not exist or cannot be written.
func checkFolder(containing path: String, option: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    let shown = folder.isEmpty ? "." : folder
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: shown, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw AscentError(.missingFile, file: path, "\(option): no folder '\(shown)' to write into")
    }
    guard FileManager.default.isWritableFile(atPath: shown) else {
        throw AscentError(.missingFile, file: path, "\(option): folder '\(shown)' is not writable")
    }
}
