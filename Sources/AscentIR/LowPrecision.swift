/// Conversions between float32 and the narrow ONNX types (``DType/isNarrow``), in one place, as
/// the ONNX reference (`onnx/reference/ops/op_cast.py`, `onnx.numpy_helper`) and `ml_dtypes` compute
/// them (checked against a table they wrote, `Fixtures/lowprecision`):
///
/// | type | layout | largest finite | NaN | ∞ |
/// |---|---|---|---|---|
/// | float8e4m3fn | s eeee mmm, bias 7 | 448 | s.1111.111 | none |
/// | float8e4m3fnuz | s eeee mmm, bias 8 | 240 | 0x80 only (no −0) | none |
/// | float8e5m2 | s eeeee mm, bias 15 (IEEE) | 57344 | exponent 31, mantissa ≠ 0 | exponent 31, mantissa 0 |
/// | float8e5m2fnuz | s eeeee mm, bias 16 | 57344 | 0x80 only (no −0) | none |
/// | float8e8m0 | eeeeeeee: 2^(e−127), no sign | 2^127 | 0xFF | none |
/// | float4e2m1 | s ee m, bias 1 | 6 | none | none |
///
/// float32 → float8/float4: round to nearest, ties to even. `saturate` (ONNX Cast's attribute,
/// default 1) clamps ±∞ and values beyond the largest finite to it; without it they become ∞
/// (float8e5m2) or NaN (the others). float4e2m1 always clamps (it has neither). NaN stays NaN
/// (0x7F/0xFF, 0x7E/0xFE, 0x80); float4e2m1, having none, gives a zero of the opposite sign, as
/// `ml_dtypes` does. float8e8m0 follows ONNX's rule: the float32 exponent, rounded `up` (any
/// fraction), `down` or to `nearest` (Cast's `round_mode`), sign ignored, NaN and ∞ 0xFF.
///
/// Integers: int4 [−8, 7], uint4 [0, 15], int2 [−2, 1], uint2 [0, 3], held in a byte's low bits
/// (two's complement; decoding reads only those bits). A Cast from float truncates toward zero and
/// gives 0 for NaN, ±∞ and values out of range (`ml_dtypes`' `astype`); from an integer it keeps
/// the low bits. QuantizeLinear rounds and saturates instead (``narrowIntegerRange``).
extension DType {
    /// The rounding of Cast to float8e8m0 (ONNX `round_mode`).
    public enum E8M0Rounding: String, Sendable {
        case up, down, nearest
    }

    /// A narrow floating layout: exponent and mantissa widths, bias and where NaN and ∞ live.
    struct NarrowFloatLayout {
        enum Specials { case ieee, onlyAllOnesNaN, negativeZeroNaN, none }
        let exponentBits: Int, mantissaBits: Int, bias: Int, specials: Specials

        var signBit: Int { 1 << (exponentBits + mantissaBits) }
        var maxExponent: Int { (1 << exponentBits) - 1 }
        var maxMantissa: Int { (1 << mantissaBits) - 1 }
        /// The code of the largest finite value.
        var maxCode: Int {
            switch specials {
            case .ieee: return (maxExponent - 1) << mantissaBits | maxMantissa
            case .onlyAllOnesNaN: return maxExponent << mantissaBits | (maxMantissa - 1)
            case .negativeZeroNaN, .none: return maxExponent << mantissaBits | maxMantissa
            }
        }
    }

    var narrowFloatLayout: NarrowFloatLayout? {
        switch self {
        case .float8e4m3fn: return NarrowFloatLayout(exponentBits: 4, mantissaBits: 3, bias: 7, specials: .onlyAllOnesNaN)
        case .float8e4m3fnuz: return NarrowFloatLayout(exponentBits: 4, mantissaBits: 3, bias: 8, specials: .negativeZeroNaN)
        case .float8e5m2: return NarrowFloatLayout(exponentBits: 5, mantissaBits: 2, bias: 15, specials: .ieee)
        case .float8e5m2fnuz: return NarrowFloatLayout(exponentBits: 5, mantissaBits: 2, bias: 16, specials: .negativeZeroNaN)
        case .float4e2m1: return NarrowFloatLayout(exponentBits: 2, mantissaBits: 1, bias: 1, specials: .none)
        default: return nil
        }
    }

    /// The first ONNX opset whose operators take this type (float8 19, int4/uint4 21, float4e2m1 23,
    /// float8e8m0 24, int2/uint2 25); 1 for the others.
    public var firstONNXOpset: Int {
        switch self {
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz: return 19
        case .int4, .uint4: return 21
        case .float4e2m1: return 23
        case .float8e8m0: return 24
        case .int2, .uint2: return 25
        default: return 1
        }
    }

    /// The range of a narrow integer type (int4 −8...7...), nil for the others.
    public var narrowIntegerRange: ClosedRange<Int64>? {
        switch self {
        case .int4: return -8...7
        case .uint4: return 0...15
        case .int2: return -2...1
        case .uint2: return 0...3
        default: return nil
        }
    }

    /// The value of one element of this narrow type (its byte as stored) as float32 (exact: every
    /// narrow value is a float32). Only the type's low bits are read.
    public func decodeNarrow(_ byte: UInt8) -> Float {
        if isNarrowInteger { return Float(narrowInteger(byte)) }
        if self == .float8e8m0 {
            return byte == 0xFF ? .nan : Float(sign: .plus, exponent: Int(byte) - 127, significand: 1)
        }
        guard let f = narrowFloatLayout else { preconditionFailure("\(rawValue) is not a narrow type") }
        let b = Int(byte) & (f.signBit << 1 - 1)
        let negative = b & f.signBit != 0
        let e = (b >> f.mantissaBits) & f.maxExponent, m = b & f.maxMantissa
        switch f.specials {
        case .negativeZeroNaN where b == f.signBit: return .nan
        case .onlyAllOnesNaN where e == f.maxExponent && m == f.maxMantissa: return .nan
        case .ieee where e == f.maxExponent: return m == 0 ? (negative ? -.infinity : .infinity) : .nan
        default: break
        }
        let significand = Float(e == 0 ? m : (1 << f.mantissaBits) + m)
        let exponent = (e == 0 ? 1 : e) - f.bias - f.mantissaBits
        return Float(sign: negative ? .minus : .plus, exponent: exponent, significand: significand)
    }

    /// The integer one element of a narrow integer type holds (sign-extended from its low bits).
    public func narrowInteger(_ byte: UInt8) -> Int64 {
        switch self {
        case .int4: return Int64(Int8(bitPattern: byte << 4) >> 4)
        case .uint4: return Int64(byte & 0xF)
        case .int2: return Int64(Int8(bitPattern: byte << 6) >> 6)
        case .uint2: return Int64(byte & 0x3)
        default: preconditionFailure("\(rawValue) is not a narrow integer type")
        }
    }

    /// The element byte of integer `v` in a narrow integer type: its low bits (two's complement).
    public func encodeNarrow(integer v: Int64) -> UInt8 {
        UInt8(truncatingIfNeeded: v) & UInt8(truncatingIfNeeded: (1 << (narrowBits ?? 8)) - 1)
    }

    /// The element byte of `x` in this narrow type, as ONNX `Cast` converts (see the type's doc):
    /// floats round to nearest even with `saturate` deciding overflow; narrow integers truncate
    /// toward zero, 0 when out of range.
    public func encodeNarrow(_ x: Float, saturate: Bool = true, rounding: E8M0Rounding = .up) -> UInt8 {
        if let range = narrowIntegerRange {
            guard x.isFinite else { return 0 }
            let t = Double(x).rounded(.towardZero)
            guard t >= Double(range.lowerBound), t <= Double(range.upperBound) else { return 0 }
            return encodeNarrow(integer: Int64(t))
        }
        if self == .float8e8m0 { return DType.encodeE8M0(x, saturate: saturate, rounding: rounding) }
        guard let f = narrowFloatLayout else { preconditionFailure("\(rawValue) is not a narrow type") }
        let sign = x.sign == .minus ? f.signBit : 0
        if x.isNaN {
            switch f.specials {
            case .onlyAllOnesNaN: return UInt8(sign | f.maxExponent << f.mantissaBits | f.maxMantissa)
            case .ieee: return UInt8(sign | f.maxExponent << f.mantissaBits | 1 << (f.mantissaBits - 1))
            case .negativeZeroNaN: return UInt8(f.signBit)
            case .none: return UInt8(sign ^ f.signBit)
            }
        }
        let maxValue = decodeNarrow(UInt8(f.maxCode))
        let overflow: UInt8
        switch f.specials {
        case .none: overflow = UInt8(sign | f.maxCode)
        case .ieee: overflow = UInt8(sign | f.maxExponent << f.mantissaBits)
        case .onlyAllOnesNaN: overflow = UInt8(sign | f.maxExponent << f.mantissaBits | f.maxMantissa)
        case .negativeZeroNaN: overflow = UInt8(f.signBit)
        }
        let a = x.magnitude
        let clamps = saturate || f.specials == .none
        if a.isInfinite { return clamps ? UInt8(sign | f.maxCode) : overflow }
        if clamps, a >= maxValue { return UInt8(sign | f.maxCode) }
        // The quantum at a's exponent (subnormals share the smallest normal exponent's), then RNE.
        let minExponent = 1 - f.bias
        let exponent = a == 0 ? minExponent : max(Int(a.exponent), minExponent)
        let quantum = exponent - f.mantissaBits
        let steps = (Double(a) * Double(sign: .plus, exponent: -quantum, significand: 1)).rounded(.toNearestOrEven)
        if steps == 0 { return f.specials == .negativeZeroNaN ? 0 : UInt8(sign) }
        if steps * Double(sign: .plus, exponent: quantum, significand: 1) > Double(maxValue) { return overflow }
        var mantissa = Int(steps), e = exponent
        if mantissa >= 1 << (f.mantissaBits + 1) { mantissa >>= 1; e += 1 }
        let biased = mantissa >= 1 << f.mantissaBits ? e + f.bias : 0
        return UInt8(sign | biased << f.mantissaBits | (mantissa & f.maxMantissa))
    }

    /// ONNX's float32 → float8e8m0 (`onnx.numpy_helper.to_float8e8m0`): the biased exponent,
    /// rounded by the fraction; NaN and ∞ give 0xFF; with `saturate` 0xFE never rounds up to NaN.
    static func encodeE8M0(_ x: Float, saturate: Bool, rounding: E8M0Rounding) -> UInt8 {
        let bits = x.bitPattern
        let exponent = Int((bits >> 23) & 0xFF)
        if exponent == 0xFF { return 0xFF }
        let roundUp: Bool
        switch rounding {
        case .up: roundUp = bits & 0x7F_FFFF != 0
        case .down: roundUp = false
        case .nearest:
            let guardBit = bits & 0x40_0000 != 0, roundBit = bits & 0x20_0000 != 0, sticky = bits & 0x1F_FFFF != 0
            roundUp = guardBit && (roundBit || sticky || exponent > 0)
        }
        if roundUp, !(saturate && exponent == 0xFE) { return UInt8(exponent + 1) }
        return UInt8(exponent)
    }
}
