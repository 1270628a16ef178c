/// Tensors made from attributes and sizes: `Constant`, `Shape`, `Size`, `ConstantOfShape`,
/// `Range`, `EyeLike`; and the placeholder Ascent keeps for ops it cannot run.
extension OpDefinition {
    public static let constant: OpDefinition = OpDefinition(
        "Constant", inputs: 0...0, attributes: ConstantAttributes.self, onnx: ONNXHistory([1, 9, 11, 12, 13, 19, 21, 23, 24, 25]),
        shape: { ctx in
            let t = try ctx.attributes(ConstantAttributes.self).value
            return [ValueType(t.dtype, Shape(t.shape))]
        },
        values: { ctx in
            let t = try ctx.attributes(ConstantAttributes.self).value
            guard t.dtype.isInteger, t.shape.count <= 1 else { return [nil] }
            return [t.int64s().map { .known(Int($0)) }]
        })

    /// `Shape(x)`: the sizes of axes `[start, end)` (negative values count from the end, clamped).
    public static let shape: OpDefinition = OpDefinition(
        "Shape", inputs: 1...1, attributes: ShapeAttributes.self, traits: .readsTypeOnly,
        onnx: ONNXHistory([1, 13, 15, 19, 21, 23, 24, 25], changes: [.attributeAdded("start", since: 15), .attributeAdded("end", since: 15)]),
        shape: { ctx in
            guard let rank = ctx.shape(0)?.rank else { return [ValueType(.int64, Shape([Dim.unknown]))] }
            let r = try ctx.attributes(ShapeAttributes.self).range(rank: rank)
            return [ValueType(.int64, Shape([r.count]))]
        },
        values: { ctx in
            guard let s = ctx.shape(0) else { return [nil] }
            return [Array(s.dims[try ctx.attributes(ShapeAttributes.self).range(rank: s.rank)])]
        })

    public static let size: OpDefinition = OpDefinition(
        "Size", inputs: 1...1, traits: .readsTypeOnly, onnx: ONNXHistory([1, 13, 19, 21, 23, 24, 25]),
        shape: { _ in [ValueType(.int64, Shape([Dim]()))] },
        values: { ctx in [ctx.shape(0).map { [Dim.product($0.dims)] }] })

    public static let constantOfShape: OpDefinition = OpDefinition(
        "ConstantOfShape", inputs: 1...1, attributes: ConstantOfShapeAttributes.self, onnx: ONNXHistory([9, 20, 21, 23, 24, 25]),
        shape: { ctx in
            let dtype = try ctx.attributes(ConstantOfShapeAttributes.self).value.dtype
            if let t = ctx.input(0), t.dtype != .int64 { throw ctx.error("shape input must be int64, is \(t.dtype.rawValue)") }
            guard let sizes = ctx.dims(0) else {
                let rank = ctx.shape(0)?.dims.first?.value
                return [ValueType(dtype, rank.map { Shape(Array(repeating: Dim.unknown, count: $0)) })]
            }
            if sizes.contains(where: { ($0.value ?? 0) < 0 }) { throw ctx.error("shape \(Shape(sizes)) has a negative size") }
            return [ValueType(dtype, Shape(sizes))]
        },
        values: { ctx in
            let value = try ctx.attributes(ConstantOfShapeAttributes.self).value
            guard value.dtype.isInteger, let sizes = ctx.dims(0), sizes.count <= 1, let n = Shape(sizes).elementCount, n <= 64 else {
                return [nil]
            }
            return [Array(repeating: .known(Int(value.int64s()[0])), count: n)]
        })

    /// `Range(start, limit, delta)`: `max(ceil((limit − start)/delta), 0)` elements.
    public static let range: OpDefinition = OpDefinition(
        "Range", inputs: 3...3, onnx: ONNXHistory([11, 27]),
        shape: { ctx in
            guard let t = ctx.input(0) else { return [nil] }
            guard let a = ctx.constant(0), let c = ctx.constant(2) else { return [ValueType(t.dtype, Shape([Dim.unknown]))] }
            guard a.count == 1, c.count == 1 else { throw ctx.error("start and delta must be scalars") }
            guard let b = ctx.constant(1) else {
                // arange(n) from a size: Range(k, n, 1) has n − k elements.
                if t.dtype.isInteger, c.int64s()[0] == 1, let limit = ctx.dims(1), limit.count == 1 {
                    return [ValueType(t.dtype, Shape([limit[0] - .known(Int(a.int64s()[0]))]))]
                }
                return [ValueType(t.dtype, Shape([Dim.unknown]))]
            }
            guard b.count == 1 else { throw ctx.error("start, limit and delta must be scalars") }
            let n = t.dtype.isInteger
                ? ShapeRules.rangeCount(start: a.int64s()[0], limit: b.int64s()[0], delta: c.int64s()[0])
                : ShapeRules.rangeCount(start: a.doubles()[0], limit: b.doubles()[0], delta: c.doubles()[0])
            guard let n else { throw ctx.error("range has a zero, infinite or too small delta") }
            return [ValueType(t.dtype, Shape([n]))]
        })

    public static let eyeLike: OpDefinition = OpDefinition(
        "EyeLike", inputs: 1...1, attributes: EyeLikeAttributes.self, onnx: ONNXHistory([9, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            let dtype = try ctx.attributes(EyeLikeAttributes.self).dtype ?? x.dtype
            if let s = x.shape, s.rank != 2 { throw ctx.error("EyeLike needs a 2-D input, got \(s)") }
            return [ValueType(dtype, x.shape)]
        })

    /// The placeholder for an op Ascent cannot run (``Node/unsupported(name:sourceOp:source:inputs:outputs:)``):
    /// import keeps it, `inspect` shows it, running refuses it up front.
    public static let unsupported: OpDefinition = OpDefinition(
        Node.unsupportedOp, domain: ascentDomain, inputs: 0...Int.max, outputs: 0...Int.max,
        attributes: UnsupportedAttributes.self,
        shape: { ctx in ctx.node.outputs.map { _ in nil } })
}

public struct ConstantAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("value", kind: "tensor")]
    public let value: Tensor
    public init(_ a: AttributeReader) throws {
        guard let v = try a.tensor("value") else { throw AscentError.invalid("missing tensor attribute 'value'") }
        value = v
    }
}

public struct ShapeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("start", 0), .optional("end", kind: "int")]
    public let start: Int, end: Int?
    public init(_ a: AttributeReader) throws {
        start = try a.int("start")
        end = try a.optionalInt("end")
    }
    /// The axes `[start, end)` for `rank`, negative values counting from the end, clamped.
    public func range(rank: Int) -> Range<Int> {
        func clamp(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + rank : i, 0), rank) }
        let s = clamp(start), e = clamp(end ?? rank)
        return s..<Swift.max(s, e)
    }
}

public struct ConstantOfShapeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("value", kind: "tensor")]
    /// The one-element fill value (float32 zero by default).
    public let value: Tensor
    public init(_ a: AttributeReader) throws {
        let v = try a.tensor("value") ?? Tensor(shape: [1], scalars: [Float(0)])
        guard v.count == 1 else { throw AscentError.invalid("attribute 'value' must be a one-element tensor") }
        value = v
    }
}

public struct EyeLikeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("dtype", kind: "int"), .int("k", 0)]
    /// The output dtype (the input's when nil).
    public let dtype: DType?
    public let k: Int
    public init(_ a: AttributeReader) throws {
        k = try a.int("k")
        if let code = try a.optionalInt("dtype") {
            guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported dtype code \(code)") }
            dtype = t
        } else {
            dtype = nil
        }
    }
}

public struct UnsupportedAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("source_op", kind: "string"), .required("source", kind: "string")]
    public let sourceOp: String, source: String
    public init(_ a: AttributeReader) throws {
        sourceOp = try a.string("source_op")
        source = try a.string("source")
    }
}
