/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Supported dtypes: `f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1`, `V2` for bfloat16 (what `ml_dtypes`
/// writes for its `bfloat16`, NumPy having none), and `V1` for the narrow types (``DType/isNarrow``:
/// `ml_dtypes` writes its float8, float4, int4, uint4, int2 and uint2 arrays so, one element per byte
/// (float8_e5m2 as `f1`, read only for a float8e5m2 input; Ascent writes `V1` for all, which NumPy loads),
/// the bits in the low ones), which a reader must name (`opaque:`, the model input's declared type)
/// since the file does not; in any byte order (`<`, `>`, `|`, `=`;
/// `|` and `=` are read as little-endian). Big-endian data is byte-swapped on read, so a
/// returned ``Tensor`` always holds little-endian bytes; bool elements are normalised to 0/1.
/// Fortran-ordered, structured, object, string and complex arrays are refused.
///
/// Every failure is an ``AscentError`` whose `file` is the path (or `fileName`):
/// `.missingFile` when the file cannot be opened, `.invalidData` for anything wrong inside it.
public enum NumPy {
    /// Largest header accepted, in bytes (NumPy itself refuses more than 10 000 by default).
    static let maxHeaderLength = 1 << 20
    /// Data at least this large is borrowed from the mapped file instead of copied (when aligned).
    static let borrowThreshold = 16 * 1024

    /// Reads the `.npy` file at `path`.
    ///
    /// Large, aligned little-endian payloads are borrowed from a read-only memory map of the
    /// file rather than copied; the tensor keeps the mapping alive.
    /// - Parameter opaque: the narrow dtype `V1` elements are read as (nil: `V1` is refused).
    public static func read(path: String, opaque: DType? = nil) throws -> Tensor {
        let file = try MappedFile(path: path)
        let header = try parseHeader(file.bytes, fileName: path, opaque: opaque)
        let offset = header.dataOffset
        if !header.needsSwap, header.dtype != .bool, header.dataCount >= borrowThreshold,
           let base = file.bytes.baseAddress, Int(bitPattern: base + offset) % 64 == 0 {
            let storage = TensorStorage(borrowing: base + offset, byteCount: header.dataCount, owner: file)
            do { return try Tensor(dtype: header.dtype, shape: header.shape, storage: storage) }
            catch let error as AscentError { throw error.inFile(path) }
        }
        return try makeTensor(file.bytes, header: header, fileName: path)
    }

    /// Decodes the complete bytes of a `.npy` file; `fileName` is used in error messages.
    public static func decode(_ bytes: UnsafeRawBufferPointer, fileName: String, opaque: DType? = nil) throws -> Tensor {
        let header = try parseHeader(bytes, fileName: fileName, opaque: opaque)
        return try makeTensor(bytes, header: header, fileName: fileName)
    }

    /// Encodes `tensor` as a C-ordered, little-endian `.npy` file (format 1.0, or 2.0 when the
    /// header is longer than 65 535 bytes). The header is padded with spaces so that the data
    /// starts at a multiple of 64 bytes, as NumPy does.
    ///
    /// NumPy has no bfloat16: a bfloat16 tensor is written as `ml_dtypes` writes one, 2-byte
    /// opaque elements (`<V2`) holding the bits; `np.load(f).view(ml_dtypes.bfloat16)` reads it.
    /// The narrow types likewise as `<V1`, one element per byte (`.view(ml_dtypes.float8_e4m3fn)`,
    /// `.view(ml_dtypes.int4)`...).
    public static func encode(_ tensor: Tensor) -> [UInt8] {
        let source = tensor
        let shapeText: String
        switch source.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(source.shape[0]),)"
        default: shapeText = "(" + source.shape.map(String.init).joined(separator: ", ") + ")"
        }
        let dict = "{'descr': '\(descr(for: source.dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        var version: UInt8 = 1
        var prelude = 10
        var headerLength = paddedLength(dict.utf8.count, prelude: prelude)
        if headerLength > Int(UInt16.max) {
            version = 2
            prelude = 12
            headerLength = paddedLength(dict.utf8.count, prelude: prelude)
        }
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        out.reserveCapacity(prelude + headerLength + source.byteCount)
        let lengthBytes = version == 1 ? 2 : 4
        for i in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: headerLength >> (8 * i))) }
        out.append(contentsOf: dict.utf8)
        out.append(contentsOf: repeatElement(0x20, count: headerLength - dict.utf8.count - 1))
        out.append(0x0A)
        source.withUnsafeBytes { data in
            if source.dtype == .bool {
                out.append(contentsOf: data.lazy.map { $0 != 0 ? 1 : 0 })
            } else {
                out.append(contentsOf: data)
            }
        }
        return out
    }

    /// Writes `tensor` to `path` atomically (a temporary file in the same folder, then a rename).
    /// See ``encode(_:)`` for the format. Throws `.missingFile` when the file cannot be written.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try AtomicWriter.write(encode(tensor), to: path)
    }

    // MARK: - Header

    /// What a header says about the data that follows it.
    struct Header {
        var dtype: DType
        var shape: [Int]
        var needsSwap: Bool
        var dataOffset: Int
        var dataCount: Int
    }

    /// The NumPy type string written for `dtype`.
    static func descr(for dtype: DType) -> String {
        switch dtype {
        case .float32: return "<f4"
        case .float16: return "<f2"
        case .float64: return "<f8"
        case .int8: return "|i1"
        case .int16: return "<i2"
        case .int32: return "<i4"
        case .int64: return "<i8"
        case .uint8: return "|u1"
        case .uint16: return "<u2"
        case .uint32: return "<u4"
        case .uint64: return "<u8"
        case .bool: return "|b1"
        case .bfloat16: return "<V2"
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
             .int4, .uint4, .int2, .uint2: return "<V1"
        }
    }

    /// Header length (dict + padding + newline) making `prelude + length` a multiple of 64.
    private static func paddedLength(_ dictLength: Int, prelude: Int) -> Int {
        let unpadded = prelude + dictLength + 1
        return dictLength + 1 + (64 - unpadded % 64) % 64
    }

    static func parseHeader(_ bytes: UnsafeRawBufferPointer, fileName: String, opaque: DType? = nil) throws -> Header {
        func fail(_ message: String) -> AscentError { AscentError(.invalidData, file: fileName, message) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 6, bytes.prefix(6).elementsEqual(magic) else {
            throw fail("not a .npy file (bad magic; expected \\x93NUMPY)")
        }
        guard bytes.count >= 8 else { throw fail("file is truncated inside the .npy preamble (\(bytes.count) bytes)") }
        let major = bytes[6], minor = bytes[7]
        guard (1...3).contains(major), minor == 0 else {
            throw fail("unsupported .npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)")
        }
        let prelude = major == 1 ? 10 : 12
        guard bytes.count >= prelude else {
            throw fail("file is truncated inside the .npy preamble (\(bytes.count) bytes)")
        }
        var headerLength = 0
        for i in stride(from: prelude - 1, through: 8, by: -1) { headerLength = headerLength << 8 | Int(bytes[i]) }
        guard headerLength <= maxHeaderLength else {
            throw fail("header length \(headerLength) is larger than the \(maxHeaderLength) bytes accepted")
        }
        let dataOffset = prelude + headerLength
        guard dataOffset <= bytes.count else {
            throw fail("header is truncated: it declares \(headerLength) bytes, the file has \(bytes.count - prelude) after the preamble")
        }
        let text = UnsafeRawBufferPointer(rebasing: bytes[prelude..<dataOffset])
        var parser = PyLiteralParser(bytes: text)
        let entries: [(String, PyLiteral)]
        do {
            entries = try parser.parseHeaderDict()
        } catch let error as PyLiteralParser.SyntaxError {
            throw fail("malformed header: \(error.message) at byte \(prelude + error.offset)")
        }
        var fields: [String: PyLiteral] = [:]
        for (key, value) in entries {
            guard fields.updateValue(value, forKey: key) == nil else { throw fail("malformed header: key '\(key)' appears twice") }
        }
        let expectedKeys: Set<String> = ["descr", "fortran_order", "shape"]
        guard Set(fields.keys) == expectedKeys else {
            let keys = fields.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw fail("malformed header: keys are [\(keys)], expected 'descr', 'fortran_order' and 'shape'")
        }
        guard case .bool(let fortran)? = fields["fortran_order"] else {
            throw fail("malformed header: 'fortran_order' must be True or False")
        }
        guard case .tuple(let dims)? = fields["shape"] else { throw fail("malformed header: 'shape' must be a tuple") }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let n) = dim, n >= 0 else {
                throw fail("malformed header: 'shape' must hold non-negative integers")
            }
            shape.append(n)
        }
        let (dtype, needsSwap) = try parseDescr(fields["descr"], opaque: opaque, fail: fail)
        if fortran && shape.count > 1 {
            throw fail("Fortran-ordered arrays are not supported; save with np.ascontiguousarray")
        }
        guard let elements = Shape.product(shape) else { throw fail("shape \(Shape(shape)) overflows") }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw fail("shape \(Shape(shape)) of \(dtype.rawValue) overflows") }
        let available = bytes.count - dataOffset
        guard available == expected else {
            if available < expected {
                throw fail("data is truncated: \(dtype.rawValue)\(Shape(shape)) needs \(expected) bytes, the file has \(available)")
            }
            throw fail("\(available - expected) unexpected bytes after the data of \(dtype.rawValue)\(Shape(shape)) (expected \(expected) bytes, the file has \(available))")
        }
        return Header(dtype: dtype, shape: shape, needsSwap: needsSwap, dataOffset: dataOffset, dataCount: expected)
    }

    /// The dtype and whether elements must be byte-swapped, from the `descr` value.
    private static func parseDescr(_ value: PyLiteral?, opaque: DType?, fail: (String) -> AscentError) throws -> (DType, Bool) {
        guard case .string(let descr)? = value else {
            throw fail("structured dtypes are not supported ('descr' must be a type string such as '<f4')")
        }
        var code = Substring(descr)
        var order: Character = "="
        if let first = code.first, "<>|=".contains(first) {
            order = first
            code = code.dropFirst()
        }
        let types: [Substring: DType] = [
            "f2": .float16, "f4": .float32, "f8": .float64, "i1": .int8, "i2": .int16,
            "i4": .int32, "i8": .int64, "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64, "b1": .bool,
            "V2": .bfloat16,
        ]
        // ml_dtypes writes float8_e5m2 as `<f1` (which NumPy cannot load), the others as `<V1`.
        if code == "V1" || (code == "f1" && opaque == .float8e5m2) {
            guard let opaque, opaque.isNarrow else {
                throw fail("dtype '\(descr)' holds opaque bytes (as ml_dtypes writes float8, float4, int4 and int2 arrays); "
                           + "only an input declared as one of those types reads it\(opaque.map { ", not \($0.rawValue)" } ?? "")")
            }
            return (opaque, false)
        }
        guard let dtype = types[code] else {
            let hint = code.hasPrefix("O") ? " (object arrays need pickle)" : ""
            throw fail("dtype '\(descr)' is not supported\(hint)")
        }
        return (dtype, order == ">" && dtype.byteSize > 1)
    }

    /// Copies the data into owned storage, swapping to little-endian and normalising bools.
    private static func makeTensor(_ bytes: UnsafeRawBufferPointer, header: Header, fileName: String) throws -> Tensor {
        let data = UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset..<(header.dataOffset + header.dataCount)])
        let storage = TensorStorage(copying: data)
        let base = storage.baseAddress.assumingMemoryBound(to: UInt8.self)
        if header.needsSwap {
            let size = header.dtype.byteSize
            for start in stride(from: 0, to: header.dataCount, by: size) {
                var lo = start, hi = start + size - 1
                while lo < hi {
                    let t = base[lo]
                    base[lo] = base[hi]
                    base[hi] = t
                    lo += 1
                    hi -= 1
                }
            }
        } else if header.dtype == .bool {
            for i in 0..<header.dataCount where base[i] > 1 { base[i] = 1 }
        }
        do { return try Tensor(dtype: header.dtype, shape: header.shape, storage: storage) }
        catch let error as AscentError { throw error.inFile(fileName) }
    }
}

// MARK: - Python literal parser

/// A value of the Python literal subset used by `.npy` headers.
enum PyLiteral {
    case string(String), int(Int), bool(Bool), none
    case tuple([PyLiteral]), list([PyLiteral]), dict([(String, PyLiteral)])
}

/// A recursive-descent parser for `ast.literal_eval`-style headers: dicts, tuples, lists,
/// quoted strings (with `u`/`b` prefixes and simple escapes), integers (optionally with a
/// Python 2 `L` suffix), `True`, `False` and `None`. Trailing commas and whitespace are allowed.
struct PyLiteralParser {
    struct SyntaxError: Error {
        var message: String
        var offset: Int
    }

    let bytes: UnsafeRawBufferPointer
    var position = 0
    static let maxDepth = 32

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses the whole text as one dict with string keys, followed only by whitespace.
    mutating func parseHeaderDict() throws -> [(String, PyLiteral)] {
        skipSpace()
        guard peek() == UInt8(ascii: "{") else { throw error("expected '{'") }
        guard case .dict(let entries) = try parseValue(depth: 0) else { throw error("expected a dict") }
        skipSpace()
        guard position == bytes.count else { throw error("unexpected text after the dict") }
        return entries
    }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: position) }

    private mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    private mutating func expect(_ ascii: Unicode.Scalar) throws {
        skipSpace()
        guard peek() == UInt8(ascii: ascii) else { throw error("expected '\(ascii)'") }
        position += 1
    }

    private mutating func parseValue(depth: Int) throws -> PyLiteral {
        guard depth < PyLiteralParser.maxDepth else { throw error("nesting is too deep") }
        skipSpace()
        guard let c = peek() else { throw error("unexpected end of header") }
        switch c {
        case UInt8(ascii: "{"):
            position += 1
            var entries: [(String, PyLiteral)] = []
            while true {
                skipSpace()
                if peek() == UInt8(ascii: "}") { position += 1; return .dict(entries) }
                guard case .string(let key) = try parseValue(depth: depth + 1) else { throw error("dict keys must be strings") }
                try expect(":")
                entries.append((key, try parseValue(depth: depth + 1)))
                skipSpace()
                if peek() == UInt8(ascii: ",") { position += 1 } else { try expect("}"); return .dict(entries) }
            }
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]")
            position += 1
            var items: [PyLiteral] = []
            var sawComma = false
            while true {
                skipSpace()
                if peek() == close { position += 1; break }
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                if peek() == UInt8(ascii: ",") { position += 1; sawComma = true; continue }
                guard peek() == close else { throw error("expected ',' or '\(Unicode.Scalar(close))'") }
                position += 1
                break
            }
            if close == UInt8(ascii: "]") { return .list(items) }
            // `(x)` is just x in Python; `()` and `(x,)` are tuples.
            return items.count == 1 && !sawComma ? items[0] : .tuple(items)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .int(try parseInt())
        default:
            let start = position
            while let ch = peek(), (ch | 0x20) >= UInt8(ascii: "a"), (ch | 0x20) <= UInt8(ascii: "z") || ch == UInt8(ascii: "_") {
                position += 1
            }
            let word = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case "u", "b", "U", "B":
                if let q = peek(), q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") { return .string(try parseString()) }
            default: break
            }
            position = start
            throw error(word.isEmpty ? "unexpected character 0x\(String(c, radix: 16))" : "unexpected name '\(word)'")
        }
    }

    private mutating func parseString() throws -> String {
        guard let quote = peek() else { throw error("expected a string") }
        position += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string") }
            position += 1
            if c == quote { break }
            if c == 0x0A { throw error("newline inside a string") }
            guard c == UInt8(ascii: "\\") else { out.append(c); continue }
            guard let e = peek() else { throw error("unterminated string") }
            position += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
            default: throw error("unsupported escape '\\\(Unicode.Scalar(e))' in a string")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func parseInt() throws -> Int {
        var negative = false
        if let c = peek(), c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
            negative = c == UInt8(ascii: "-")
            position += 1
        }
        var value = 0
        var digits = 0
        while let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw error("integer is too large") }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw error("expected digits") }
        if let c = peek(), c == UInt8(ascii: "L") || c == UInt8(ascii: "l") { position += 1 }
        return negative ? -value : value
    }
}
