/// Elementwise maps of one input: `y = f(x)` element by element, same shape and layout.
///
/// Gradients follow TensorFlow and PyTorch at non-smooth points: Abs has slope 0 at 0, and the
/// piecewise-constant maps (Floor, Ceil, Round, Sign) pass zero.
extension OpDefinition {
    /// Identity passes sequences and optionals too (``OpTraits/valueKinds``).
    public static let identity: OpDefinition = map("Identity", onnx: [1, 13, 14, 16, 19, 21, 23, 24, 25],
                                                   traits: [.elementwise, .valueKinds]) { g in [g.dy] }
    public static let neg: OpDefinition = map("Neg", onnx: [1, 6, 13]) { g in [-g.dy] }
    public static let exp: OpDefinition = map("Exp", onnx: [1, 6, 13]) { g in [g.dy * g.y] }
    public static let log: OpDefinition = map("Log", onnx: [1, 6, 13]) { g in [g.dy / g.x] }
    public static let sqrt: OpDefinition = map("Sqrt", onnx: [1, 6, 13]) { g in [g.dy / (g.y * 2)] }
    public static let reciprocal: OpDefinition = map("Reciprocal", onnx: [1, 6, 13]) { g in [-(g.dy * (g.y * g.y))] }  // −dy·y²
    public static let abs: OpDefinition = map("Abs", onnx: [1, 6, 13]) { g in [g.dy * g.x.sign()] }
    public static let sin: OpDefinition = map("Sin", onnx: [7, 22]) { g in [g.dy * g.x.cos()] }
    public static let cos: OpDefinition = map("Cos", onnx: [7, 22]) { g in [-(g.dy * g.x.sin())] }
    public static let tan: OpDefinition = map("Tan", onnx: [7, 22]) { g in [g.dy * (g.y * g.y + 1)] }  // dy·(1 + y²)
    public static let asin: OpDefinition = map("Asin", onnx: [7, 22]) { g in [g.dy / (1 - g.x * g.x).sqrt()] }
    public static let acos: OpDefinition = map("Acos", onnx: [7, 22]) { g in [-(g.dy / (1 - g.x * g.x).sqrt())] }
    public static let atan: OpDefinition = map("Atan", onnx: [7, 22]) { g in [g.dy / (g.x * g.x + 1)] }
    public static let sinh: OpDefinition = map("Sinh", onnx: [9, 22]) { g in [g.dy * g.x.apply(.cosh)] }
    public static let cosh: OpDefinition = map("Cosh", onnx: [9, 22]) { g in [g.dy * g.x.apply(.sinh)] }
    public static let asinh: OpDefinition = map("Asinh", onnx: [9, 22]) { g in [g.dy / (g.x * g.x + 1).sqrt()] }
    public static let acosh: OpDefinition = map("Acosh", onnx: [9, 22]) { g in [g.dy / (g.x * g.x - 1).sqrt()] }
    public static let atanh: OpDefinition = map("Atanh", onnx: [9, 22]) { g in [g.dy / (1 - g.x * g.x)] }
    public static let erf: OpDefinition = map("Erf", onnx: [9, 13]) { g in  // dy · 2/√π · exp(−x²)
        [g.dy * ((-(g.x * g.x)).exp() * Float(2 / Double.pi.squareRoot()))]
    }
    public static let floor: OpDefinition = map("Floor", onnx: [1, 6, 13], vjp: zeroGradient)
    public static let ceil: OpDefinition = map("Ceil", onnx: [1, 6, 13], vjp: zeroGradient)
    public static let round: OpDefinition = map("Round", onnx: [11, 22], vjp: zeroGradient)
    public static let sign: OpDefinition = map("Sign", onnx: [9, 13], vjp: zeroGradient)
    public static let not: OpDefinition = map("Not", onnx: [1], vjp: nil)
    public static let bitwiseNot: OpDefinition = map("BitwiseNot", onnx: [18], vjp: nil)
    public static let isNaN: OpDefinition = map("IsNaN", onnx: [9, 13, 20], output: .bool, vjp: nil)
    public static let isInf: OpDefinition = map("IsInf", onnx: [10, 20], attributes: IsInfAttributes.self, output: .bool, vjp: nil)

    /// A zero cotangent shaped like the input (for piecewise-constant maps).
    public static let zeroGradient: VJPRule = { g in [g.dy * 0] }

    /// An elementwise map of one input. Its output has the input's type (or `output`'s dtype).
    static func map(_ name: String, onnx versions: [Int], changes: [ONNXChange] = [],
                    attributes: (any OpAttributes.Type)? = nil, output: DType? = nil, decomposition: Decomposition? = nil,
                    traits: OpTraits = .elementwise, vjp: VJPRule?) -> OpDefinition {
        OpDefinition(name, inputs: 1...1, attributes: attributes, traits: traits,
                     onnx: ONNXHistory(versions, changes: changes),
                     shape: { ctx in [ctx.input(0).map { t in output.map { ValueType($0, t.shape, layout: t.layout) } ?? t }] },
                     vjp: vjp, decomposition: decomposition, axes: { node, _ in node })
    }
}

public struct IsInfAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("detect_negative", 1), .int("detect_positive", 1)]
    public let detectNegative: Bool, detectPositive: Bool
    public init(_ a: AttributeReader) throws {
        detectNegative = try a.bool("detect_negative")
        detectPositive = try a.bool("detect_positive")
    }
}
