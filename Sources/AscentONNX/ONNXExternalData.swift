#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AscentIR

/// Tensor data stored outside the model (`data_location = EXTERNAL`): files in the model's folder,
/// memory-mapped once each and borrowed by the tensors without copying.
///
/// A `location` is refused before any file is opened when it is empty, absolute, has a `..`
/// component, or resolves (following symlinks, via `realpath`) outside the model's folder — path
/// traversal through `location` is a known attack on ONNX tooling. `offset` and `length` are checked
/// against the file's size and the tensor's declared size.
final class ONNXExternalData {
    /// The folder holding the model, as given (for messages).
    let folder: String
    private var mapped: [String: MappedFile] = [:]

    init(folder: String) {
        self.folder = folder.isEmpty ? "." : folder
    }

    /// The tensor described by the `external_data` entries (`location`, `offset`, `length`, `checksum`).
    func tensor(_ entries: [ONNXStringPair], type: ONNXElementType, shape: [Int], count: Int) throws -> Tensor {
        var values: [String: String] = [:]
        for e in entries where values[e.key] == nil { values[e.key] = e.value }
        guard let location = values["location"] else { throw AscentError.invalid("external data has no location") }
        do {
            let offset = try Self.number(values["offset"], "offset") ?? 0
            let length = try Self.number(values["length"], "length")
            let expected = try ONNXTensorReader.byteCount(type, count: count)
            let path = try resolve(location)
            let file = try map(path)
            let size = file.bytes.count
            let span = length ?? expected
            let (end, overflow) = offset.addingReportingOverflow(span)
            guard !overflow, end <= size else {
                throw AscentError.invalid("offset \(offset) + length \(span) runs past the end of the file (\(size) bytes)")
            }
            guard span == expected else {
                throw AscentError.invalid("length \(span) does not match the \(expected) bytes \(type)\(Shape(shape)) needs")
            }
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[offset..<end])
            return try ONNXTensorReader.decode(raw: bytes, type: type, shape: shape, count: count, owner: file)
        } catch let e as AscentError {
            throw e.within("external data '\(location)'")
        }
    }

    /// A non-negative decimal entry, or nil when absent.
    private static func number(_ text: String?, _ key: String) throws -> Int? {
        guard let text else { return nil }
        guard let v = Int(text), v >= 0 else { throw AscentError.invalid("\(key) '\(text)' is not a non-negative integer") }
        return v
    }

    /// The real path of `location` inside the model's folder; refuses anything else without opening it.
    func resolve(_ location: String) throws -> String {
        guard !location.isEmpty else { throw AscentError.invalid("the location is empty") }
        guard !location.utf8.contains(0) else { throw AscentError.invalid("the location holds a NUL character") }
        guard !location.hasPrefix("/") else {
            throw AscentError.invalid("the location is an absolute path; external data must be inside the model's folder")
        }
        let components = location.split(omittingEmptySubsequences: true) { $0 == "/" || $0 == "\\" }
        guard !components.contains("..") else {
            throw AscentError.invalid("the location contains '..'; external data must be inside the model's folder")
        }
        let base = try Self.realPath(folder, what: "the model's folder")
        let real = try Self.realPath(folder + "/" + location, what: "the file")
        let inside = base == "/" ? real.hasPrefix("/") : real.hasPrefix(base + "/")
        guard inside, real != base else {
            throw AscentError.invalid("the location resolves outside the model's folder (to \(real))")
        }
        return real
    }

    private static func realPath(_ path: String, what: String) throws -> String {
        guard let resolved = realpath(path, nil) else {
            let reason = String(cString: strerror(errno)).lowercased()
            throw AscentError(errno == ENOENT || errno == ENOTDIR ? .missingFile : .invalidData, "\(what) \(path): \(reason)")
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The mapping of the file at real path `path`, made on first use.
    private func map(_ path: String) throws -> MappedFile {
        if let file = mapped[path] { return file }
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch let e as AscentError {
            throw AscentError(e.kind, "\(path): \(e.message)")
        }
        mapped[path] = file
        return file
    }
}
