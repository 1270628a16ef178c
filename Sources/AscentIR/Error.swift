/// The one error type Ascent's libraries throw to callers.
///
/// Carries what went wrong (``Kind``, which the CLI maps to its exit code), the file it
/// concerns and a context path added at boundaries ("layer 'conv2d_4' (SeparableConv2D)"),
/// so that the description reads as one line: `fer.h5: layer 'conv2d_4': weight ... expected ...`.
public struct AscentError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What kind of failure this is. The CLI exit code follows from it.
    public enum Kind: String, Sendable {
        /// Bad command-line usage (exit 64).
        case usage
        /// An invalid, corrupt or unsupported model or data file (exit 65).
        case invalidData
        /// A file that does not exist or cannot be read (exit 66).
        case missingFile
        /// A bug or an environment failure inside Ascent (exit 70).
        case `internal`

        /// The exit code of the CLI contract.
        public var exitCode: Int32 {
            switch self {
            case .usage: return 64
            case .invalidData: return 65
            case .missingFile: return 66
            case .internal: return 70
            }
        }
    }

    public var kind: Kind
    /// The file concerned, as the user named it.
    public var file: String?
    /// Outermost first: e.g. `["node 'conv1' (Conv)", "input 'x'"]`.
    public var context: [String]
    public var message: String

    public init(_ kind: Kind, file: String? = nil, context: [String] = [], _ message: String) {
        self.kind = kind
        self.file = file
        self.context = context
        self.message = message
    }

    /// The same error with `file` set when it has none.
    public func inFile(_ file: String) -> AscentError {
        var copy = self
        if copy.file == nil { copy.file = file }
        return copy
    }

    /// The same error with `item` added as the outermost context.
    public func within(_ item: String) -> AscentError {
        var copy = self
        copy.context.insert(item, at: 0)
        return copy
    }

    /// One line: `file: context: context: message`.
    public var description: String {
        var parts: [String] = []
        if let file { parts.append(file) }
        parts.append(contentsOf: context)
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

extension AscentError {
    /// Shorthand for an `.invalidData` error.
    public static func invalid(_ message: String, file: String? = nil) -> AscentError {
        AscentError(.invalidData, file: file, message)
    }
}
