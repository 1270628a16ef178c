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

// MARK: - Gradients

extension ElementwiseOps {
    /// Vector-Jacobian products. Conventions at non-smooth points follow TensorFlow and
    /// PyTorch: Relu passes nothing at 0, Abs has slope 0 at 0, Clip passes the gradient at
    /// the bounds, Max/Min send ties to the first input.
    static let vjps: [String: VJPRule] = [
        "Identity": { ctx in [ctx.dy] },
        "Neg": { ctx in [ctx.emit("Neg", [ctx.dy])] },
        "Relu": { ctx in
            let zero = ctx.scalar(0)
            return [ctx.emit("Where", [ctx.emit("Greater", [ctx.input(0), zero]), ctx.dy, zero])]
        },
        "Sigmoid": { ctx in  // dy · y · (1 − y)
            let y = ctx.output(0)
            let oneMinus = ctx.emit("Sub", [ctx.scalar(1), y])
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [y, oneMinus])])]
        },
        "Tanh": { ctx in  // dy · (1 − y²)
            let y = ctx.output(0)
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Sub", [ctx.scalar(1), ctx.emit("Mul", [y, y])])])]
        },
        "Exp": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.output(0)])] },
        "Log": { ctx in [ctx.emit("Div", [ctx.dy, ctx.input(0)])] },
        "Sqrt": { ctx in [ctx.emit("Div", [ctx.dy, ctx.emit("Mul", [ctx.output(0), ctx.scalar(2)])])] },
        "Reciprocal": { ctx in  // −dy · y²
            let y = ctx.output(0)
            return [ctx.emit("Neg", [ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [y, y])])])]
        },
        "Abs": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.emit("Sign", [ctx.input(0)])])] },
        "Sin": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.emit("Cos", [ctx.input(0)])])] },
        "Cos": { ctx in [ctx.emit("Neg", [ctx.emit("Mul", [ctx.dy, ctx.emit("Sin", [ctx.input(0)])])])] },
        "LeakyRelu": { ctx in
            let alpha = Float(ctx.attribute("alpha")?.float ?? 0.01)
            let mask = ctx.emit("Greater", [ctx.input(0), ctx.scalar(0)])
            return [ctx.emit("Where", [mask, ctx.dy, ctx.emit("Mul", [ctx.dy, ctx.scalar(alpha)])])]
        },
        "ThresholdedRelu": { ctx in
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1)
            let mask = ctx.emit("Greater", [ctx.input(0), ctx.scalar(alpha)])
            return [ctx.emit("Where", [mask, ctx.dy, ctx.scalar(0)])]
        },
        "Elu": { ctx in  // x > 0: dy; else dy · (y + alpha)
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1)
            let mask = ctx.emit("Greater", [ctx.input(0), ctx.scalar(0)])
            let negative = ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [ctx.output(0), ctx.scalar(alpha)])])
            return [ctx.emit("Where", [mask, ctx.dy, negative])]
        },
        "Selu": { ctx in  // x > 0: dy · gamma; else dy · (y + alpha · gamma)
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1.67326319217681884765625)
            let gamma = Float(ctx.attribute("gamma")?.float ?? 1.05070102214813232421875)
            let mask = ctx.emit("Greater", [ctx.input(0), ctx.scalar(0)])
            let positive = ctx.emit("Mul", [ctx.dy, ctx.scalar(gamma)])
            let negative = ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [ctx.output(0), ctx.scalar(alpha * gamma)])])
            return [ctx.emit("Where", [mask, positive, negative])]
        },
        "Softplus": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.emit("Sigmoid", [ctx.input(0)])])] },
        "Softsign": { ctx in  // dy / (1 + |x|)²
            let d = ctx.emit("Add", [ctx.scalar(1), ctx.emit("Abs", [ctx.input(0)])])
            return [ctx.emit("Div", [ctx.dy, ctx.emit("Mul", [d, d])])]
        },
        "Swish": { ctx in  // y = x·s, s = σ(αx): dy · (s + αx·s·(1 − s))
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1)
            let ax = ctx.emit("Mul", [ctx.input(0), ctx.scalar(alpha)])
            let s = ctx.emit("Sigmoid", [ax])
            let slope = ctx.emit("Mul", [ax, ctx.emit("Mul", [s, ctx.emit("Sub", [ctx.scalar(1), s])])])
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [s, slope])])]
        },
        "HardSigmoid": { ctx in  // alpha inside the linear part (0 < αx+β < 1), else 0
            let alpha = Float(ctx.attribute("alpha")?.float ?? 0.2), beta = Float(ctx.attribute("beta")?.float ?? 0.5)
            let t = ctx.emit("Add", [ctx.emit("Mul", [ctx.input(0), ctx.scalar(alpha)]), ctx.scalar(beta)])
            let inside = ctx.emit("And", [ctx.emit("Greater", [t, ctx.scalar(0)]), ctx.emit("Less", [t, ctx.scalar(1)])])
            return [ctx.emit("Where", [inside, ctx.emit("Mul", [ctx.dy, ctx.scalar(alpha)]), ctx.scalar(0)])]
        },
        "HardSwish": { ctx in  // x < −3: 0; x > 3: 1; else (2x + 3)/6
            let x = ctx.input(0)
            let middle = ctx.emit("Add", [ctx.emit("Mul", [x, ctx.scalar(1.0 / 3.0)]), ctx.scalar(0.5)])
            let upper = ctx.emit("Where", [ctx.emit("Greater", [x, ctx.scalar(3)]), ctx.scalar(1), middle])
            let slope = ctx.emit("Where", [ctx.emit("Less", [x, ctx.scalar(-3)]), ctx.scalar(0), upper])
            return [ctx.emit("Mul", [ctx.dy, slope])]
        },
        "Mish": { ctx in  // y = x·tanh(sp), sp = softplus(x): dy · (tanh(sp) + x·σ(x)·(1 − tanh²(sp)))
            let x = ctx.input(0)
            let t = ctx.emit("Tanh", [ctx.emit("Softplus", [x])])
            let slope = ctx.emit("Mul", [ctx.emit("Mul", [x, ctx.emit("Sigmoid", [x])]),
                                         ctx.emit("Sub", [ctx.scalar(1), ctx.emit("Mul", [t, t])])])
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [t, slope])])]
        },
        "Celu": { ctx in  // x > 0: dy; else dy · exp(x/alpha)
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1)
            let x = ctx.input(0)
            let negative = ctx.emit("Mul", [ctx.dy, ctx.emit("Exp", [ctx.emit("Mul", [x, ctx.scalar(1 / alpha)])])])
            return [ctx.emit("Where", [ctx.emit("Greater", [x, ctx.scalar(0)]), ctx.dy, negative])]
        },
        // Piecewise-constant maps: zero almost everywhere (TensorFlow and PyTorch give 0 too).
        "Floor": zero, "Ceil": zero, "Round": zero, "Sign": zero,
        "Erf": { ctx in  // dy · 2/√π · exp(−x²)
            let x = ctx.input(0)
            let e = ctx.emit("Exp", [ctx.emit("Neg", [ctx.emit("Mul", [x, x])])])
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [e, ctx.scalar(Float(2 / Double.pi.squareRoot()))])])]
        },
        "Gelu": { ctx in  // exact form: Φ(x) + x·φ(x)
            let x = ctx.input(0)
            if ctx.attribute("approximate")?.string == "tanh" {
                // y = x·h, h = (1 + tanh u)/2, u = c·(x + 0.044715·x³): h + x·(1 − tanh²u)/2 · c·(1 + 3·0.044715·x²)
                let c = Float((2 / Double.pi).squareRoot()), x2 = ctx.emit("Mul", [x, x])
                let t = ctx.emit("Tanh", [ctx.emit("Mul", [ctx.emit("Mul", [x, ctx.emit("Add", [ctx.emit("Mul", [x2, ctx.scalar(0.044715)]), ctx.scalar(1)])]), ctx.scalar(c)])])
                let h = ctx.emit("Mul", [ctx.emit("Add", [t, ctx.scalar(1)]), ctx.scalar(0.5)])
                let du = ctx.emit("Mul", [ctx.emit("Add", [ctx.emit("Mul", [x2, ctx.scalar(3 * 0.044715)]), ctx.scalar(1)]), ctx.scalar(c / 2)])
                let slope = ctx.emit("Mul", [ctx.emit("Mul", [x, ctx.emit("Sub", [ctx.scalar(1), ctx.emit("Mul", [t, t])])]), du])
                return [ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [h, slope])])]
            }
            let cdf = ctx.emit("Mul", [ctx.emit("Add", [ctx.scalar(1), ctx.emit("Erf", [ctx.emit("Mul", [x, ctx.scalar(Float(1 / 2.0.squareRoot()))])])]), ctx.scalar(0.5)])
            let pdf = ctx.emit("Mul", [ctx.emit("Exp", [ctx.emit("Mul", [ctx.emit("Mul", [x, x]), ctx.scalar(-0.5)])]),
                                       ctx.scalar(Float(1 / (2 * Double.pi).squareRoot()))])
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [cdf, ctx.emit("Mul", [x, pdf])])])]
        },
        "Clip": { ctx in  // passes where min ≤ x ≤ max
            let x = ctx.input(0)
            var keep: String? = nil
            if ctx.node.inputs.count > 1, !ctx.input(1).isEmpty { keep = ctx.emit("GreaterOrEqual", [x, ctx.input(1)]) }
            if ctx.node.inputs.count > 2, !ctx.input(2).isEmpty {
                let upper = ctx.emit("LessOrEqual", [x, ctx.input(2)])
                keep = keep.map { ctx.emit("And", [$0, upper]) } ?? upper
            }
            guard let keep else { return [ctx.dy] }
            return [ctx.emit("Where", [keep, ctx.dy, ctx.scalar(0)])]
        },
        "Add": { ctx in [ctx.dy, ctx.dy] },
        "Sub": { ctx in [ctx.dy, ctx.needs(1) ? ctx.emit("Neg", [ctx.dy]) : nil] },
        "Mul": { ctx in
            [ctx.needs(0) ? ctx.emit("Mul", [ctx.dy, ctx.input(1)]) : nil,
             ctx.needs(1) ? ctx.emit("Mul", [ctx.dy, ctx.input(0)]) : nil]
        },
        "Div": { ctx in  // d/da = dy / b; d/db = −dy · y / b
            [ctx.needs(0) ? ctx.emit("Div", [ctx.dy, ctx.input(1)]) : nil,
             ctx.needs(1) ? ctx.emit("Neg", [ctx.emit("Div", [ctx.emit("Mul", [ctx.dy, ctx.output(0)]), ctx.input(1)])]) : nil]
        },
        "Pow": { ctx in  // d/da = dy · b · a^(b−1); d/db = dy · y · log(a)
            let a = ctx.input(0), b = ctx.input(1)
            return [ctx.needs(0) ? ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [b, ctx.emit("Pow", [a, ctx.emit("Sub", [b, ctx.scalar(1)])])])]) : nil,
                    ctx.needs(1) ? ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [ctx.output(0), ctx.emit("Log", [a])])]) : nil]
        },
        "PRelu": { ctx in  // x > 0: dy; else dy · slope. d/dslope = x ≤ 0: dy · x
            let x = ctx.input(0)
            let mask = ctx.emit("Greater", [x, ctx.scalar(0)])
            return [ctx.needs(0) ? ctx.emit("Where", [mask, ctx.dy, ctx.emit("Mul", [ctx.dy, ctx.input(1)])]) : nil,
                    ctx.needs(1) ? ctx.emit("Where", [mask, ctx.scalar(0), ctx.emit("Mul", [ctx.dy, x])]) : nil]
        },
        "Max": extremum("GreaterOrEqual"),
        "Min": extremum("LessOrEqual"),
        "Sum": { ctx in ctx.node.inputs.map { _ in ctx.dy } },
        "Mean": { ctx in
            let scaled = ctx.emit("Mul", [ctx.dy, ctx.scalar(1 / Float(ctx.node.inputs.count))])
            return ctx.node.inputs.map { _ in scaled }
        },
        "Where": { ctx in
            let zero = ctx.scalar(0)
            return [nil,
                    ctx.needs(1) ? ctx.emit("Where", [ctx.input(0), ctx.dy, zero]) : nil,
                    ctx.needs(2) ? ctx.emit("Where", [ctx.input(0), zero, ctx.dy]) : nil]
        },
    ]

    /// A zero cotangent shaped like the input.
    static let zero: VJPRule = { ctx in [ctx.emit("Mul", [ctx.dy, ctx.scalar(0)])] }

    /// Two-input Max/Min: the gradient goes to the first input where it wins or ties.
    static func extremum(_ comparison: String) -> VJPRule {
        return { ctx in
            guard ctx.node.inputs.count == 2 else { throw ctx.error("gradient of \(ctx.node.op) with \(ctx.node.inputs.count) inputs is not supported") }
            let zero = ctx.scalar(0)
            let first = ctx.emit(comparison, [ctx.input(0), ctx.input(1)])
            return [ctx.needs(0) ? ctx.emit("Where", [first, ctx.dy, zero]) : nil,
                    ctx.needs(1) ? ctx.emit("Where", [first, zero, ctx.dy]) : nil]
        }
    }
}
