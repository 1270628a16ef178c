import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the type conversions (Ops/Cast.swift): Cast, CastLike, BitCast.

/// Cast between any two dtypes, to the `to` type. Floats to integers truncate toward zero (saturating;
/// NaN gives 0); integers to narrower integers wrap, as C casts do; anything to bool is `x != 0`.
/// Narrow types (float8, float4, int4, int2...) are decoded exactly, and encoded as
/// ``DType/encodeNarrow(_:saturate:rounding:)`` says, with the node's `saturate` and `round_mode`.
struct CastKernel: Kernel {
    let to: DType
    let rounding: SaturateAttributes?

    static let supported: Set<DType> = Set(DType.allCases)

    init(to: DType, rounding: SaturateAttributes? = nil) throws {
        guard CastKernel.supported.contains(to) else { throw AscentError.invalid("cast to \(to.rawValue) is not supported") }
        self.to = to
        self.rounding = rounding
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard CastKernel.supported.contains(x.dtype) else { throw KernelError.dtype(x.dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard var x = inputs[0] else { throw AscentError.invalid("missing input") }
        if x.dtype == to { return [x] }
        if x.dtype.isNarrow {
            // Exact: every narrow value is an int32 or a float32.
            x = x.converted(to: x.dtype.isNarrowInteger ? .int32 : .float32)
            if x.dtype == to { return [x] }
        }
        let y = context.allocate(outputs[0])
        let n = x.count, src = x.rawPointer, dst = y.rawPointer
        if to.isNarrow {
            let out = dst.assumingMemoryBound(to: UInt8.self), target = to
            if to.isNarrowInteger, x.dtype.isInteger || x.dtype == .bool {
                readIntegers(src, x.dtype, n) { out[$0] = target.encodeNarrow(integer: $1) }
            } else {
                let values = x.floats(), saturate = rounding?.saturate ?? true, mode = rounding?.roundMode ?? .up
                for i in 0..<n { out[i] = target.encodeNarrow(values[i], saturate: saturate, rounding: mode) }
            }
        } else if to == .bool {
            let out = dst.assumingMemoryBound(to: UInt8.self)
            switch x.dtype {
            case .float32: each(src, Float.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            case .float64: each(src, Double.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            case .float16: each(src, Float16.self, n) { out[$0] = $1 != 0 ? 1 : 0 }
            case .bfloat16: each(src, UInt16.self, n) { out[$0] = $1 & 0x7FFF != 0 ? 1 : 0 }
            default: readIntegers(src, x.dtype, n) { out[$0] = $1 != 0 ? 1 : 0 }
            }
        } else if to.isFloatingPoint {
            switch x.dtype {
            case .float32: each(src, Float.self, n) { write(dst, to, $0, Double($1)) }
            case .float64: each(src, Double.self, n) { write(dst, to, $0, $1) }
            case .float16: each(src, Float16.self, n) { write(dst, to, $0, Double($1)) }
            case .bfloat16: each(src, UInt16.self, n) { write(dst, to, $0, Double(BFloat16(bitPattern: $1).floatValue)) }
            case .uint64: each(src, UInt64.self, n) { write(dst, to, $0, Double($1)) }
            default: readIntegers(src, x.dtype, n) { write(dst, to, $0, Double($1)) }
            }
        } else {
            switch x.dtype {
            case .float32: each(src, Float.self, n) { writeInteger(dst, to, $0, CastKernel.truncate(Double($1), to)) }
            case .float64: each(src, Double.self, n) { writeInteger(dst, to, $0, CastKernel.truncate($1, to)) }
            case .float16: each(src, Float16.self, n) { writeInteger(dst, to, $0, CastKernel.truncate(Double($1), to)) }
            case .bfloat16:
                each(src, UInt16.self, n) { writeInteger(dst, to, $0, CastKernel.truncate(Double(BFloat16(bitPattern: $1).floatValue), to)) }
            default: readIntegers(src, x.dtype, n) { writeInteger(dst, to, $0, $1) }
            }
        }
        return [y]
    }

    /// `v` toward zero as an integer of `type`: saturating to Int64, and for uint64 values above
    /// `Int64.max` their bit pattern.
    static func truncate(_ v: Double, _ type: DType) -> Int64 {
        if type == .uint64, v >= 9.2e18 {
            return Int64(bitPattern: v >= 1.8446744073709552e19 ? .max : UInt64(v.rounded(.towardZero)))
        }
        return truncate(v)
    }

    static func truncate(_ v: Double) -> Int64 {
        guard v.isFinite else { return 0 }
        if v >= 9.2e18 { return .max }
        if v <= -9.2e18 { return .min }
        return Int64(v.rounded(.towardZero))
    }
}

@inline(__always)
private func each<T>(_ p: UnsafeMutableRawPointer, _: T.Type, _ n: Int, _ body: (Int, T) -> Void) {
    let s = p.assumingMemoryBound(to: T.self)
    for i in 0..<n { body(i, s[i]) }
}

/// Reads integer or bool elements as Int64.
private func readIntegers(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ n: Int, _ body: (Int, Int64) -> Void) {
    switch dtype {
    case .int64: each(p, Int64.self, n) { body($0, $1) }
    case .int32: each(p, Int32.self, n) { body($0, Int64($1)) }
    case .int16: each(p, Int16.self, n) { body($0, Int64($1)) }
    case .int8: each(p, Int8.self, n) { body($0, Int64($1)) }
    case .uint16: each(p, UInt16.self, n) { body($0, Int64($1)) }
    case .uint32: each(p, UInt32.self, n) { body($0, Int64($1)) }
    case .uint64: each(p, UInt64.self, n) { body($0, Int64(bitPattern: $1)) }
    default: each(p, UInt8.self, n) { body($0, Int64($1)) }
    }
}

@inline(__always)
private func write(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ i: Int, _ v: Double) {
    switch dtype {
    case .float32: p.assumingMemoryBound(to: Float.self)[i] = Float(v)
    case .float64: p.assumingMemoryBound(to: Double.self)[i] = v
    case .bfloat16: p.assumingMemoryBound(to: UInt16.self)[i] = BFloat16(Float(v)).bitPattern
    default: p.assumingMemoryBound(to: Float16.self)[i] = Float16(Float(v))
    }
}

@inline(__always)
private func writeInteger(_ p: UnsafeMutableRawPointer, _ dtype: DType, _ i: Int, _ v: Int64) {
    switch dtype {
    case .int64: p.assumingMemoryBound(to: Int64.self)[i] = v
    case .int32: p.assumingMemoryBound(to: Int32.self)[i] = Int32(truncatingIfNeeded: v)
    case .int16: p.assumingMemoryBound(to: Int16.self)[i] = Int16(truncatingIfNeeded: v)
    case .int8: p.assumingMemoryBound(to: Int8.self)[i] = Int8(truncatingIfNeeded: v)
    case .uint16: p.assumingMemoryBound(to: UInt16.self)[i] = UInt16(truncatingIfNeeded: v)
    case .uint32: p.assumingMemoryBound(to: UInt32.self)[i] = UInt32(truncatingIfNeeded: v)
    case .uint64: p.assumingMemoryBound(to: UInt64.self)[i] = UInt64(bitPattern: v)
    default: p.assumingMemoryBound(to: UInt8.self)[i] = UInt8(truncatingIfNeeded: v)
    }
}

/// CastLike(x, like): x cast to like's type (the Cast kernel's conversions).
struct CastLikeKernel: Kernel {
    let rounding: SaturateAttributes

    func cast(_ to: DType) throws -> CastKernel { try CastKernel(to: to, rounding: rounding) }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), like = try inputs.type(1)
        return try cast(like.dtype).check(KernelInputs(types: [x], values: [inputs.value(0)]))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        try cast(outputs[0].dtype).run([inputs[0]], outputs: outputs, context: context)
    }
}

/// BitCast(x, to): the bits of each element reinterpreted as type `to` of the same width. Works on
/// the bits the imported values still carry: same-width types directly, float64 targets from int64
/// (rounded to float32), and unsigned 16/32/64-bit types (held as int64) by truncating or
/// zero-extending to their width.
struct BitCastKernel: Kernel {
    let code: Int, target: DType
    /// The width in bytes of ONNX type `code` (`target` is its imported form: floating types as
    /// float32, unsigned 16/32/64-bit integers as int64).
    let width: Int

    init(_ a: BitCastAttributes) {
        code = a.code
        target = a.to
        switch code {
        case 4, 10, 16: width = 2
        case 12: width = 4
        case 11, 13: width = 8
        default: width = a.to.byteSize
        }
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.count
        if code == 11 {
            guard x.dtype == .int64 else { throw AscentError.invalid("bitcast of \(x.dtype.rawValue) to float64 is not supported") }
            let s = x.pointer(Int64.self), o = y.mutableFloats
            for i in 0..<n { o[i] = Float(Double(bitPattern: UInt64(bitPattern: s[i]))) }
        } else if target == .int64 && width < 8 {
            // Unsigned target held as int64: the source's low `width` bytes, zero-extended.
            let v = integerValues(x), mask: Int64 = (1 << (8 * width)) - 1
            storeIntegers(v.map { $0 & mask }, into: y)
        } else if x.dtype.byteSize == target.byteSize && width == target.byteSize {
            y.rawPointer.copyMemory(from: x.rawPointer, byteCount: x.byteCount)
        } else if x.dtype == .int64 && target.isInteger && width == target.byteSize {
            // An unsigned source held as int64, cast to a signed type of its width: the low bits.
            storeIntegers(x.int64s(), into: y)
        } else {
            throw AscentError.invalid("bitcast of \(x.dtype.rawValue) to type code \(code) is not supported")
        }
        return [y]
    }
}

extension KernelRegistry {
    static let cast: [(OpDefinition, KernelFactory)] = [
        (.cast, { let a = try CastAttributes($0); return try CastKernel(to: a.to, rounding: a.rounding) }),
        (.castLike, { CastLikeKernel(rounding: try SaturateAttributes($0)) }),
        (.bitCast, { BitCastKernel(try BitCastAttributes($0)) }),
    ]
}
