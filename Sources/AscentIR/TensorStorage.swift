#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes behind a ``Tensor``: either owned (allocated, 64-byte aligned) or borrowed
/// from an owner that keeps them alive, such as a memory-mapped file.
///
/// Storage is shared between tensor copies; ``Tensor`` copies it before a write unless
/// it is the only holder of owned bytes, so a `TensorStorage` seen by two tensors is
/// never written. That is what makes the `@unchecked Sendable` sound.
public final class TensorStorage: @unchecked Sendable {
    /// Start of the bytes.
    public let baseAddress: UnsafeMutableRawPointer
    /// Length in bytes.
    public let byteCount: Int
    /// What keeps borrowed bytes alive (nil when this storage owns them).
    public let owner: AnyObject?

    /// Allocates `byteCount` zeroed bytes.
    public init(zeroedByteCount byteCount: Int) {
        let size = max(byteCount, 1)
        baseAddress = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        self.byteCount = byteCount
        owner = nil
    }

    /// Allocates `byteCount` bytes left uninitialized: the caller must write every one before
    /// the storage backs a tensor anyone reads (a reader filling it, say).
    public init(uninitializedByteCount byteCount: Int) {
        baseAddress = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        self.byteCount = byteCount
        owner = nil
    }

    /// Allocates storage holding a copy of `bytes` (written once: no zeroing first).
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(uninitializedByteCount: bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            baseAddress.copyMemory(from: src, byteCount: bytes.count)
        } else {
            baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: 1)
        }
    }

    /// Borrows `byteCount` bytes at `pointer`, kept alive by `owner`; they are never written.
    public init(borrowing pointer: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        baseAddress = UnsafeMutableRawPointer(mutating: pointer)
        self.byteCount = byteCount
        self.owner = owner
    }

    /// True when these bytes belong to another object (a mapped file) and must not be written.
    public var isBorrowed: Bool { owner != nil }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: baseAddress, count: byteCount) }

    deinit {
        if owner == nil { baseAddress.deallocate() }
    }
}

/// A whole file mapped read-only into memory; tensors borrow slices of it without copying.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with (for error messages).
    public let path: String
    /// The mapped bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path` read-only. Throws ``AscentError`` with kind `.missingFile` when it cannot be opened.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AscentError(.missingFile, file: path, String(cString: strerror(errno)).lowercased())
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw AscentError(.missingFile, file: path, String(cString: strerror(errno)).lowercased())
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw AscentError(.missingFile, file: path, "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw AscentError(.missingFile, file: path, "cannot map file: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress, bytes.count > 0 {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
