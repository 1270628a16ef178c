extension Tensor {
    /// The elements converted to `Double` (bool as 0/1), whatever the dtype.
    public func doubles() -> [Double] {
        withUnsafeBytes { raw in
            let n = count
            var out = [Double](repeating: 0, count: n)
            func load<T>(_: T.Type, _ f: (T) -> Double) {
                for i in 0..<n { out[i] = f(raw.load(fromByteOffset: i * MemoryLayout<T>.stride, as: T.self)) }
            }
            switch dtype {
            case .float32: load(Float.self) { Double($0) }
            case .float16: load(Float16.self) { Double($0) }
            case .bfloat16: load(UInt16.self) { Double(BFloat16(bitPattern: $0).floatValue) }
            case .float64: load(Double.self) { $0 }
            case .int8: load(Int8.self) { Double($0) }
            case .int16: load(Int16.self) { Double($0) }
            case .int32: load(Int32.self) { Double($0) }
            case .int64: load(Int64.self) { Double($0) }
            case .uint8: load(UInt8.self) { Double($0) }
            case .uint16: load(UInt16.self) { Double($0) }
            case .uint32: load(UInt32.self) { Double($0) }
            case .uint64: load(UInt64.self) { Double($0) }
            case .bool: load(UInt8.self) { $0 != 0 ? 1 : 0 }
            case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
                 .int4, .uint4, .int2, .uint2:
                let type = dtype
                load(UInt8.self) { Double(type.decodeNarrow($0)) }
            }
            return out
        }
    }

    /// The elements converted to `Float` (float16, bfloat16 and float64 included).
    public func floats() -> [Float] {
        if dtype == .float32 { return scalars(as: Float.self) }
        return doubles().map(Float.init)
    }

    /// The elements converted to `Int64` (floats truncated toward zero).
    public func int64s() -> [Int64] {
        switch dtype {
        case .int64: return scalars(as: Int64.self)
        case .int32: return scalars(as: Int32.self).map(Int64.init)
        case .int16: return scalars(as: Int16.self).map(Int64.init)
        case .int8: return scalars(as: Int8.self).map(Int64.init)
        case .uint8: return scalars(as: UInt8.self).map(Int64.init)
        case .uint16: return scalars(as: UInt16.self).map(Int64.init)
        case .uint32: return scalars(as: UInt32.self).map(Int64.init)
        case .uint64: return scalars(as: UInt64.self).map { Int64(clamping: $0) }
        default: return doubles().map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? 0) : 0 }
        }
    }

    /// A copy converted to `target`. Floating → floating rounds to nearest; floating → integer
    /// truncates toward zero and saturates; integer → integer keeps the low bits (two's complement,
    /// as C casts do, so uint64 values above `Int64.max` survive a round trip through int64).
    /// To a narrow type (``DType/isNarrow``) as ONNX `Cast` converts (``DType/encodeNarrow(_:saturate:rounding:)``,
    /// `saturate` as Cast's attribute, default 1; integers to narrow integers keep the low bits).
    public func converted(to target: DType, saturate: Bool = true) -> Tensor {
        if target == dtype { return self }
        if dtype.isInteger, target.isInteger { return convertedBits(to: target) }
        if target.isNarrow {
            let bytes: [UInt8]
            if target.isNarrowInteger, dtype.isInteger || dtype.isNarrowInteger || dtype == .bool {
                bytes = int64s().map { target.encodeNarrow(integer: $0) }
            } else {
                bytes = doubles().map { target.encodeNarrow(Float($0), saturate: saturate) }
            }
            return bytes.withUnsafeBytes { try! Tensor(dtype: target, shape: shape, bytes: $0) }
        }
        let values = doubles()
        switch target {
        case .float32: return Tensor(shape: shape, scalars: values.map { Float($0) })
        case .float64: return Tensor(shape: shape, scalars: values)
        case .float16: return Tensor(shape: shape, scalars: values.map { Float16(Float($0)) })
        case .bfloat16:
            let bits = values.map { BFloat16(Float($0)).bitPattern }
            return bits.withUnsafeBytes { try! Tensor(dtype: .bfloat16, shape: shape, bytes: $0) }
        case .int8: return Tensor(shape: shape, scalars: values.map { Int8(clamping: Tensor.truncate($0)) })
        case .int16: return Tensor(shape: shape, scalars: values.map { Int16(clamping: Tensor.truncate($0)) })
        case .int32: return Tensor(shape: shape, scalars: values.map { Int32(clamping: Tensor.truncate($0)) })
        case .int64: return Tensor(shape: shape, scalars: values.map { Tensor.truncate($0) })
        case .uint8: return Tensor(shape: shape, scalars: values.map { UInt8(clamping: Tensor.truncate($0)) })
        case .uint16: return Tensor(shape: shape, scalars: values.map { UInt16(clamping: Tensor.truncate($0)) })
        case .uint32: return Tensor(shape: shape, scalars: values.map { UInt32(clamping: Tensor.truncate($0)) })
        case .uint64: return Tensor(shape: shape, scalars: values.map { v -> UInt64 in
            v >= 1.8446744073709552e19 ? .max : v >= 9.2e18 ? UInt64(v) : UInt64(clamping: Tensor.truncate(v)) })
        case .bool: return Tensor(shape: shape, scalars: values.map { $0 != 0 })
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
             .int4, .uint4, .int2, .uint2:
            preconditionFailure("narrow targets are converted above")
        }
    }

    /// Integer → integer, keeping the low bits.
    private func convertedBits(to target: DType) -> Tensor {
        let bits: [UInt64]
        switch dtype {
        case .int64: bits = scalars(as: Int64.self).map { UInt64(bitPattern: $0) }
        case .uint64: bits = scalars(as: UInt64.self)
        case .uint32: bits = scalars(as: UInt32.self).map(UInt64.init)
        case .uint16: bits = scalars(as: UInt16.self).map(UInt64.init)
        case .uint8: bits = scalars(as: UInt8.self).map(UInt64.init)
        default: bits = int64s().map { UInt64(bitPattern: $0) }
        }
        switch target {
        case .int64: return Tensor(shape: shape, scalars: bits.map { Int64(bitPattern: $0) })
        case .int32: return Tensor(shape: shape, scalars: bits.map { Int32(truncatingIfNeeded: $0) })
        case .int16: return Tensor(shape: shape, scalars: bits.map { Int16(truncatingIfNeeded: $0) })
        case .int8: return Tensor(shape: shape, scalars: bits.map { Int8(truncatingIfNeeded: $0) })
        case .uint8: return Tensor(shape: shape, scalars: bits.map { UInt8(truncatingIfNeeded: $0) })
        case .uint16: return Tensor(shape: shape, scalars: bits.map { UInt16(truncatingIfNeeded: $0) })
        case .uint32: return Tensor(shape: shape, scalars: bits.map { UInt32(truncatingIfNeeded: $0) })
        default: return Tensor(shape: shape, scalars: bits)
        }
    }

    private static func truncate(_ v: Double) -> Int64 {
        guard v.isFinite else { return 0 }
        if v >= 9.2e18 { return .max }
        if v <= -9.2e18 { return .min }
        return Int64(v.rounded(.towardZero))
    }
}
