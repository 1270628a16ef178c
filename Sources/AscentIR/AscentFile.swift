import Foundation

/// The native `.ascent` file: a safetensors file whose `__metadata__` holds the graph.
///
/// Layout (all little-endian):
/// ```
/// u64 N | N bytes of JSON header, space-padded | tensor data
/// header = {"__metadata__": {"format": "ascent", "ascent_graph": "<graph JSON>"},
///           "<tensor key>": {"dtype": "F32", "shape": [3,3], "data_offsets": [begin, end]}, ...}
/// ```
/// Tensor keys are initializer names, plus `__attr__/<node index>/<attribute>` for tensor
/// attributes. Data offsets are relative to the end of the header and tile the data section
/// without holes (as safetensors requires); tensors are ordered by decreasing element size
/// so each starts at a multiple of its element size, and the header is padded so the data
/// starts at a multiple of 64 bytes. Any safetensors reader can read the weights. Narrow types
/// safetensors has no code for (float8e4m3fnuz, float8e5m2fnuz, float4e2m1, int4, uint4, int2,
/// uint2: one element per byte) are stored as `U8` and named in `__metadata__.ascent_dtypes`
/// (a JSON object: tensor key → dtype name), present only when such tensors are.
public enum AscentFile {
    /// Largest JSON header accepted when reading (a graph of ~a million nodes).
    public static let maxHeaderBytes = 256 << 20

    /// Writes `graph` to `path` atomically (temporary file, then rename).
    public static func write(_ graph: Graph, to path: String) throws {
        let writer = try AtomicWriter(path: path)
        try serialize(graph, file: path) { try writer.write($0) }
        try writer.commit()
    }

    /// The bytes of the `.ascent` file for `graph`.
    public static func encode(_ graph: Graph) throws -> [UInt8] {
        var out: [UInt8] = []
        try serialize(graph, file: nil) { out.append(contentsOf: $0) }
        return out
    }

    /// Reads an `.ascent` file held in memory (tensors borrow `bytes` without copying).
    public static func decode(_ bytes: [UInt8], name: String) throws -> Graph {
        let buffer = ByteBuffer(bytes)
        do {
            return try decode(buffer.bytes, owner: buffer)
        } catch let e as AscentError {
            throw e.inFile(name)
        }
    }

    /// Streams the file's bytes for `graph`, in order, to `sink` — the tensor data straight from
    /// the tensors, never gathered into one buffer. Call twice to learn the size first.
    public static func stream(_ graph: Graph, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        try serialize(graph, file: nil, to: sink)
    }

    /// Reads an `.ascent` file from memory the caller hands over: tensors borrow `bytes`, and
    /// `owner` (which keeps them alive) is retained by the tensors that do.
    public static func decode(borrowing bytes: UnsafeRawBufferPointer, owner: AnyObject, name: String) throws -> Graph {
        do {
            return try decode(bytes, owner: owner)
        } catch let e as AscentError {
            throw e.inFile(name)
        }
    }

    /// Writes the file's bytes, in order, to `sink`.
    static func serialize(_ graph: Graph, file: String?, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let (json, attributeTensors) = GraphJSON.make(graph)
        var tensors = graph.initializers
        for (key, t) in attributeTensors {
            guard tensors[key] == nil else {
                throw AscentError.invalid("initializer name '\(key)' collides with a reserved tensor key", file: file)
            }
            tensors[key] = t
        }
        let order = tensors.keys.sorted { a, b in
            let (sa, sb) = (tensors[a]!.dtype.byteSize, tensors[b]!.dtype.byteSize)
            return sa != sb ? sa > sb : a < b
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let graphText = String(decoding: try encoder.encode(json), as: UTF8.self)

        var metadata = ["format": "ascent", "ascent_graph": graphText]
        var offset = 0, header: [String: Any] = [:], stored: [String: String] = [:]
        for key in order {
            let t = tensors[key]!
            if !t.dtype.hasSafetensorsCode { stored[key] = t.dtype.rawValue }
            header[key] = ["dtype": t.dtype.safetensorsCode, "shape": t.shape, "data_offsets": [offset, offset + t.byteCount]]
            offset += t.byteCount
        }
        if !stored.isEmpty {
            metadata["ascent_dtypes"] = String(decoding: try encoder.encode(stored), as: UTF8.self)
        }
        header["__metadata__"] = metadata
        var headerBytes = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
        while (8 + headerBytes.count) % 64 != 0 { headerBytes.append(0x20) }

        var length = UInt64(headerBytes.count).littleEndian
        try withUnsafeBytes(of: &length) { try sink($0) }
        try headerBytes.withUnsafeBytes { try sink($0) }
        for key in order { try tensors[key]!.withUnsafeBytes { try sink($0) } }
    }

    /// Reads an `.ascent` file. Tensors borrow the memory-mapped file (no copy).
    /// The graph is validated before it is returned.
    /// - Throws: ``AscentError``: `.missingFile` when unreadable, `.invalidData` naming the
    ///   problem (truncated, bad header, offsets outside the data, unknown dtype...).
    public static func read(path: String) throws -> Graph {
        let file = try MappedFile(path: path)
        do {
            return try decode(file.bytes, owner: file)
        } catch let e as AscentError {
            throw e.inFile(path)
        } catch {
            throw AscentError.invalid("\(error)", file: path)
        }
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, owner: AnyObject) throws -> Graph {
        guard bytes.count >= 8 else { throw AscentError.invalid("file is \(bytes.count) bytes, too short for a safetensors header") }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard declared >= 2, declared <= UInt64(min(bytes.count - 8, maxHeaderBytes)) else {
            throw AscentError.invalid("header length \(declared) does not fit the file's \(bytes.count) bytes (not an .ascent/safetensors file, or truncated)")
        }
        let headerLength = Int(declared)
        let headerData = Data(bytes[8..<(8 + headerLength)])
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw AscentError.invalid("header is not a JSON object")
        }
        guard let meta = header["__metadata__"] as? [String: Any], meta["format"] as? String == "ascent",
              let graphText = meta["ascent_graph"] as? String else {
            throw AscentError.invalid("safetensors file without an Ascent graph (no __metadata__.ascent_graph)")
        }
        var stored: [String: String] = [:]
        if let text = meta["ascent_dtypes"] as? String {
            guard let names = try? JSONDecoder().decode([String: String].self, from: Data(text.utf8)) else {
                throw AscentError.invalid("__metadata__.ascent_dtypes is not a JSON object of dtype names")
            }
            stored = names
        }
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (key, value) in header where key != "__metadata__" {
            guard let entry = value as? [String: Any], let code = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offsetsAny = entry["data_offsets"] as? [Any] else {
                throw AscentError.invalid("tensor '\(key)': entry needs dtype, shape and data_offsets")
            }
            guard var dtype = DType(safetensorsCode: code) else {
                throw AscentError.invalid("tensor '\(key)': dtype '\(code)' is not supported")
            }
            if let name = stored[key] {
                guard let narrow = DType(rawValue: name), !narrow.hasSafetensorsCode, narrow.safetensorsCode == code else {
                    throw AscentError.invalid("tensor '\(key)': ascent_dtypes names '\(name)' for a \(code) tensor")
                }
                dtype = narrow
            }
            let shape = try shapeAny.map { try exactInt($0, "tensor '\(key)': shape") }
            let offsets = try offsetsAny.map { try exactInt($0, "tensor '\(key)': data_offsets") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw AscentError.invalid("tensor '\(key)': data_offsets \(offsets) fall outside the \(dataSize) data bytes (truncated file?)")
            }
            let needed = try Tensor.checkedByteCount(dtype: dtype, shape: shape)
            guard offsets[1] - offsets[0] == needed else {
                throw AscentError.invalid("tensor '\(key)': \(dtype.rawValue)\(Shape(shape)) needs \(needed) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            let pointer = bytes.baseAddress.map { UnsafeRawPointer($0 + dataStart + offsets[0]) } ?? UnsafeRawPointer(bitPattern: 64)!
            let storage = TensorStorage(borrowing: pointer, byteCount: needed, owner: owner)
            tensors[key] = try Tensor(dtype: dtype, shape: shape, storage: storage)
            ranges.append((offsets[0], offsets[1], key))
        }
        ranges.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var cursor = 0
        for (begin, end, key) in ranges {
            guard begin == cursor else {
                throw AscentError.invalid("tensor '\(key)': data at \(begin) \(begin < cursor ? "overlaps another tensor" : "leaves a hole at \(cursor)")")
            }
            cursor = end
        }
        guard cursor == dataSize else {
            throw AscentError.invalid("data section has \(dataSize) bytes but tensors cover \(cursor)")
        }
        let json: GraphJSON
        do {
            json = try JSONDecoder().decode(GraphJSON.self, from: Data(graphText.utf8))
        } catch {
            throw AscentError.invalid("graph JSON is malformed: \(describe(error))")
        }
        let graph = try json.graph(tensors: tensors)
        try graph.validate()
        return graph
    }

    private static func exactInt(_ any: Any, _ what: String) throws -> Int {
        if !(type(of: any) is Bool.Type), let n = any as? NSNumber, String(cString: n.objCType) != "c" {
            let d = n.doubleValue
            if d >= 0, d < 9.0e15, d == d.rounded() { return Int(d) }
        }
        throw AscentError.invalid("\(what) must hold non-negative integers")
    }

    private static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let key, let c): return "missing '\(key.stringValue)' at \(path(c.codingPath))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(c.debugDescription) at \(path(c.codingPath))"
        @unknown default: return "\(e)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "top level" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Bytes kept alive for tensors that borrow them.
final class ByteBuffer: @unchecked Sendable {
    let storage: UnsafeMutableRawBufferPointer
    init(_ bytes: [UInt8]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: $0.count) } }
        storage = buffer
        count = bytes.count
    }
    let count: Int
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.baseAddress, count: count) }
    deinit { storage.deallocate() }
}
