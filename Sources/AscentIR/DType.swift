/// The element types a tensor can hold.
///
/// Raw values are the canonical lower-case names used in the text printer,
/// the `.ascent` graph JSON and error messages.
///
/// The low-precision ONNX types (float8 in its five forms, float4e2m1, int4/uint4, int2/uint2) are
/// storage formats: in memory each element takes one byte (the 4- and 2-bit types too, in the low
/// bits, as `ml_dtypes` holds them; ONNX files pack them, see `ONNXTensors.swift`). Only the ops whose
/// ONNX type constraints admit them compute with them (Cast, CastLike, QuantizeLinear,
/// DequantizeLinear; data movement copies their bytes); ``isNarrow`` marks them, and
/// `LowPrecision.swift` holds every conversion to and from float32.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32, float16, bfloat16, float64
    case int8, int16, int32, int64, uint8, uint16, uint32, uint64
    case bool
    case float8e4m3fn, float8e4m3fnuz, float8e5m2, float8e5m2fnuz, float8e8m0, float4e2m1
    case int4, uint4, int2, uint2

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool: return 1
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
             .int4, .uint4, .int2, .uint2: return 1
        }
    }

    /// True for the low-precision storage types (float8, float4, int4/uint4, int2/uint2), held one
    /// element per byte. They are neither ``isFloatingPoint`` nor ``isInteger``: kernels of other
    /// ops refuse them, as ONNX's type constraints do.
    public var isNarrow: Bool { narrowBits != nil }

    /// True for the narrow floating formats (float8 forms, float4e2m1).
    public var isNarrowFloat: Bool { isNarrow && !isNarrowInteger }

    /// True for int4, uint4, int2 and uint2.
    public var isNarrowInteger: Bool {
        switch self {
        case .int4, .uint4, .int2, .uint2: return true
        default: return false
        }
    }

    /// The width of a narrow type's elements in bits (8, 4 or 2), nil for the others.
    public var narrowBits: Int? {
        switch self {
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0: return 8
        case .float4e2m1, .int4, .uint4: return 4
        case .int2, .uint2: return 2
        default: return nil
        }
    }

    /// True for the IEEE and brain floating-point types.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64: return true
        default: return false
        }
    }

    /// True for the signed and unsigned integer types (not bool).
    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return true
        default: return false
        }
    }

    /// True for the unsigned integer types.
    public var isUnsigned: Bool {
        switch self {
        case .uint8, .uint16, .uint32, .uint64: return true
        default: return false
        }
    }

    /// The dtype the runtime computes values of this type in: float32 for float16, bfloat16 and
    /// float64 (inputs are converted on entry, outputs back to the declared type on exit, and a
    /// Cast to float16 or bfloat16 rounds to that type's precision); every other type itself.
    public var computeDType: DType {
        switch self {
        case .float16, .bfloat16, .float64: return .float32
        default: return self
        }
    }

    /// The safetensors dtype code (`F32`, `BF16`, `I64`, `BOOL`...). float8e4m3fn, float8e5m2 and
    /// float8e8m0 have safetensors' own codes (`F8_E4M3`, `F8_E5M2`, `F8_E8M0`); the other narrow
    /// types have none (safetensors' `F4` is packed, not one element per byte) and are stored as
    /// `U8` bytes, their type named in the `.ascent` file's metadata (``AscentFile``).
    public var safetensorsCode: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int8: return "I8"
        case .int16: return "I16"
        case .int32: return "I32"
        case .int64: return "I64"
        case .uint8: return "U8"
        case .uint16: return "U16"
        case .uint32: return "U32"
        case .uint64: return "U64"
        case .bool: return "BOOL"
        case .float8e4m3fn: return "F8_E4M3"
        case .float8e5m2: return "F8_E5M2"
        case .float8e8m0: return "F8_E8M0"
        case .float8e4m3fnuz, .float8e5m2fnuz, .float4e2m1, .int4, .uint4, .int2, .uint2: return "U8"
        }
    }

    /// ONNX's `TensorProto.DataType` code (1 float32, 7 int64, 9 bool...).
    public var onnxCode: Int {
        switch self {
        case .float32: return 1
        case .uint8: return 2
        case .uint16: return 4
        case .uint32: return 12
        case .uint64: return 13
        case .int8: return 3
        case .int16: return 5
        case .int32: return 6
        case .int64: return 7
        case .bool: return 9
        case .float16: return 10
        case .float64: return 11
        case .bfloat16: return 16
        case .float8e4m3fn: return 17
        case .float8e4m3fnuz: return 18
        case .float8e5m2: return 19
        case .float8e5m2fnuz: return 20
        case .uint4: return 21
        case .int4: return 22
        case .float4e2m1: return 23
        case .float8e8m0: return 24
        case .uint2: return 25
        case .int2: return 26
        }
    }

    /// The dtype of an ONNX `TensorProto.DataType` code, or nil when Ascent has no such type.
    public init?(onnxCode code: Int) {
        guard let match = DType.allCases.first(where: { $0.onnxCode == code }) else { return nil }
        self = match
    }

    /// True when safetensors has a code of this type's own (false for the narrow types stored as `U8`).
    public var hasSafetensorsCode: Bool { DType(safetensorsCode: safetensorsCode) == self }

    /// The dtype for a safetensors code, or nil when Ascent has no such type (`U8` is uint8).
    public init?(safetensorsCode code: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsCode == code }) else { return nil }
        self = match
    }
}

/// Swift scalar types that map one-to-one onto a ``DType``.
public protocol TensorScalar: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Float16: TensorScalar { public static var dtype: DType { .float16 } }
extension Int8: TensorScalar { public static var dtype: DType { .int8 } }
extension Int16: TensorScalar { public static var dtype: DType { .int16 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension UInt16: TensorScalar { public static var dtype: DType { .uint16 } }
extension UInt32: TensorScalar { public static var dtype: DType { .uint32 } }
extension UInt64: TensorScalar { public static var dtype: DType { .uint64 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }

/// A bfloat16 value, stored as its 16 bits (the upper half of a float32).
public struct BFloat16: TensorScalar, Hashable, CustomStringConvertible {
    public static var dtype: DType { .bfloat16 }
    public var bitPattern: UInt16

    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// Rounds to nearest even, as TensorFlow and PyTorch do; NaN stays NaN.
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        } else {
            let rounding = 0x7FFF + ((bits >> 16) & 1)
            bitPattern = UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
        }
    }

    public var floatValue: Float { Float(bitPattern: UInt32(bitPattern) << 16) }
    public var description: String { floatValue.description }
}
