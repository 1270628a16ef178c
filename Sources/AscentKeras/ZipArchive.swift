import AscentIR
import AscentImage

/// A read-only ZIP archive in memory (what Keras 3 writes as `.keras`): entries are read
/// from the central directory and extracted into memory, never onto disk.
///
/// Refuses what a model archive never needs and an attacker would use: entry names that
/// are absolute or contain `..`, ZIP64, encryption, methods other than stored/deflate,
/// sizes over ``maxEntryBytes`` (zip bombs), and entries whose data falls outside the file.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var compressedSize: Int
        var size: Int
        var crc: UInt32
        var localHeaderOffset: Int
    }

    /// Largest decompressed entry accepted.
    static let maxEntryBytes = 2 << 30
    static let maxEntries = 100_000

    let bytes: [UInt8]
    let fileName: String
    private(set) var entries: [String: Entry] = [:]

    init(bytes: [UInt8], fileName: String) throws {
        self.bytes = bytes
        self.fileName = fileName
        guard bytes.count >= 22 else { throw fail("file is \(bytes.count) bytes, too short for a zip archive") }
        // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while i >= lowest {
            if u32(i) == 0x0605_4B50 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (no end-of-central-directory record; truncated?)") }
        let count = Int(u16(eocd + 10))
        let directorySize = Int(u32(eocd + 12)), directoryOffset = Int(u32(eocd + 16))
        guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw fail("ZIP64 archives are not supported") }
        guard count <= ZipArchive.maxEntries, directoryOffset + directorySize <= eocd else {
            throw fail("central directory lies outside the file (truncated or corrupt)")
        }
        var p = directoryOffset
        for _ in 0..<count {
            guard p + 46 <= eocd, u32(p) == 0x0201_4B50 else { throw fail("corrupt central directory entry") }
            let flags = u16(p + 8), method = u16(p + 10)
            let crc = u32(p + 16)
            let compressed = Int(u32(p + 20)), size = Int(u32(p + 24))
            let nameLength = Int(u16(p + 28)), extraLength = Int(u16(p + 30)), commentLength = Int(u16(p + 32))
            let local = Int(u32(p + 42))
            guard p + 46 + nameLength <= eocd else { throw fail("corrupt central directory entry") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            guard !name.hasPrefix("/"), !name.contains("\\"), !name.split(separator: "/").contains("..") else {
                throw fail("entry '\(name)' has an absolute or parent-relative path")
            }
            guard flags & 1 == 0 else { throw fail("entry '\(name)' is encrypted") }
            guard size <= ZipArchive.maxEntryBytes else { throw fail("entry '\(name)' declares \(size) bytes, over the limit") }
            // Deflate expands at most 1032:1; a larger declared size is not backed by the data (and
            // the output buffer is allocated at the declared size before inflating).
            guard method != 8 || size <= compressed * 1032 + 1024 else {
                throw fail("entry '\(name)' declares \(size) bytes from \(compressed) compressed, more than deflate can expand to")
            }
            entries[name] = Entry(name: name, method: method, compressedSize: compressed, size: size, crc: crc,
                                  localHeaderOffset: local)
            p += 46 + nameLength + extraLength + commentLength
        }
    }

    /// The decompressed bytes of `name`, CRC-checked.
    func read(_ name: String) throws -> [UInt8] {
        guard let e = entries[name] else { throw fail("archive has no '\(name)'") }
        let h = e.localHeaderOffset
        guard h + 30 <= bytes.count, u32(h) == 0x0403_4B50 else { throw fail("entry '\(name)': corrupt local header") }
        let start = h + 30 + Int(u16(h + 26)) + Int(u16(h + 28))
        guard start + e.compressedSize <= bytes.count else { throw fail("entry '\(name)': data runs past the end of the file (truncated?)") }
        let data: [UInt8]
        switch e.method {
        case 0:
            guard e.compressedSize == e.size else { throw fail("entry '\(name)': stored sizes disagree") }
            data = Array(bytes[start..<(start + e.size)])
        case 8:
            do {
                data = try bytes.withUnsafeBytes {
                    try Zlib.rawInflate(UnsafeRawBufferPointer(rebasing: $0[start..<(start + e.compressedSize)]), expectedSize: e.size)
                }
            } catch {
                throw fail("entry '\(name)': cannot inflate (\(error))")
            }
        default:
            throw fail("entry '\(name)': compression method \(e.method) is not supported")
        }
        guard Zlib.crc32(data) == e.crc else { throw fail("entry '\(name)': CRC mismatch (corrupt archive)") }
        return data
    }

    private func u16(_ i: Int) -> UInt16 { UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
    private func u32(_ i: Int) -> UInt32 {
        UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
    }
    private func fail(_ message: String) -> AscentError { AscentError.invalid(message, file: fileName) }
}
