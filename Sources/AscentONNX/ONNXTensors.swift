import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// The ONNX element types (`TensorProto.DataType`) Ascent imports, with the ``DType`` each becomes.
///
/// Each becomes the ``DType`` of the same name: the IR holds every type as declared (the runtime
/// computes float16, bfloat16 and float64 in float32, see ``DType/computeDType``); the float8,
/// float4e2m1, int4/uint4 and int2/uint2 types are narrow dtypes (``DType/isNarrow``), one element
/// per byte in memory, packed in files: 4-bit types two to a byte (low nibble first), 2-bit types
/// four to a byte (lowest bits first), in `raw_data`, external data and, one packed byte per
/// value, `int32_data`; float8 one byte per element (one per `int32_data` value).
/// String, complex and the float6 types cannot be imported.
enum ONNXElementType: Int32, Sendable {
    case float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case bool = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, bfloat16 = 16
    case float8e4m3fn = 17, float8e4m3fnuz = 18, float8e5m2 = 19, float8e5m2fnuz = 20, uint4 = 21, int4 = 22
    case float4e2m1 = 23, float8e8m0 = 24, uint2 = 25, int2 = 26

    /// The element type of a `TensorProto.DataType` code, or nil when Ascent cannot import it.
    init?(code: Int64) {
        guard let small = Int32(exactly: code), let type = ONNXElementType(rawValue: small) else { return nil }
        self = type
    }

    /// Bytes per element in `raw_data` and external data (1 for the packed 4- and 2-bit types,
    /// whose bytes hold several: see ``elementsPerByte``).
    var byteSize: Int { importedDType.byteSize }

    /// Elements packed into one byte of `raw_data` (2 for the 4-bit types, 4 for the 2-bit ones, else 1).
    var elementsPerByte: Int { 8 / (importedDType.narrowBits.map { min($0, 8) } ?? 8) }

    /// The dtype values of this type have in the IR.
    var importedDType: DType { DType(onnxCode: Int(rawValue))! }

    /// The typed `TensorProto` field that holds this type's values when `raw_data` is absent.
    var typedField: String {
        switch self {
        case .float32: return "float_data"
        case .int64: return "int64_data"
        case .float64: return "double_data"
        case .uint32, .uint64: return "uint64_data"
        default: return "int32_data"
        }
    }

    /// The lower-case name of any `TensorProto.DataType` code, for messages (`complex64`, `code 99`).
    static func name(code: Int64) -> String {
        let names = [
            0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
            8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
            15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
            20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2",
            26: "int2", 27: "float6e2m3", 28: "float6e3m2",
        ]
        return names[Int(clamping: code)] ?? "type code \(code)"
    }
}

/// Turns `TensorProto`s into ``Tensor``s: every encoding (`raw_data`, little-endian, and each typed
/// field), every importable element type, and external data through ``ONNXExternalData``.
///
/// Every element type keeps its type (see ``ONNXElementType``). The declared size is checked against the bytes or
/// values that back it before anything is allocated; errors say which field or file falls short.
/// Errors carry no context: callers add the initializer or attribute they were reading.
final class ONNXTensorReader {
    let external: ONNXExternalData

    init(external: ONNXExternalData) {
        self.external = external
    }

    /// The tensor `proto` holds.
    func tensor(_ proto: ONNXTensorProto) throws -> Tensor {
        guard let type = ONNXElementType(code: Int64(proto.dataType)) else {
            let name = ONNXElementType.name(code: Int64(proto.dataType))
            if proto.dataType == 8 { throw AscentError.invalid("string tensors are not supported") }
            throw AscentError.invalid("element type \(name) is not supported")
        }
        let shape = try Self.shape(proto.dims)
        guard let count = Shape.product(shape) else {
            throw AscentError.invalid("dims \(proto.dims) overflow")
        }
        if proto.dataLocation == .external {
            return try external.tensor(proto.externalData, type: type, shape: shape, count: count)
        }
        if let mapped = proto.mappedRawData {
            let tensor = try Self.decode(raw: mapped.bytes, type: type, shape: shape, count: count, owner: mapped.file)
            if !tensor.storage.isBorrowed { Self.dropPages(mapped.bytes) }
            return tensor
        }
        if let raw = proto.rawData {
            return try raw.withUnsafeBytes { try Self.decode(raw: $0, type: type, shape: shape, count: count, owner: nil) }
        }
        return try Self.decode(typed: proto, type: type, shape: shape, count: count)
    }

    /// Lets the kernel drop the whole pages of `bytes` (part of a read-only private file mapping)
    /// from this process's memory once they have been copied: they are read again from the file
    /// if anything touches them, so the copy does not count twice in the resident size.
    static func dropPages(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + bytes.count) / page * page
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        madvise(pointer, end - start, MADV_DONTNEED)
    }

    /// Checked dims: none negative.
    static func shape(_ dims: [Int64]) throws -> [Int] {
        try dims.map { d in
            guard d >= 0, let v = Int(exactly: d) else { throw AscentError.invalid("dims \(dims) hold a negative size") }
            return v
        }
    }

    /// Bytes a tensor of `count` elements of `type` occupies in `raw_data` or an external file.
    static func byteCount(_ type: ONNXElementType, count: Int) throws -> Int {
        if type.elementsPerByte > 1 { return (count + type.elementsPerByte - 1) / type.elementsPerByte }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.byteSize)
        guard !overflow else { throw AscentError.invalid("\(count) elements of \(type) overflow") }
        return bytes
    }

    /// A tensor from little-endian element bytes. When `owner` keeps `raw` alive (a mapped file) and
    /// nothing needs converting, the tensor borrows the bytes instead of copying them.
    static func decode(raw: UnsafeRawBufferPointer, type: ONNXElementType, shape: [Int], count: Int,
                       owner: AnyObject?) throws -> Tensor {
        let expected = try byteCount(type, count: count)
        guard raw.count == expected else {
            throw AscentError.invalid("\(type)\(Shape(shape)) needs \(expected) bytes of data, raw_data holds \(raw.count)")
        }
        /// Element `i` as the little-endian integer `T`.
        func element<T: FixedWidthInteger>(_ i: Int, _: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
        }
        if type.elementsPerByte > 1 { return try unpacked(Array(raw), type: type, shape: shape, count: count) }
        switch type {
        case .bool where raw.contains(where: { $0 > 1 }):
            // A Swift Bool must be 0 or 1; other bytes mean true, as in NumPy.
            return Tensor(shape: shape, scalars: raw.map { $0 != 0 })
        default:
            // The element data is little-endian, as are the hosts Ascent runs on.
            if let owner, let base = raw.baseAddress, count > 0, Int(bitPattern: base) % type.byteSize == 0 {
                let storage = TensorStorage(borrowing: base, byteCount: raw.count, owner: owner)
                return try Tensor(dtype: type.importedDType, shape: shape, storage: storage)
            }
            return try Tensor(dtype: type.importedDType, shape: shape, bytes: raw)
        }
    }

    /// The one-byte-per-element tensor of packed 4- or 2-bit `bytes` (low bits first).
    static func unpacked(_ bytes: [UInt8], type: ONNXElementType, shape: [Int], count: Int) throws -> Tensor {
        let per = type.elementsPerByte, bits = 8 / per, mask = UInt8((1 << bits) - 1)
        let elements = (0..<count).map { i in (bytes[i / per] >> UInt8(bits * (i % per))) & mask }
        return try elements.withUnsafeBytes { try Tensor(dtype: type.importedDType, shape: shape, bytes: $0) }
    }

    /// The packed bytes of a one-byte-per-element 4- or 2-bit tensor (low bits first, the last
    /// byte's unused bits zero), as `raw_data` holds them.
    static func packed(_ t: Tensor) -> [UInt8] {
        let bits = t.dtype.narrowBits ?? 8, per = 8 / bits, mask = UInt8((1 << bits) - 1)
        var out = [UInt8](repeating: 0, count: (t.count + per - 1) / per)
        t.withUnsafeBytes { raw in
            for i in 0..<t.count { out[i / per] |= (raw[i] & mask) << UInt8(bits * (i % per)) }
        }
        return out
    }

    /// A tensor from the typed field `type` uses (`float_data`, `int32_data`...).
    static func decode(typed t: ONNXTensorProto, type: ONNXElementType, shape: [Int], count: Int) throws -> Tensor {
        if type.elementsPerByte > 1 {
            let needed = try byteCount(type, count: count)
            guard t.int32Data.count == needed else {
                throw AscentError.invalid("\(type)\(Shape(shape)) declares \(count) elements, packed in \(needed) int32_data values, but has \(t.int32Data.count)")
            }
            return try unpacked(t.int32Data.map { UInt8(truncatingIfNeeded: $0) }, type: type, shape: shape, count: count)
        }
        let held: Int
        switch type {
        case .float32: held = t.floatData.count
        case .int64: held = t.int64Data.count
        case .float64: held = t.doubleData.count
        case .uint32, .uint64: held = t.uint64Data.count
        default: held = t.int32Data.count
        }
        guard held == count else {
            let what = held == 0 && count > 0 ? "holds no data (no raw_data, empty \(type.typedField))"
                                               : "has \(held) values in \(type.typedField)"
            throw AscentError.invalid("\(type)\(Shape(shape)) declares \(count) elements but \(what)")
        }
        let ints = t.int32Data
        switch type {
        case .float32: return Tensor(shape: shape, scalars: t.floatData)
        case .float64: return Tensor(shape: shape, scalars: t.doubleData)
        // float16 and bfloat16 values are bit patterns in the low 16 bits of int32_data.
        case .float16: return Tensor(shape: shape, scalars: ints.map { Float16(bitPattern: UInt16(truncatingIfNeeded: $0)) })
        case .bfloat16:
            let bits = ints.map { UInt16(truncatingIfNeeded: $0) }
            return try bits.withUnsafeBytes { try Tensor(dtype: .bfloat16, shape: shape, bytes: $0) }
        // Narrow integers are truncated as NumPy's `astype` does (onnx.numpy_helper reads them so).
        case .int8: return Tensor(shape: shape, scalars: ints.map { Int8(truncatingIfNeeded: $0) })
        case .int16: return Tensor(shape: shape, scalars: ints.map { Int16(truncatingIfNeeded: $0) })
        case .int32: return Tensor(shape: shape, scalars: ints)
        case .uint8: return Tensor(shape: shape, scalars: ints.map { UInt8(truncatingIfNeeded: $0) })
        case .uint16: return Tensor(shape: shape, scalars: ints.map { UInt16(truncatingIfNeeded: $0) })
        case .bool: return Tensor(shape: shape, scalars: ints.map { $0 != 0 })
        case .int64: return Tensor(shape: shape, scalars: t.int64Data)
        case .uint32: return Tensor(shape: shape, scalars: t.uint64Data.map { UInt32(truncatingIfNeeded: $0) })
        case .uint64: return Tensor(shape: shape, scalars: t.uint64Data)
        // float8 values are bit patterns in the low 8 bits of int32_data (4- and 2-bit types are above).
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
             .int4, .uint4, .int2, .uint2:
            let bytes = ints.map { UInt8(truncatingIfNeeded: $0) }
            return try bytes.withUnsafeBytes { try Tensor(dtype: type.importedDType, shape: shape, bytes: $0) }
        }
    }
}

extension ONNXElementType: CustomStringConvertible {
    var description: String { ONNXElementType.name(code: Int64(rawValue)) }
}
