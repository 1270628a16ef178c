import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Element conversions the kernels share: integer elements as Int64 and back, Double values to a tensor.

/// The elements of an integer or bool tensor as Int64 (uint64 as its bit pattern).
func integerValues(_ t: Tensor) -> [Int64] {
    switch t.dtype {
    case .uint64: return t.scalars(as: UInt64.self).map { Int64(bitPattern: $0) }
    case .int64, .int32, .int16, .int8, .uint8, .uint16, .uint32: return t.int64s()
    default: return t.doubles().map { Int64($0) }
    }
}

/// Writes `values` into `t` (an integer or bool tensor just allocated), wrapping to its width.
func storeIntegers(_ values: [Int64], into t: Tensor) {
    let n = min(values.count, t.count)
    switch t.dtype {
    case .int64: let p = t.mutablePointer(Int64.self); for i in 0..<n { p[i] = values[i] }
    case .int32: let p = t.mutablePointer(Int32.self); for i in 0..<n { p[i] = Int32(truncatingIfNeeded: values[i]) }
    case .int16: let p = t.mutablePointer(Int16.self); for i in 0..<n { p[i] = Int16(truncatingIfNeeded: values[i]) }
    case .int8: let p = t.mutablePointer(Int8.self); for i in 0..<n { p[i] = Int8(truncatingIfNeeded: values[i]) }
    case .uint64: let p = t.mutablePointer(UInt64.self); for i in 0..<n { p[i] = UInt64(bitPattern: values[i]) }
    case .uint32: let p = t.mutablePointer(UInt32.self); for i in 0..<n { p[i] = UInt32(truncatingIfNeeded: values[i]) }
    case .uint16: let p = t.mutablePointer(UInt16.self); for i in 0..<n { p[i] = UInt16(truncatingIfNeeded: values[i]) }
    case .bool: let p = t.mutablePointer(UInt8.self); for i in 0..<n { p[i] = values[i] != 0 ? 1 : 0 }
    default: let p = t.mutablePointer(UInt8.self); for i in 0..<n { p[i] = UInt8(truncatingIfNeeded: values[i]) }
    }
}

/// A tensor of `type` from Double values (rounded or truncated as ``Tensor/converted(to:)`` does).
func tensor(_ type: TensorType, doubles: [Double]) -> Tensor {
    Tensor(shape: type.shape, scalars: doubles).converted(to: type.dtype)
}

/// A copy of `data` allocated from the context.
func copy(_ data: Tensor, _ type: TensorType, _ context: ExecutionContext) -> Tensor {
    let y = context.allocate(type)
    memcpy(y.rawPointer, data.rawPointer, data.byteCount)
    return y
}
