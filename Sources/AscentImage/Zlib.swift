import AscentIR
import CZlib

/// Deflate compression, inflate decompression and CRC-32 over the system zlib.
///
/// This is the only Swift file that imports `CZlib`. Errors are ``AscentError`` with kind
/// `.invalidData` (corrupt or truncated input) and no file name; callers add theirs with
/// ``AscentError/inFile(_:)``.
public enum Zlib {
    /// The framing around the deflate stream.
    public enum Format: Sendable {
        /// RFC 1950: a 2-byte header and an Adler-32 trailer (PNG `IDAT`).
        case zlib
        /// RFC 1951 raw deflate with no header or trailer (zip entries, method 8).
        case raw

        var windowBits: Int32 { self == .zlib ? 15 : -15 }
    }

    /// Input is handed to zlib in pieces of at most this many bytes (its counters are 32-bit).
    private static let maxChunk = 1 << 30

    /// Compresses `input` at `level` (0 = store ... 9 = smallest; 6 is zlib's default).
    public static func deflate(_ input: UnsafeRawBufferPointer, level: Int = 6, format: Format = .zlib) throws -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, Int32(max(0, min(9, level))), Z_DEFLATED, format.windowBits, 8,
                                   Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw AscentError(.internal, "zlib deflateInit failed (\(status))") }
        defer { deflateEnd(&stream) }

        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(min(input.count, Int(UInt32.max))))) + 64)
        var consumed = 0
        var produced = 0
        while true {
            if stream.avail_in == 0, consumed < input.count, let base = input.baseAddress {
                let n = min(maxChunk, input.count - consumed)
                stream.next_in = UnsafeMutablePointer(mutating: (base + consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                consumed += n
            }
            if produced == output.count { output.append(contentsOf: repeatElement(0, count: max(output.count / 2, 1024))) }
            let room = min(output.count - produced, maxChunk)
            let flush = consumed == input.count ? Z_FINISH : Z_NO_FLUSH
            let result: Int32 = output.withUnsafeMutableBytes { out in
                stream.next_out = out.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(room)
                return CZlib.deflate(&stream, flush)
            }
            produced += room - Int(stream.avail_out)
            if result == Z_STREAM_END { break }
            guard result == Z_OK || result == Z_BUF_ERROR else {
                throw AscentError(.internal, "zlib deflate failed (\(result))")
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Compresses `input` at `level` (0 = store ... 9 = smallest; 6 is zlib's default).
    public static func deflate(_ input: [UInt8], level: Int = 6, format: Format = .zlib) throws -> [UInt8] {
        try input.withUnsafeBytes { try deflate($0, level: level, format: format) }
    }

    /// Decompresses one stream that must inflate to exactly `expectedSize` bytes.
    ///
    /// Throws when the data is corrupt, ends early, or holds more than `expectedSize` bytes.
    /// Bytes after the end of the stream are ignored.
    public static func inflate(_ input: UnsafeRawBufferPointer, expectedSize: Int, format: Format = .zlib) throws -> [UInt8] {
        guard expectedSize >= 0 else { throw AscentError.invalid("negative expected size \(expectedSize)") }
        var stream = z_stream()
        let status = inflateInit2_(&stream, format.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw AscentError(.internal, "zlib inflateInit failed (\(status))") }
        defer { inflateEnd(&stream) }

        // One spare byte past the end detects streams that hold more than expected.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        var consumed = 0
        var produced = 0
        while true {
            if stream.avail_in == 0, consumed < input.count, let base = input.baseAddress {
                let n = min(maxChunk, input.count - consumed)
                stream.next_in = UnsafeMutablePointer(mutating: (base + consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                consumed += n
            }
            let room = min(output.count - produced, maxChunk)
            let result: Int32 = output.withUnsafeMutableBytes { out in
                stream.next_out = out.baseAddress!.advanced(by: produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(room)
                return CZlib.inflate(&stream, Z_NO_FLUSH)
            }
            produced += room - Int(stream.avail_out)
            guard produced <= expectedSize else {
                throw AscentError.invalid("compressed data inflates to more than the expected \(expectedSize) bytes")
            }
            switch result {
            case Z_STREAM_END:
                guard produced == expectedSize else {
                    throw AscentError.invalid("compressed data inflates to \(produced) bytes, expected \(expectedSize)")
                }
                output.removeLast()
                return output
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                guard consumed < input.count else {
                    throw AscentError.invalid("compressed data is truncated (\(produced) of \(expectedSize) bytes inflated)")
                }
                continue  // more input to hand over
            case Z_NEED_DICT:
                throw AscentError.invalid("compressed data needs a preset dictionary")
            case Z_DATA_ERROR:
                let reason = stream.msg.map { String(cString: $0) } ?? "invalid deflate data"
                throw AscentError.invalid("compressed data is corrupt: \(reason)")
            case Z_MEM_ERROR:
                throw AscentError(.internal, "zlib inflate ran out of memory")
            default:
                throw AscentError(.internal, "zlib inflate failed (\(result))")
            }
        }
    }

    /// Decompresses one stream that must inflate to exactly `expectedSize` bytes.
    public static func inflate(_ input: [UInt8], expectedSize: Int, format: Format = .zlib) throws -> [UInt8] {
        try input.withUnsafeBytes { try inflate($0, expectedSize: expectedSize, format: format) }
    }

    /// Decompresses raw deflate data (no zlib header, as in zip entries) of exactly `expectedSize` bytes.
    public static func rawInflate(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws -> [UInt8] {
        try inflate(input, expectedSize: expectedSize, format: .raw)
    }

    /// The CRC-32 (as in PNG, zip and gzip) of `bytes`, continuing from `initial`.
    public static func crc32(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = uLong(initial)
        guard let base = bytes.baseAddress else { return initial }
        var offset = 0
        while offset < bytes.count {
            let n = min(maxChunk, bytes.count - offset)
            crc = CZlib.crc32(crc, (base + offset).assumingMemoryBound(to: Bytef.self), uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// The CRC-32 (as in PNG, zip and gzip) of `bytes`, continuing from `initial`.
    public static func crc32<C: Collection<UInt8>>(_ bytes: C, initial: UInt32 = 0) -> UInt32 {
        if let crc = bytes.withContiguousStorageIfAvailable({ crc32(UnsafeRawBufferPointer($0), initial: initial) }) {
            return crc
        }
        return Array(bytes).withUnsafeBytes { crc32($0, initial: initial) }
    }
}
