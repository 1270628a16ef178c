/// Activations: elementwise nonlinearities of neural networks, most with a parameter or two.
///
/// Gradients at non-smooth points follow TensorFlow and PyTorch: Relu passes nothing at 0, Clip
/// passes the gradient at its bounds, Shrink passes nothing at ±lambd.
extension OpDefinition {
    public static let relu: OpDefinition = map("Relu", onnx: [1, 6, 13, 14]) { g in [select(g.x > 0, g.dy, 0)] }
    public static let sigmoid: OpDefinition = map("Sigmoid", onnx: [1, 6, 13]) { g in [g.dy * (g.y * (1 - g.y))] }
    public static let tanh: OpDefinition = map("Tanh", onnx: [1, 6, 13]) { g in [g.dy * (1 - g.y * g.y)] }
    public static let softplus: OpDefinition = map("Softplus", onnx: [1, 22]) { g in [g.dy * g.x.sigmoid()] }
    public static let softsign: OpDefinition = map("Softsign", onnx: [1, 22]) { g in  // dy / (1 + |x|)²
        let d = 1 + g.x.abs()
        return [g.dy / (d * d)]
    }
    public static let leakyRelu: OpDefinition = map("LeakyRelu", onnx: [1, 6, 16], attributes: LeakyReluAttributes.self) { g in
        let alpha = try g.attributes(LeakyReluAttributes.self).alpha
        return [select(g.x > 0, g.dy, g.dy * alpha)]
    }
    public static let thresholdedRelu: OpDefinition = map("ThresholdedRelu", onnx: [10, 22], attributes: ThresholdedReluAttributes.self,
                                            decomposition: { c in
        let alpha = try c.attributes(ThresholdedReluAttributes.self).alpha
        return [select(c.x > alpha, c.x, 0)]
    }) { g in
        let alpha = try g.attributes(ThresholdedReluAttributes.self).alpha
        return [select(g.x > alpha, g.dy, 0)]
    }
    public static let elu: OpDefinition = map("Elu", onnx: [1, 6, 22], attributes: EluAttributes.self) { g in  // x ≤ 0: dy·(y + α)
        let alpha = try g.attributes(EluAttributes.self).alpha
        return [select(g.x > 0, g.dy, g.dy * (g.y + alpha))]
    }
    public static let selu: OpDefinition = map("Selu", onnx: [1, 6, 22], attributes: SeluAttributes.self) { g in  // x ≤ 0: dy·(y + αγ)
        let a = try g.attributes(SeluAttributes.self)
        return [select(g.x > 0, g.dy * a.gamma, g.dy * (g.y + a.alpha * a.gamma))]
    }
    public static let celu: OpDefinition = map("Celu", onnx: [12, 28], attributes: CeluAttributes.self, decomposition: { c in
        // max(0, x) + min(0, α·(exp(x/α) − 1))
        let alpha = try c.attributes(CeluAttributes.self).alpha
        let negative = ((c.x * (1 / alpha)).exp() - 1) * alpha
        return [c.x.apply(.max, [c.scalar(0)]) + negative.apply(.min, [c.scalar(0)])]
    }) { g in  // x ≤ 0: dy·exp(x/α)
        let alpha = try g.attributes(CeluAttributes.self).alpha
        return [select(g.x > 0, g.dy, g.dy * (g.x * (1 / alpha)).exp())]
    }
    public static let hardSigmoid: OpDefinition = map("HardSigmoid", onnx: [1, 6, 22], attributes: HardSigmoidAttributes.self) { g in
        let a = try g.attributes(HardSigmoidAttributes.self)
        let t = g.x * a.alpha + a.beta
        return [select((t > 0) && (t < 1), g.dy * a.alpha, 0)]  // α inside the linear part
    }
    public static let hardSwish: OpDefinition = map("HardSwish", onnx: [14, 22], decomposition: { c in
        [c.x * c.x.apply(.hardSigmoid, [], ["alpha": .float(1.0 / 6.0), "beta": .float(0.5)])]
    }) { g in  // x < −3: 0; x > 3: 1; else (2x + 3)/6
        let middle = g.x * Float(1.0 / 3.0) + 0.5
        return [g.dy * select(g.x < -3, 0, select(g.x > 3, 1, middle))]
    }
    public static let swish: OpDefinition = map("Swish", onnx: [24], attributes: SwishAttributes.self, decomposition: { c in
        let alpha = try c.attributes(SwishAttributes.self).alpha
        return [c.x * (alpha == 1 ? c.x : c.x * alpha).sigmoid()]
    }) { g in  // y = x·s, s = σ(αx): dy·(s + αx·s·(1 − s))
        let alpha = try g.attributes(SwishAttributes.self).alpha
        let ax = g.x * alpha
        let s = ax.sigmoid()
        return [g.dy * (s + ax * (s * (1 - s)))]
    }
    public static let mish: OpDefinition = map("Mish", onnx: [18, 22], decomposition: { c in [c.x * c.x.softplus().tanh()] }) { g in
        // y = x·tanh(sp), sp = softplus(x): dy·(tanh(sp) + x·σ(x)·(1 − tanh²(sp)))
        let t = g.x.softplus().tanh()
        return [g.dy * (t + (g.x * g.x.sigmoid()) * (1 - t * t))]
    }
    public static let gelu: OpDefinition = map("Gelu", onnx: [20], attributes: GeluAttributes.self, decomposition: { c in
        let x = c.x
        if try c.attributes(GeluAttributes.self).tanhApproximation {
            let u = (x + x * x * x * 0.044715) * Float((2 / Double.pi).squareRoot())
            return [x * (u.tanh() + 1) * 0.5]
        }
        return [x * ((x * Float(1 / 2.0.squareRoot())).erf() + 1) * 0.5]
    }) { g in
        let x = g.x
        if try g.attributes(GeluAttributes.self).tanhApproximation {
            // y = x·h, h = (1 + tanh u)/2, u = c·(x + 0.044715·x³): h + x·(1 − tanh²u)/2 · c·(1 + 3·0.044715·x²)
            let c = Float((2 / Double.pi).squareRoot()), x2 = x * x
            let t = (x * (x2 * 0.044715 + 1) * c).tanh()
            let h = (t + 1) * 0.5
            let du = (x2 * Float(3 * 0.044715) + 1) * (c / 2)
            return [g.dy * (h + x * (1 - t * t) * du)]
        }
        // exact: Φ(x) + x·φ(x)
        let cdf = ((x * Float(1 / 2.0.squareRoot())).erf() + 1) * 0.5
        let pdf = (x * x * -0.5).exp() * Float(1 / (2 * Double.pi).squareRoot())
        return [g.dy * (cdf + x * pdf)]
    }
    public static let shrink: OpDefinition = map("Shrink", onnx: [9], attributes: ShrinkAttributes.self) { g in  // 1 where |x| > λ
        let lambd = try g.attributes(ShrinkAttributes.self).lambd
        return [select(g.x.abs() > lambd, g.dy, 0)]
    }

    /// `Clip(x, min, max)`: bounds are optional scalar inputs (attributes before opset 11).
    public static let clip: OpDefinition = OpDefinition(
        "Clip", inputs: 1...3, traits: .elementwise,
        onnx: ONNXHistory([1, 6, 11, 12, 13], changes: [.conversion(.clipAttributes, until: 11)]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in  // passes where min ≤ x ≤ max
            var keep: ValueRef? = nil
            if g.has(1) { keep = g.x >= g.input(1) }
            if g.has(2) {
                let upper = g.x <= g.input(2)
                keep = keep.map { $0 && upper } ?? upper
            }
            guard let keep else { return [g.dy] }
            return [select(keep, g.dy, 0)]
        },
        axes: { node, _ in node })

    /// `PRelu(x, slope)`: x where x > 0, else slope·x (slope broadcast against x).
    public static let pRelu: OpDefinition = OpDefinition(
        "PRelu", inputs: 2...2, traits: .broadcasting, onnx: ONNXHistory([1, 6, 7, 9, 16]),
        shape: { try broadcastInputs($0, dtype: nil) },
        vjp: { g in  // x > 0: dy; else dy·slope. d/dslope: x ≤ 0: dy·x
            let positive = g.x > 0
            return [g.when(0) { select(positive, g.dy, g.dy * g.input(1)) },
                    g.when(1) { select(positive, 0, g.dy * g.x) }]
        })

    /// `SwiGLU(a, b) = a·σ(αa)·b`.
    public static let swiGLU: OpDefinition = OpDefinition(
        "SwiGLU", inputs: 2...2, attributes: SwishAttributes.self, onnx: ONNXHistory([28]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in  // d/da = dy·b·(s + αa·s·(1 − s)), d/db = dy·a·s, s = σ(αa)
            let alpha = try g.attributes(SwishAttributes.self).alpha
            let a = g.input(0), b = g.input(1)
            let s = (a * alpha).sigmoid()
            return [g.when(0) { g.dy * b * (s + a * alpha * (s * (1 - s))) }, g.when(1) { g.dy * (a * s) }]
        })
}

public struct LeakyReluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 0.01)]
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

public struct ThresholdedReluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1)]
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

public struct EluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1)]
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

public struct CeluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1)]
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

public struct SwishAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1)]
    public let alpha: Float
    public init(_ a: AttributeReader) throws { alpha = try a.float("alpha") }
}

public struct SeluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1.67326319217681884765625),
                                                .float("gamma", 1.05070102214813232421875)]
    public let alpha: Float, gamma: Float
    public init(_ a: AttributeReader) throws {
        alpha = try a.float("alpha")
        gamma = try a.float("gamma")
    }
}

public struct HardSigmoidAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 0.2), .float("beta", 0.5)]
    public let alpha: Float, beta: Float
    public init(_ a: AttributeReader) throws {
        alpha = try a.float("alpha")
        beta = try a.float("beta")
    }
}

public struct GeluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.string("approximate", "none")]
    /// `approximate = "tanh"`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`; else the exact erf form.
    public let tanhApproximation: Bool
    public init(_ a: AttributeReader) throws {
        let approximate = try a.string("approximate")
        guard approximate == "none" || approximate == "tanh" else {
            throw AscentError.invalid("\(a.node.op) approximate '\(approximate)' is not 'none' or 'tanh'")
        }
        tanhApproximation = approximate == "tanh"
    }
}

public struct ShrinkAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("bias", 0), .float("lambd", 0.5)]
    public let bias: Float, lambd: Float
    public init(_ a: AttributeReader) throws {
        bias = try a.float("bias")
        lambd = try a.float("lambd")
    }
}
