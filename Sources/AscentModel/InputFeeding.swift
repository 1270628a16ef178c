import AscentImage
import AscentIR
import AscentONNX
import Foundation

/// A file to feed to a model input: `.npy` (any tensor) or `.png` (a picture).
public struct InputFile: Sendable, Equatable {
    /// The graph input it is for; nil means "the next input in order".
    public var input: String?
    public var path: String

    public init(input: String? = nil, path: String) {
        self.input = input
        self.path = path
    }

    /// `NAME=FILE` or `FILE` (an existing file whose name holds `=` stays a file).
    public init(parsing text: String) {
        if let eq = text.firstIndex(of: "="), eq != text.startIndex, !FileManager.default.fileExists(atPath: text) {
            self.init(input: String(text[..<eq]), path: String(text[text.index(after: eq)...]))
        } else {
            self.init(path: text)
        }
    }
}

/// How files become input tensors.
public struct InputOptions: Sendable, Equatable {
    /// Applied to PNG pixel values 0...255 (1/255 gives 0...1).
    public var scale: Float
    /// Fit pictures to the model: scale them to the input's height and width (as Pillow's
    /// bilinear `resize`, antialiased when shrinking) and convert their colours (gray ↔ RGB, alpha
    /// dropped). Without it a picture of another size or colour model is refused.
    public var resize: Bool
    /// Convert an `.npy` of another dtype to the input's even where values change (float64 data
    /// rounded for a float32 input, floats truncated for an integer one). Without it only
    /// conversions that keep every value are made.
    public var convertDTypes: Bool

    public init(scale: Float = 1 / 255, resize: Bool = false, convertDTypes: Bool = false) {
        self.scale = scale
        self.resize = resize
        self.convertDTypes = convertDTypes
    }
}

/// What an image input of a model takes: `[N,H,W,C]` or `[N,C,H,W]`, each size possibly unknown.
public struct ImageInputShape: Sendable, Equatable, CustomStringConvertible {
    public var height: Int?
    public var width: Int?
    public var channels: Int?
    public var channelsLast: Bool

    /// The image shape of a rank-4 input: the layout tag decides where the channels are, else
    /// an axis of size 1, 3 or 4 (the last one first). Nil for other ranks, or when no axis can
    /// hold colour channels.
    public init?(_ type: ValueType) {
        guard let dims = type.shape?.dims, dims.count == 4 else { return nil }
        let last: Bool
        if let layout = type.layout, layout.rank == 4 {
            last = layout.isChannelsLast
        } else if let c = dims[3].value, [1, 3, 4].contains(c) {
            last = true
        } else if let c = dims[1].value, [1, 3, 4].contains(c) {
            last = false
        } else if dims[3].value == nil && dims[1].value != nil {
            last = true
        } else {
            return nil
        }
        channelsLast = last
        channels = dims[last ? 3 : 1].value
        height = dims[last ? 1 : 2].value
        width = dims[last ? 2 : 3].value
        if let channels, ![1, 3, 4].contains(channels) { return nil }
    }

    /// `a 16×16 grayscale image`, `an RGB image of any size`.
    public var description: String {
        let colour = channels.map { Image.colourName(channels: $0) }
        let size: String? = switch (width, height) {
        case let (w?, h?): "\(w)×\(h)"
        case let (w?, nil): "\(w)-pixel-wide"
        case let (nil, h?): "\(h)-pixel-high"
        default: nil
        }
        let words = [size, colour].compactMap { $0 }.joined(separator: " ")
        if words.isEmpty { return "an image of any size" }
        return "\(Self.article(words)) \(words) image" + (size == nil ? " of any size" : "")
    }
}

extension ImageInputShape {
    /// "an" before a vowel sound (`an 8×8`, `an 11×11`, `an RGB`), else "a".
    static func article(_ words: String) -> String {
        let number = words.prefix { $0.isNumber }
        if !number.isEmpty {
            return number.hasPrefix("8") || ((number.count == 2 || number.count == 5) && ["11", "18"].contains(String(number.prefix(2)))) ? "an" : "a"
        }
        return words.hasPrefix("RGB") || words.first.map({ "aeiou".contains($0) }) == true ? "an" : "a"
    }
}

extension Model {
    /// Reads `files` into tensors keyed by graph input name: each file goes to the input it
    /// names, else to the next input in order.
    /// - Throws: `.usage` for an input name the model lacks (with the closest ones) or more
    ///   files than inputs; `.invalidData` for a file whose shape the input cannot take,
    ///   described in the file's own terms (a picture's size and colours, an array's shape);
    ///   the readers' errors for unreadable or corrupt files.
    public func feeds(_ files: [InputFile], options: InputOptions = InputOptions()) throws -> [String: Tensor] {
        var feeds: [String: Tensor] = [:]
        for (name, v) in try valueFeeds(files, options: options) {
            guard let t = v.tensor, graph.inputs.first(where: { $0.name == name })?.type.isTensor ?? true else {
                throw AscentError.invalid("input '\(name)' is a sequence or optional value: only `ascent run` takes those")
            }
            feeds[name] = t
        }
        return feeds
    }

    /// ``feeds(_:options:)`` for models whose inputs may be sequences or optionals
    /// (`ValueKind`), each file read by ``value(from:for:options:)``.
    public func valueFeeds(_ files: [InputFile], options: InputOptions = InputOptions()) throws -> [String: GraphValue] {
        var feeds: [String: GraphValue] = [:]
        for (i, file) in files.enumerated() {
            let info: ValueInfo
            if let name = file.input {
                guard let found = graph.inputs.first(where: { $0.name == name }) else {
                    let names = NameSuggestions.closest(to: name, among: graph.inputs.map(\.name))
                    throw AscentError(.usage, "model has no input '\(name)' (inputs: \(names.joined(separator: ", ")))")
                }
                info = found
            } else {
                guard i < graph.inputs.count else {
                    throw AscentError(.usage, "model has \(graph.inputs.count) input\(graph.inputs.count == 1 ? "" : "s"), got \(files.count) --input files")
                }
                info = graph.inputs[i]
            }
            feeds[info.name] = try value(from: file.path, for: info, options: options)
        }
        return feeds
    }

    /// One `--input` for `input`, by its kind: a tensor from one file (``tensor(from:for:options:)``);
    /// a sequence from a comma-separated list of files, its tensors in order (`[]` for an empty
    /// one); an optional as what it holds, or `none` for no value. An ONNX `.pb` file (the backend
    /// tests' format) is read as a `TensorProto`, `SequenceProto` or `OptionalProto` by the input's kind.
    /// - Throws: `.invalidData` for `none` given to a non-optional input, or a file that does not fit.
    public func value(from text: String, for input: ValueInfo, options: InputOptions = InputOptions()) throws -> GraphValue {
        let kind = input.type.kind
        if text.lowercased().hasSuffix(".pb"), !text.contains(",") {
            return try ONNXTensorFile.loadValue(path: text, kind: kind)
        }
        if text == "none" {
            guard kind.isOptional else {
                throw AscentError.invalid("input '\(input.name)' is \(input.type), not optional: 'none' is for optional inputs")
            }
            return .none
        }
        let element = ValueInfo(name: input.name, type: input.type.tensorType)
        guard kind.isSequence else {
            guard !FileManager.default.fileExists(atPath: text), text.contains(",") else {
                return .tensor(try tensor(from: text, for: element, options: options))
            }
            throw AscentError.invalid("input '\(input.name)' is \(input.type): give one file, not a list")
        }
        if text == "[]" { return .sequence([]) }
        let paths = FileManager.default.fileExists(atPath: text) ? [text] : text.split(separator: ",").map(String.init)
        return .sequence(try paths.map { try tensor(from: $0, for: element, options: options) })
    }

    /// One file as a tensor for `input`: a PNG as `pixel × scale` in the input's layout (fitted
    /// with ``InputOptions/resize``) and dtype, an `.npy` in its own dtype when that is the input's,
    /// else converted to the input's when every value survives the conversion (int32 data for an
    /// int64 input, float32 data holding float16 values for a float16 one) or
    /// ``InputOptions/convertDTypes`` asks.
    public func tensor(from path: String, for input: ValueInfo, options: InputOptions = InputOptions()) throws -> Tensor {
        guard path.lowercased().hasSuffix(".png") else {
            let t = try NumPy.read(path: path, opaque: input.type.dtype)
            try check(array: t, path: path, for: input)
            return try converted(t, path: path, for: input, force: options.convertDTypes)
        }
        var picture = try PNG.read(path: path)
        guard let wanted = ImageInputShape(input.type) else {
            throw AscentError.invalid("input '\(input.name)' is \(input.type), not an image: give its values as .npy", file: path)
        }
        let sizeFits = (wanted.height ?? picture.height) == picture.height && (wanted.width ?? picture.width) == picture.width
        let colourFits = (wanted.channels ?? picture.channels) == picture.channels
        if !(sizeFits && colourFits) {
            guard options.resize else {
                throw AscentError.invalid("the model wants \(wanted), not a \(picture.width)×\(picture.height) \(Image.colourName(channels: picture.channels)) picture (input '\(input.name)' \(input.type)): --resize fits it", file: path)
            }
            if let c = wanted.channels { picture = try picture.converted(channels: c) }
            picture = try picture.resized(width: wanted.width ?? picture.width, height: wanted.height ?? picture.height)
        }
        var t = picture.tensor(scale: options.scale)
        if input.type.dtype.isFloatingPoint { t = t.converted(to: input.type.dtype) }
        return wanted.channelsLast ? t : try t.transposed([0, 3, 1, 2])
    }

    /// `t` in the input's dtype: as it is, converted when no value changes (or `force`), else refused.
    private func converted(_ t: Tensor, path: String, for input: ValueInfo, force: Bool) throws -> Tensor {
        let wanted = input.type.dtype
        guard t.dtype != wanted else { return t }
        // Without `force`, a narrow float target keeps ±∞ (no clamping): the check below wants values kept.
        let c = t.converted(to: wanted, saturate: force)
        if force || c.converted(to: t.dtype).bitwiseEqual(t) || (t.dtype.isFloatingPoint && (wanted.isFloatingPoint || wanted.isNarrowFloat)
            && zip(c.doubles(), t.doubles()).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }) {
            return c
        }
        throw AscentError.invalid("holds \(t.dtype)\(Shape(t.shape)), input '\(input.name)' takes \(input.type): converting changes values (--convert-inputs converts anyway)", file: path)
    }

    /// Refuses an array whose rank or known sizes differ from the input's.
    private func check(array t: Tensor, path: String, for input: ValueInfo) throws {
        guard let declared = input.type.shape else { return }
        let what = "holds \(t.dtype)\(Shape(t.shape)), input '\(input.name)' takes \(input.type)"
        guard declared.rank == t.shape.count else {
            throw AscentError.invalid("\(what): rank \(t.shape.count), the model wants rank \(declared.rank)", file: path)
        }
        for (axis, (d, n)) in zip(declared.dims, t.shape).enumerated() {
            if let v = d.value, v != n {
                throw AscentError.invalid("\(what): axis \(axis) is \(n), the model wants \(v)", file: path)
            }
        }
    }
}
