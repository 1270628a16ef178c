/// Elementwise ops: unary maps that keep their input's type, and binary/variadic ops
/// with NumPy broadcasting.
enum ElementwiseOps {
    static let unary: [String] = [
        "Identity", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal",
        "Erf", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Mish",
        "HardSwish", "Not",
    ]
    /// Unary ops with attributes (ONNX defaults).
    static let unaryWithAttributes: [(String, [AttributeSpec])] = [
        ("LeakyRelu", [.optional("alpha", .float(0.01))]),
        ("Elu", [.optional("alpha", .float(1.0))]),
        ("Selu", [.optional("alpha", .float(1.67326319217681884765625)),
                  .optional("gamma", .float(1.05070102214813232421875))]),
        ("HardSigmoid", [.optional("alpha", .float(0.2)), .optional("beta", .float(0.5))]),
        ("Gelu", [.optional("approximate", .string("none"))]),
        ("Celu", [.optional("alpha", .float(1.0))]),
        ("ThresholdedRelu", [.optional("alpha", .float(1.0))]),
        ("Swish", [.optional("alpha", .float(1.0))]),
    ]
    static let binary: [String] = ["Add", "Sub", "Mul", "Div", "Pow", "PRelu"]
    static let comparison: [String] = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"]
    static let variadic: [String] = ["Max", "Min", "Sum", "Mean"]

    static var schemas: [OpSchema] {
        var out = unary.map { OpSchema($0, inputs: 1...1, infer: sameAsFirst) }
        out += unaryWithAttributes.map { OpSchema($0.0, inputs: 1...1, attributes: $0.1, infer: sameAsFirst) }
        out.append(OpSchema("Clip", inputs: 1...3, infer: sameAsFirst))
        out += binary.map { OpSchema($0, inputs: 2...2, infer: { try broadcastInputs($0, dtype: nil) }) }
        out += comparison.map { OpSchema($0, inputs: 2...2, infer: { try broadcastInputs($0, dtype: .bool) }) }
        out += variadic.map { OpSchema($0, inputs: 1...Int.max, infer: { try broadcastInputs($0, dtype: nil) }) }
        out.append(OpSchema("Where", inputs: 3...3, infer: { ctx in
            guard let t = ctx.input(1) else { return [nil] }
            let shapes = ctx.inputTypes.map { $0?.shape }
            guard shapes.allSatisfy({ $0 != nil }) else { return [ValueType(t.dtype, nil)] }
            var s = shapes[0]!
            for other in shapes.dropFirst() { s = try ShapeRules.broadcast(s, other!) }
            return [ValueType(t.dtype, s)]
        }))
        return out
    }

    /// The output has the first input's type (and layout).
    @Sendable static func sameAsFirst(_ ctx: InferenceContext) throws -> [ValueType?] {
        [ctx.input(0)]
    }

    /// Broadcasts all inputs; the dtype is the first input's unless given; the layout is
    /// kept when an input of the output's rank carries one.
    static func broadcastInputs(_ ctx: InferenceContext, dtype: DType?) throws -> [ValueType?] {
        let types = ctx.inputTypes
        guard let first = types.first ?? nil else { return [nil] }
        let outType = dtype ?? first.dtype
        for t in types.dropFirst() {
            if let t, t.dtype != first.dtype, ctx.node.op != "Pow" {
                throw ctx.error("inputs mix \(first.dtype.rawValue) and \(t.dtype.rawValue)")
            }
        }
        var shape: Shape? = first.shape
        for t in types.dropFirst() {
            guard let s = shape, let other = t?.shape else { shape = nil; break }
            do { shape = try ShapeRules.broadcast(s, other) } catch let e as AscentError { throw e.within("node \(ctx.node.label)") }
        }
        let layout = types.compactMap { $0 }.first { $0.layout != nil && $0.shape?.rank == shape?.rank }?.layout
        return [ValueType(outType, shape, layout: layout)]
    }
}
