/// Type conversion and tensors made from scalars: `Cast`, `ConstantOfShape`, `Range`.
///
/// `Cast`'s `to` attribute is ONNX's `TensorProto.DataType` code (1 float32, 7 int64, 9 bool...),
/// as in ONNX files; ``dtype(onnxCode:)`` and ``onnxCode(_:)`` translate.
public enum CastOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("Cast", inputs: 1...1, attributes: [.required("to", kind: "int"), .optional("saturate", .int(1))],
                     infer: { ctx in
                let code = try ctx.int("to", default: 1)
                guard let to = dtype(onnxCode: code) else { throw ctx.error("cast to unsupported type code \(code)") }
                return [ctx.input(0).map { ValueType(to, $0.shape, layout: $0.layout) }]
            }),
            OpSchema("ConstantOfShape", inputs: 1...1, attributes: [.optional("value", kind: "tensor")], infer: constantOfShape),
            OpSchema("Range", inputs: 3...3, infer: range),
        ]
    }

    static let codes: [(Int, DType)] = [
        (1, .float32), (2, .uint8), (3, .int8), (5, .int16), (6, .int32), (7, .int64),
        (9, .bool), (10, .float16), (11, .float64), (16, .bfloat16),
    ]

    /// The dtype of an ONNX `TensorProto.DataType` code, or nil when Ascent has no such type.
    public static func dtype(onnxCode code: Int) -> DType? { codes.first { $0.0 == code }?.1 }

    /// The ONNX `TensorProto.DataType` code of `dtype`.
    public static func onnxCode(_ dtype: DType) -> Int { codes.first { $0.1 == dtype }?.0 ?? 0 }

    @Sendable static func constantOfShape(_ ctx: InferenceContext) throws -> [ValueType?] {
        var dtype = DType.float32
        if let a = ctx.node.attributes["value"] {
            guard let t = a.tensor, t.count == 1 else { throw ctx.error("attribute 'value' must be a one-element tensor") }
            dtype = t.dtype
        }
        if let t = ctx.input(0), t.dtype != .int64 { throw ctx.error("shape input must be int64, is \(t.dtype.rawValue)") }
        guard let shape = ctx.constant(0) else {
            let rank = ctx.shape(0)?.dims.first?.value
            return [ValueType(dtype, rank.map { Shape(Array(repeating: Dim.unknown, count: $0)) })]
        }
        let sizes = shape.int64s().map { Int($0) }
        guard sizes.allSatisfy({ $0 >= 0 }) else { throw ctx.error("shape \(sizes) has a negative size") }
        return [ValueType(dtype, Shape(sizes))]
    }

    /// The number of elements of `Range(start, limit, delta)`: `max(ceil((limit - start) / delta), 0)`.
    public static func rangeCount(start: Double, limit: Double, delta: Double) -> Int? {
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else { return nil }
        let n = ((limit - start) / delta).rounded(.up)
        guard n < 1e15 else { return nil }
        return max(Int(n), 0)
    }

    /// `rangeCount` for integers, exact.
    public static func rangeCount(start: Int64, limit: Int64, delta: Int64) -> Int? {
        guard delta != 0 else { return nil }
        let span = Double(limit) - Double(start)
        guard abs(span) < 9e18, abs(span / Double(delta)) < 1e15 else { return nil }
        let (d, step) = (limit &- start, delta)
        let n = step > 0 ? (d + step - 1) / step : (d + step + 1) / step
        return max(Int(n), 0)
    }

    @Sendable static func range(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let t = ctx.input(0) else { return [nil] }
        guard let a = ctx.constant(0), let b = ctx.constant(1), let c = ctx.constant(2) else {
            return [ValueType(t.dtype, Shape([Dim.unknown]))]
        }
        guard a.count == 1, b.count == 1, c.count == 1 else { throw ctx.error("start, limit and delta must be scalars") }
        let n: Int?
        if t.dtype.isInteger {
            n = rangeCount(start: a.int64s()[0], limit: b.int64s()[0], delta: c.int64s()[0])
        } else {
            n = rangeCount(start: a.doubles()[0], limit: b.doubles()[0], delta: c.doubles()[0])
        }
        guard let n else { throw ctx.error("range has a zero, infinite or too small delta") }
        return [ValueType(t.dtype, Shape([n]))]
    }
}


// MARK: - Gradients

extension CastOps {
    /// Between floating types (all computed in float32) a cast passes the gradient through;
    /// casts from integers or booleans carry none (the engine never asks for those).
    static let vjps: [String: VJPRule] = [
        "Cast": { ctx in [ctx.dy] },
    ]
}
