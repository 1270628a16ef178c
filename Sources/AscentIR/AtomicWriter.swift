#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file atomically: bytes go to a temporary file beside the target, which
/// replaces the target by `rename` only on ``commit()``. A writer dropped before
/// `commit` removes its temporary file, so a failed write never leaves a partial output
/// and never destroys an existing file.
public final class AtomicWriter {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var committed = false

    /// Opens a temporary file in the target's folder.
    /// - Throws: ``AscentError`` `.missingFile` when the folder is missing or not writable.
    public init(path: String) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var suffix = UInt64.random(in: 0...UInt64.max)
        var attempt = 0
        while true {
            let candidate = folder + "." + base + ".tmp-\(getpid())-\(String(suffix, radix: 36))"
            let opened = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if opened >= 0 {
                temporaryPath = candidate
                fd = opened
                return
            }
            attempt += 1
            guard errno == EEXIST, attempt < 8 else {
                throw AscentError(.missingFile, file: path, "cannot create output: \(String(cString: strerror(errno)))")
            }
            suffix = UInt64.random(in: 0...UInt64.max)
        }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw AscentError(.internal, file: path, "write failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes, closes and renames the temporary file over the target.
    public func commit() throws {
        guard !committed else { return }
        guard fsync(fd) == 0, close(fd) == 0 else {
            fd = -1
            throw AscentError(.internal, file: path, "cannot flush output: \(String(cString: strerror(errno)))")
        }
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw AscentError(.missingFile, file: path, "cannot replace output: \(String(cString: strerror(errno)))")
        }
        committed = true
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let writer = try AtomicWriter(path: path)
        try writer.write(bytes)
        try writer.commit()
    }
}
