/// onnxruntime's contrib ops (domain `com.microsoft`), as its quantizer and transformer optimizer
/// write them: fused forms (`FusedConv`, `FusedGemm`, `FusedMatMul`, `BiasGelu`, `FastGelu`,
/// `QuickGelu`, `SkipLayerNormalization`, `SkipSimplifiedLayerNormalization`) and quantized ones
/// (`QLinearAdd`, `QLinearMul`, `QLinearSigmoid`, `QLinearLeakyRelu`, `QLinearSoftmax`,
/// `QLinearGlobalAveragePool`, `QLinearAveragePool`, `QLinearConcat`, `QGemm`,
/// `DynamicQuantizeMatMul`, `MatMulIntegerToFloat`). (`com.microsoft.Gelu` imports as ai.onnx's
/// `Gelu`.)
///
/// Each is defined by its decomposition into other IR ops, which serves everything: the planner
/// expands it before planning (no kernel of its own), the shape rule is the decomposition's
/// (``contribShape(_:)``), the exporter writes it (standard ONNX), and the gradient of a fused op
/// is its decomposition's. Quantized ops carry ``OpTraits/quantized``: gradients refuse them.
///
/// The quantized forms follow onnxruntime's arithmetic where it differs from dequantize → op →
/// quantize: requantization multiplies the integer result by one float32 ratio of scales
/// (`a_scale·b_scale/y_scale`), then rounds half to even and saturates (``requantized(_:_:zeroPoint:)``).
extension OpDefinition {
    /// The domain of onnxruntime's contrib ops.
    public static let microsoftDomain = "com.microsoft"

    public static let fusedConv: OpDefinition = contrib("FusedConv", inputs: 2...4, attributes: FusedConvAttributes.self,
                                                        traits: .spatial, cost: convolutionCost(weights: 1)) { c in
        let a = try c.attributes(FusedConvAttributes.self)
        var attributes = c.node.attributes
        for name in ["activation", "activation_params"] { attributes[name] = nil }
        var y = c.emit(.conv, names: Array(c.node.inputs.prefix(3)), attributes)
        if c.has(3) { y = y + c.input(3) }
        return [try activated(c, y, a.activation, a.parameters)]
    }

    public static let fusedGemm: OpDefinition = contrib("FusedGemm", inputs: 2...3, attributes: FusedGemmAttributes.self) { c in
        let a = try c.attributes(FusedGemmAttributes.self)
        let gemm = ["alpha", "beta", "transA", "transB"].reduce(into: [String: Attribute]()) { $0[$1] = c.node.attributes[$1] }
        let y = c.emit(.gemm, names: c.node.inputs, gemm)
        return [try activated(c, y, a.activation, [a.activationAlpha, a.activationBeta, a.activationGamma].compactMap { $0 })]
    }

    /// `alpha · op(A) · op(B)`, op transposing the last two axes when `transA`/`transB`.
    public static let fusedMatMul: OpDefinition = contrib("FusedMatMul", inputs: 2...2, attributes: FusedMatMulAttributes.self) { c in
        let a = try c.attributes(FusedMatMulAttributes.self)
        guard !a.transBatchA, !a.transBatchB else { throw c.error("FusedMatMul with transBatchA/transBatchB is not supported") }
        func operand(_ i: Int, _ transpose: Bool) throws -> ValueRef {
            guard transpose else { return c.input(i) }
            guard let rank = c.rank(i), rank >= 2 else { throw c.error("transposing input \(i) needs its rank (at least 2)") }
            return c.input(i).transposed(Array(0..<(rank - 2)) + [rank - 1, rank - 2])
        }
        let y = try operand(0, a.transA).matmul(try operand(1, a.transB))
        return [a.alpha == 1 ? y : y * a.alpha]
    }

    /// `Gelu(A + B)` (the exact erf form).
    public static let biasGelu: OpDefinition = contrib("BiasGelu", inputs: 2...2) { c in [(c.x + c.input(1)).apply(.gelu)] }

    /// `Gelu(X + bias)` in the tanh approximation.
    public static let fastGelu: OpDefinition = contrib("FastGelu", inputs: 1...2) { c in
        [(c.has(1) ? c.x + c.input(1) : c.x).apply(.gelu, [], ["approximate": .string("tanh")])]
    }

    /// `x · σ(alpha · x)`.
    public static let quickGelu: OpDefinition = contrib("QuickGelu", inputs: 1...1, attributes: AlphaAttributes<QuickGeluAlpha>.self) { c in
        let alpha = try c.attributes(AlphaAttributes<QuickGeluAlpha>.self).alpha
        return [c.x * (c.x * alpha).sigmoid()]
    }

    /// `LayerNormalization(input + skip (+ bias), gamma, beta)` over the last axis; outputs the
    /// normalized value, the mean, the inverse standard deviation and the sum.
    public static let skipLayerNormalization: OpDefinition = contrib("SkipLayerNormalization", inputs: 3...5, outputs: 1...4,
                                                                     attributes: SkipNormalizationAttributes.self) { c in
        let sum = skipSum(c, bias: 4)
        let epsilon = try c.attributes(SkipNormalizationAttributes.self).epsilon
        let wanted = (1...2).map { c.node.outputs.count > $0 && !c.node.outputs[$0].isEmpty }
        let outputs = [c.builder.fresh("\(c.node.name)/LayerNormalization")]
            + wanted.enumerated().map { $1 ? c.builder.fresh("\(c.node.name)/LayerNormalization_\($0 + 1)") : "" }
        c.builder.add(Node(name: c.node.name, op: OpDefinition.layerNormalization.name,
                           inputs: [sum.name, c.node.inputs[2], c.has(3) ? c.node.inputs[3] : ""],
                           outputs: Array(outputs.prefix(wanted[1] ? 3 : wanted[0] ? 2 : 1)),
                           attributes: ["axis": .int(-1), "epsilon": .float(Double(epsilon))]))
        return outputs.map { $0.isEmpty ? nil : c.builder.value($0) } + [sum]
    }

    /// `RMSNormalization(input + skip (+ bias), gamma)` over the last axis; outputs the normalized
    /// value and (output 3) the sum.
    public static let skipSimplifiedLayerNormalization: OpDefinition = contrib("SkipSimplifiedLayerNormalization", inputs: 3...4,
                                                                               outputs: 1...4, attributes: SkipNormalizationAttributes.self) { c in
        let sum = skipSum(c, bias: 3)
        let epsilon = try c.attributes(SkipNormalizationAttributes.self).epsilon
        let y = sum.apply(.rmsNormalization, [c.input(2)], ["axis": .int(-1), "epsilon": .float(Double(epsilon))])
        return [y, nil, nil, sum]
    }

    // MARK: Quantized

    /// `QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp)`.
    public static let qLinearAdd: OpDefinition = contrib("QLinearAdd", inputs: 7...8, traits: [.quantized, .broadcasting]) { c in
        // onnxruntime: A·(a_scale/c_scale) + B·(b_scale/c_scale), then the zero points.
        let cScale = c.input(6)
        let a = centered(c, 0, zeroPoint: 2) * (c.input(1) / cScale)
        let b = centered(c, 3, zeroPoint: 5) * (c.input(4) / cScale)
        return [requantized(c, a + b, zeroPoint: 7)]
    }

    /// `QLinearMul(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp)`.
    public static let qLinearMul: OpDefinition = contrib("QLinearMul", inputs: 7...8, traits: [.quantized, .broadcasting]) { c in
        let product = centered(c, 0, zeroPoint: 2) * centered(c, 3, zeroPoint: 5)
        return [requantized(c, product * (c.input(1) * c.input(4) / c.input(6)), zeroPoint: 7)]
    }

    /// `QLinearSigmoid(X, X_scale, X_zp, Y_scale, Y_zp)`: onnxruntime's table of dequantize → σ → quantize.
    public static let qLinearSigmoid: OpDefinition = contrib("QLinearSigmoid", inputs: 4...5, traits: [.quantized, .elementwise]) { c in
        [quantized(c, dequantized(c, 0).sigmoid(), scale: 3, zeroPoint: 4)]
    }

    /// `QLinearLeakyRelu(X, X_scale, X_zp, Y_scale, Y_zp)`.
    public static let qLinearLeakyRelu: OpDefinition = contrib("QLinearLeakyRelu", inputs: 4...5, attributes: LeakyReluAttributes.self,
                                                               traits: [.quantized, .elementwise]) { c in
        let alpha = try c.attributes(LeakyReluAttributes.self).alpha
        return [quantized(c, dequantized(c, 0).apply(.leakyRelu, [], ["alpha": .float(Double(alpha))]), scale: 3, zeroPoint: 4)]
    }

    /// `QLinearSoftmax(X, X_scale, X_zp, Y_scale, Y_zp)` with `axis` and the model's `opset`
    /// (before 13, Softmax flattened the axes from `axis` on).
    public static let qLinearSoftmax: OpDefinition = contrib("QLinearSoftmax", inputs: 4...5, attributes: QLinearSoftmaxAttributes.self,
                                                             traits: .quantized) { c in
        let a = try c.attributes(QLinearSoftmaxAttributes.self)
        let x = dequantized(c, 0)
        guard let rank = c.rank(0) else { throw c.error("QLinearSoftmax needs its input's rank") }
        let axis = try ShapeRules.axis(a.axis, rank: rank)
        var y: ValueRef
        if a.opset < 13, axis != rank - 1 {
            // Flattened to [outer, inner] at `axis`, softmax over inner, reshaped back.
            let flat = x.apply(.flatten, [], ["axis": .int(axis)])
            y = flat.apply(.softmax, [], ["axis": .int(-1)]).reshaped(like: x)
        } else {
            y = x.apply(.softmax, [], ["axis": .int(axis)])
        }
        return [quantized(c, y, scale: 3, zeroPoint: 4)]
    }

    /// `QLinearGlobalAveragePool(X, x_scale, x_zp, y_scale, y_zp)`, `channels_last` for NHWC.
    public static let qLinearGlobalAveragePool: OpDefinition = contrib("QLinearGlobalAveragePool", inputs: 4...5,
                                                                       attributes: ChannelsLastAttributes.self,
                                                                       traits: [.quantized, .spatial]) { c in
        // onnxruntime: Σ(x − x_zp) · x_scale/(y_scale · count), requantized.
        let a = try c.attributes(ChannelsLastAttributes.self)
        guard let shape = c.shape(0), shape.rank >= 3 else { throw c.error("QLinearGlobalAveragePool needs its input's rank") }
        let axes = a.channelsLast ? Array(1..<(shape.rank - 1)) : Array(2..<shape.rank)
        let x = centered(c, 0, zeroPoint: 2)
        let sizes = axes.compactMap { shape.dims[$0].value }
        guard sizes.count == axes.count else {  // spatial sizes known only when planned: the mean
            return [requantized(c, x.mean(axes: axes) * (c.input(1) / c.input(3)), zeroPoint: 4)]
        }
        let count = sizes.reduce(1, *)
        return [requantized(c, x.sum(axes: axes) * (c.input(1) / (c.input(3) * Float(count))), zeroPoint: 4)]
    }

    /// `QLinearAveragePool(X, x_scale, x_zp, y_scale, y_zp)` with AveragePool's attributes and `channels_last`.
    public static let qLinearAveragePool: OpDefinition = contrib("QLinearAveragePool", inputs: 4...5,
                                                                 attributes: QLinearPoolAttributes.self,
                                                                 traits: [.quantized, .spatial]) { c in
        let a = try c.attributes(QLinearPoolAttributes.self)
        var attributes = c.node.attributes
        attributes["channels_last"] = nil
        if a.channelsLast { attributes["data_format"] = .string(DataFormat.channelsLast.rawValue) }
        return [quantized(c, dequantized(c, 0).apply(.averagePool, [], attributes), scale: 3, zeroPoint: 4)]
    }

    /// `QLinearConcat(Y_scale, Y_zp, X0, X0_scale, X0_zp, X1, ...)` along `axis`.
    public static let qLinearConcat: OpDefinition = contrib("QLinearConcat", inputs: 5...Int.max, attributes: ConcatAttributes.self,
                                                            traits: .quantized) { c in
        guard (c.inputCount - 2) % 3 == 0 else { throw c.error("QLinearConcat takes Y_scale, Y_zero_point and triples (X, scale, zero point)") }
        let parts = stride(from: 2, to: c.inputCount, by: 3).map { dequantized(c, $0) }
        let axis = try c.attributes(ConcatAttributes.self).axis
        let y = parts[0].apply(.concat, Array(parts.dropFirst()), ["axis": .int(axis)])
        return [quantized(c, y, scale: 0, zeroPoint: 1)]
    }

    /// `QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C?, y_scale?, y_zp?)`: C is an int32 bias at
    /// scale `a_scale·b_scale`; without `y_scale` the output is float32.
    public static let qGemm: OpDefinition = contrib("QGemm", inputs: 6...9, attributes: GemmAttributes.self, traits: .quantized) { c in
        let a = try c.attributes(GemmAttributes.self)
        let left = a.transA ? c.input(0).transposed([1, 0]) : c.input(0)
        let right = a.transB ? c.input(3).transposed([1, 0]) : c.input(3)
        var acc = c.emit(.matMulInteger, [left, right, c.input(2), c.input(5)])
        if c.has(6) { acc = acc + c.input(6) }
        let scale = c.input(1) * c.input(4) * a.alpha
        guard c.has(7) else { return [acc.cast(to: .float32) * scale] }
        return [requantized(c, acc.cast(to: .float32) * (scale / c.input(7)), zeroPoint: 8)]
    }

    /// `DynamicQuantizeMatMul(A, B, b_scale, b_zp?, bias?)`: A quantized as DynamicQuantizeLinear
    /// does, the integer product scaled back to float32.
    public static let dynamicQuantizeMatMul: OpDefinition = contrib("DynamicQuantizeMatMul", inputs: 3...5, traits: .quantized) { c in
        let q = c.builder.nodeName
        let outputs = ["", "_scale", "_zero_point"].map { c.builder.fresh("\(q)/DynamicQuantizeLinear\($0)") }
        c.builder.add(Node(name: q, op: OpDefinition.dynamicQuantizeLinear.name, inputs: [c.node.inputs[0]], outputs: outputs))
        let product = c.emit(.matMulInteger, names: [outputs[0], c.node.inputs[1], outputs[2], c.has(3) ? c.node.inputs[3] : ""])
        let y = product.cast(to: .float32) * (c.builder.value(outputs[1]) * c.input(2))
        return [c.has(4) ? y + c.input(4) : y]
    }

    /// `MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zp?, b_zp?, bias?)`.
    public static let matMulIntegerToFloat: OpDefinition = contrib("MatMulIntegerToFloat", inputs: 4...7, traits: .quantized) { c in
        let product = c.emit(.matMulInteger, names: [c.node.inputs[0], c.node.inputs[1], c.has(4) ? c.node.inputs[4] : "",
                                                     c.has(5) ? c.node.inputs[5] : ""])
        let y = product.cast(to: .float32) * (c.input(2) * c.input(3))
        return [c.has(6) ? y + c.input(6) : y]
    }

    // MARK: Helpers

    /// A contrib op defined by `decomposition`, its shape rule derived from it.
    static func contrib(_ name: String, inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1,
                        attributes: (any OpAttributes.Type)? = nil, traits: OpTraits = [], cost: CostRule? = nil,
                        decomposition: @escaping Decomposition) -> OpDefinition {
        OpDefinition(name, domain: microsoftDomain, inputs: inputs, outputs: outputs, attributes: attributes, traits: traits,
                     shape: contribShape(decomposition), decomposition: decomposition, cost: cost)
    }

    /// The shape rule of an op defined by its decomposition: the decomposition written into a
    /// scratch graph whose inputs have the node's input types (constant inputs as initializers);
    /// each output has the type its value gets there.
    public static func contribShape(_ decomposition: @escaping Decomposition) -> ShapeRule {
        { ctx in
            var graph = Graph(name: "decomposition")
            for (i, name) in ctx.node.inputs.enumerated() where !name.isEmpty {
                if let t = ctx.constant(i) { graph.initializers[name] = t } else if let type = ctx.input(i) {
                    graph.inputs.append(ValueInfo(name: name, type: type))
                } else {
                    return ctx.unknownOutputs(nil)
                }
            }
            let builder = GraphBuilder(graph, reserved: Set(ctx.node.outputs))
            builder.nodeName = ctx.node.name
            let outputs = try decomposition(OpContext(node: ctx.node, builder: builder))
            return ctx.node.outputs.indices.map { i in i < outputs.count ? outputs[i].flatMap { builder.type($0.name) } : nil }
        }
    }

    /// `y` through a fused op's `activation` (onnxruntime's names and parameter order).
    static func activated(_ c: OpContext, _ y: ValueRef, _ activation: String?, _ p: [Float]) throws -> ValueRef {
        func parameter(_ i: Int, _ fallback: Float) -> Float { i < p.count ? p[i] : fallback }
        switch activation {
        case nil, "": return y
        case "Relu": return y.apply(.relu)
        case "Sigmoid": return y.sigmoid()
        case "Tanh": return y.tanh()
        case "LeakyRelu": return y.apply(.leakyRelu, [], ["alpha": .float(Double(parameter(0, 0.01)))])
        case "HardSigmoid":
            return y.apply(.hardSigmoid, [], ["alpha": .float(Double(parameter(0, 0.2))), "beta": .float(Double(parameter(1, 0.5)))])
        case "Clip":
            return y.apply(.clip, [c.scalar(parameter(0, -.greatestFiniteMagnitude)), c.scalar(parameter(1, .greatestFiniteMagnitude))])
        case let other?: throw c.error("activation '\(other)' is not supported")
        }
    }

    /// `input + skip (+ bias at input `bias`)`.
    static func skipSum(_ c: OpContext, bias: Int) -> ValueRef {
        let sum = c.x + c.input(1)
        return c.has(bias) ? sum + c.input(bias) : sum
    }

    /// Input `i` as float32 minus its zero point (input `zeroPoint`, 0 when omitted).
    static func centered(_ c: OpContext, _ i: Int, zeroPoint: Int) -> ValueRef {
        let x = c.input(i).cast(to: .float32)
        return c.has(zeroPoint) ? x - c.input(zeroPoint).cast(to: .float32) : x
    }

    /// Input `i` dequantized with the scale and zero point that follow it.
    static func dequantized(_ c: OpContext, _ i: Int) -> ValueRef {
        c.emit(.dequantizeLinear, names: [c.node.inputs[i], c.node.inputs[i + 1], c.has(i + 2) ? c.node.inputs[i + 2] : ""])
    }

    /// `v` quantized with the scale at input `scale` and the zero point at input `zeroPoint`
    /// (uint8 0 when omitted).
    static func quantized(_ c: OpContext, _ v: ValueRef, scale: Int, zeroPoint: Int) -> ValueRef {
        c.emit(.quantizeLinear, names: [v.name, c.node.inputs[scale], c.has(zeroPoint) ? c.node.inputs[zeroPoint] : ""])
    }

    /// `round(v) + zero point`, saturated to the zero point's type (uint8 when omitted): `v` is
    /// already divided by the output scale.
    static func requantized(_ c: OpContext, _ v: ValueRef, zeroPoint: Int) -> ValueRef {
        c.emit(.quantizeLinear, names: [v.name, c.scalar(1).name, c.has(zeroPoint) ? c.node.inputs[zeroPoint] : ""])
    }
}

/// `FusedConv`: Conv's attributes plus `activation` and its `activation_params`.
public struct FusedConvAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = ConvAttributes.specs + [
        .optional("activation", kind: "string"), .optional("activation_params", kind: "floats"),
    ]
    public let activation: String?, parameters: [Float]
    public init(_ a: AttributeReader) throws {
        _ = try ConvAttributes(a)
        activation = try a.optionalString("activation")
        parameters = try a.floats("activation_params")?.map { Float($0) } ?? []
    }
}

/// `FusedGemm`: Gemm's attributes plus `activation` and `activation_alpha/beta/gamma`.
public struct FusedGemmAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = GemmAttributes.specs + [
        .optional("activation", kind: "string"), .optional("activation_alpha", kind: "float"),
        .optional("activation_beta", kind: "float"), .optional("activation_gamma", kind: "float"),
    ]
    public let activation: String?, activationAlpha: Float?, activationBeta: Float?, activationGamma: Float?
    public init(_ a: AttributeReader) throws {
        _ = try GemmAttributes(a)
        activation = try a.optionalString("activation")
        activationAlpha = try a.optionalDouble("activation_alpha").map { Float($0) }
        activationBeta = try a.optionalDouble("activation_beta").map { Float($0) }
        activationGamma = try a.optionalDouble("activation_gamma").map { Float($0) }
    }
}

public struct FusedMatMulAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .float("alpha", 1), .int("transA", 0), .int("transB", 0), .int("transBatchA", 0), .int("transBatchB", 0),
    ]
    public let alpha: Float, transA: Bool, transB: Bool, transBatchA: Bool, transBatchB: Bool
    public init(_ a: AttributeReader) throws {
        alpha = try a.float("alpha")
        transA = try a.bool("transA")
        transB = try a.bool("transB")
        transBatchA = try a.bool("transBatchA")
        transBatchB = try a.bool("transBatchB")
    }
}

/// `epsilon` of the skip normalizations (onnxruntime's default 1e-12).
public struct SkipNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("epsilon", 1e-12)]
    public let epsilon: Float
    public init(_ a: AttributeReader) throws { epsilon = try a.float("epsilon") }
}

/// The default `alpha` of an op with one `alpha` attribute.
public protocol AlphaDefault: Sendable { static var alpha: Double { get } }
public enum QuickGeluAlpha: AlphaDefault { public static let alpha = 1.702 }

public struct AlphaAttributes<Default: AlphaDefault>: OpAttributes {
    public static var specs: [AttributeSpec] { [.float("alpha", Default.alpha)] }
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

/// `channels_last` (0: NCHW, 1: NHWC) of onnxruntime's quantized pools.
public struct ChannelsLastAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("channels_last", 0)]
    public let channelsLast: Bool
    public init(_ a: AttributeReader) throws { channelsLast = try a.bool("channels_last") }
}

public struct QLinearPoolAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = PoolAttributes.specs + ChannelsLastAttributes.specs
    public let channelsLast: Bool
    public init(_ a: AttributeReader) throws {
        _ = try PoolAttributes(a)
        channelsLast = try a.bool("channels_last")
    }
}

public struct QLinearSoftmaxAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1), .int("opset", 13)]
    public let axis: Int, opset: Int
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        opset = try a.int("opset")
    }
}
