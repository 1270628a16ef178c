/// Type conversions: `Cast` (`to` is ONNX's `TensorProto.DataType` code, see ``DType/onnxCode``),
/// `CastLike`, `BitCast`.
///
/// Between floating types (all computed in float32) a cast passes the gradient through; casts
/// from integers or booleans carry none (the gradient engine never asks for those).
extension OpDefinition {
    public static let cast: OpDefinition = OpDefinition(
        "Cast", inputs: 1...1, attributes: CastAttributes.self, traits: .elementwise,
        onnx: ONNXHistory([1, 6, 9, 13, 19, 21, 23, 24, 25, 28], changes: [.attributeAdded("saturate", since: 19),
                                                                                .attributeAdded("round_mode", since: 24)]),
        shape: { ctx in
            let to = try ctx.attributes(CastAttributes.self).to
            return [ctx.input(0).map { ValueType(to, $0.shape, layout: $0.layout) }]
        },
        values: { ctx in
            guard try ctx.attributes(CastAttributes.self).to.isInteger else { return [nil] }
            return [ctx.dims(0)]
        },
        vjp: { g in [g.dy] },
        axes: { node, _ in node })

    public static let castLike: OpDefinition = OpDefinition(
        "CastLike", inputs: 2...2, attributes: SaturateAttributes.self,
        onnx: ONNXHistory([15, 19, 21, 23, 24, 25], changes: [.attributeAdded("saturate", since: 19),
                                                              .attributeAdded("round_mode", since: 24)]),
        shape: { ctx in
            guard let x = ctx.input(0), let like = ctx.input(1) else { return [nil] }
            return [ValueType(like.dtype, x.shape, layout: x.layout)]
        },
        vjp: { g in [g.dy, nil] })

    public static let bitCast: OpDefinition = OpDefinition(
        "BitCast", inputs: 1...1, attributes: BitCastAttributes.self, onnx: ONNXHistory([26]),
        shape: { ctx in
            let to = try ctx.attributes(BitCastAttributes.self).to
            return [ctx.input(0).map { ValueType(to, $0.shape) }]
        })
}

/// `to`, and how a narrow target rounds: `saturate` (float8: clamp overflow to the largest finite
/// value, else ∞/NaN) and `round_mode` (float8e8m0: `up`, `down`, `nearest`); see `LowPrecision.swift`.
public struct CastAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("to", kind: "int"), .int("saturate", 1), .string("round_mode", "up")]
    public let to: DType
    public let rounding: SaturateAttributes
    public var saturate: Bool { rounding.saturate }
    public init(_ a: AttributeReader) throws {
        let code = try a.int("to")
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("cast to unsupported type code \(code)") }
        to = t
        rounding = try SaturateAttributes(a)
    }
}

/// How a conversion to a narrow type rounds (Cast's and CastLike's `saturate` and `round_mode`).
public struct SaturateAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("saturate", 1), .string("round_mode", "up")]
    public let saturate: Bool
    public let roundMode: DType.E8M0Rounding
    public init(_ a: AttributeReader) throws {
        saturate = try a.bool("saturate")
        let mode = try a.string("round_mode")
        guard let m = DType.E8M0Rounding(rawValue: mode) else { throw AscentError.invalid("round_mode '\(mode)' is not up, down or nearest") }
        roundMode = m
    }
}

public struct BitCastAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("to", kind: "int")]
    /// ONNX's type code as given.
    public let code: Int
    /// The imported form of the type: floating as float32, unsigned 16/32/64-bit as int64.
    public let to: DType
    public init(_ a: AttributeReader) throws {
        code = try a.int("to")
        switch code {
        case 4, 12, 13: to = .int64
        case 10, 11, 16: to = .float32
        default:
            guard let t = DType(onnxCode: code) else { throw AscentError.invalid("bitcast to unsupported type code \(code)") }
            to = t
        }
    }
}
