/// Quantized arithmetic: `QuantizeLinear` (`saturate(round(x/scale) + zero_point)`, ties to even;
/// per tensor, per axis or blocked), `DequantizeLinear`, `DynamicQuantizeLinear`, `QLinearMatMul`,
/// `MatMulInteger`, `ConvInteger`, `QLinearConv` (defined by its decomposition into `ConvInteger`).
/// All carry ``OpTraits/quantized``: gradients refuse a path through them.
extension OpDefinition {
    public static let quantizeLinear: OpDefinition = OpDefinition(
        "QuantizeLinear", inputs: 2...3, attributes: QuantizeAttributes.self, traits: .quantized,
        onnx: ONNXHistory([10, 13, 19, 21, 23, 24, 25, 28], changes: [.attributeAdded("axis", since: 13),
                                                                     .attributeAdded("block_size", since: 21),
                                                                     .attributeAdded("output_dtype", since: 21)]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            let given = try ctx.attributes(QuantizeAttributes.self).outputDType
            let dtype = ctx.input(2)?.dtype ?? given ?? .uint8
            return [ValueType(dtype, x.shape)]
        })

    public static let dequantizeLinear: OpDefinition = OpDefinition(
        "DequantizeLinear", inputs: 2...3, attributes: QuantizeAttributes.self, traits: .quantized,
        onnx: ONNXHistory([10, 13, 19, 21, 23, 24, 25, 28], changes: [.attributeAdded("axis", since: 13),
                                                                     .attributeAdded("block_size", since: 21)]),
        shape: { ctx in [ctx.input(0).map { ValueType(.float32, $0.shape) }] })

    /// The straight-through estimator `--straight-through-quantization` puts after each
    /// `DequantizeLinear(QuantizeLinear(x))` (``Graph/straightThroughQuantization()``):
    /// `StraightThrough(x_clipped, y)` is `y`, and its gradient goes to `x_clipped` unchanged — as if
    /// the pair were the identity on the quantized range (TensorFlow's `fake_quant` and PyTorch's
    /// `FakeQuantize` gradient) — and never into `y`.
    public static let straightThrough: OpDefinition = OpDefinition(
        "StraightThrough", domain: ascentDomain, inputs: 2...2, traits: .straightThrough,
        shape: { ctx in [ctx.input(1)] },
        vjp: { g in [g.dy, nil] })

    public static let dynamicQuantizeLinear: OpDefinition = OpDefinition(
        "DynamicQuantizeLinear", inputs: 1...1, outputs: 3...3, traits: .quantized, onnx: ONNXHistory([11]),
        shape: { ctx in
            [ctx.input(0).map { ValueType(.uint8, $0.shape) }, ValueType(.float32, Shape([Dim]())), ValueType(.uint8, Shape([Dim]()))]
        })

    public static let qLinearMatMul: OpDefinition = OpDefinition(
        "QLinearMatMul", inputs: 8...8, traits: .quantized, onnx: ONNXHistory([10, 21]),
        shape: { ctx in
            guard let zp = ctx.input(7) else { return [nil] }
            return [ValueType(zp.dtype, try matMulShape(ctx))]
        })

    public static let matMulInteger: OpDefinition = OpDefinition(
        "MatMulInteger", inputs: 2...4, traits: .quantized, onnx: ONNXHistory([10]),
        shape: { ctx in [ValueType(.int32, try matMulShape(ctx))] })

    public static let convInteger: OpDefinition = OpDefinition(
        "ConvInteger", inputs: 2...4, attributes: ConvAttributes.self, traits: [.spatial, .quantized], onnx: ONNXHistory([10]),
        shape: { ctx in
            guard let xs = ctx.shape(0), let ws = ctx.shape(1), ws.rank == xs.rank, xs.rank >= 3 else {
                return [ValueType(.int32, ctx.shape(0).map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) })]
            }
            let a = try ctx.attributes(ConvAttributes.self)
            let kernel = try a.window.kernelShape ?? ws.dims.dropFirst(2).map {
                guard let v = $0.value else { throw ctx.error("kernel has unknown spatial size") }
                return v
            }
            guard let t = try windowShape(ctx, a.window, kernel: kernel, channels: ws.dims[0]) else { return [nil] }
            return [ValueType(.int32, t.shape, layout: t.layout)]
        },
        cost: convolutionCost(weights: 1))

    /// `QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?)`: the int32
    /// `ConvInteger` plus the int32 bias, times `x_scale·w_scale/y_scale` (per output channel when
    /// `w_scale` is), rounded half to even plus `y_zp`, saturated — onnxruntime's requantization.
    public static let qLinearConv: OpDefinition = OpDefinition(
        "QLinearConv", inputs: 8...9, attributes: ConvAttributes.self, traits: [.spatial, .quantized], onnx: ONNXHistory([10]),
        shape: contribShape(qLinearConvDecomposition), decomposition: qLinearConvDecomposition, cost: convolutionCost(weights: 3))

    static let qLinearConvDecomposition: Decomposition = { c in
        guard let rank = c.rank(0), rank >= 3 else { throw c.error("QLinearConv needs its input's rank") }
        let channelAxes = Array(1..<(rank - 1))  // [M] → [M, 1, ...] against [N, M, spatial...]
        func perChannel(_ i: Int) -> ValueRef { c.rank(i) == 1 ? c.input(i).unsqueezed(channelAxes) : c.input(i) }
        var acc = c.emit(.convInteger, names: [c.node.inputs[0], c.node.inputs[3], c.node.inputs[2], c.node.inputs[5]],
                         c.node.attributes)
        if c.has(8) { acc = acc + perChannel(8) }
        let scale = c.input(1) * perChannel(4) / c.input(6)
        return [requantized(c, acc.cast(to: .float32) * scale, zeroPoint: 7)]
    }

    /// The shape of the matrix product of input 0 and the B operand (input 3 for QLinearMatMul,
    /// input 1 otherwise), or nil when unknown.
    static func matMulShape(_ ctx: ShapeContext) throws -> Shape? {
        let b = ctx.node.op == OpDefinition.qLinearMatMul.name ? 3 : 1
        guard let sa = ctx.shape(0), let sb = ctx.shape(b), sa.rank >= 1, sb.rank >= 1 else { return nil }
        let left = sa.rank == 1 ? Shape([.known(1)] + sa.dims) : sa
        let right = sb.rank == 1 ? Shape(sb.dims + [.known(1)]) : sb
        let batch = try ShapeRules.broadcast(Shape(Array(left.dims.dropLast(2))), Shape(Array(right.dims.dropLast(2))))
        var dims = batch.dims
        if sa.rank > 1 { dims.append(left.dims[left.rank - 2]) }
        if sb.rank > 1 { dims.append(right.dims[right.rank - 1]) }
        return Shape(dims)
    }
}

public struct QuantizeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .int("axis", 1), .int("block_size", 0), .int("output_dtype", 0), .int("saturate", 1), .int("precision", 0),
    ]
    public let axis: Int, blockSize: Int, saturate: Bool
    /// `output_dtype` when given (else the zero point's type, uint8 by default).
    public let outputDType: DType?
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        blockSize = try a.int("block_size")
        saturate = try a.bool("saturate")
        let code = try a.int("output_dtype")
        if code == 0 { outputDType = nil } else {
            guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported output_dtype \(code)") }
            outputDType = t
        }
    }
}
