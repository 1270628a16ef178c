/// Vector-Jacobian products of the math maps of ``MoreOps``: inverse trigonometric and
/// hyperbolic functions, `Shrink`, `Mod`, `SwiGLU`, `RotaryEmbedding`, `CastLike` and the
/// piecewise-constant `Hardmax`.
///
/// Conventions at non-smooth points follow TensorFlow and PyTorch: Shrink passes nothing at
/// ±lambd, Hardmax and the jumps of Mod give zero.
extension MoreOps {
    static let mathVJPs: [String: VJPRule] = [
        "Asin": { ctx in  // dy / √(1 − x²)
            [ctx.emit("Div", [ctx.dy, ctx.emit("Sqrt", [oneMinusSquare(&ctx, ctx.input(0))])])]
        },
        "Acos": { ctx in  // −dy / √(1 − x²)
            [ctx.emit("Neg", [ctx.emit("Div", [ctx.dy, ctx.emit("Sqrt", [oneMinusSquare(&ctx, ctx.input(0))])])])]
        },
        "Atan": { ctx in  // dy / (1 + x²)
            let x = ctx.input(0)
            return [ctx.emit("Div", [ctx.dy, ctx.emit("Add", [ctx.emit("Mul", [x, x]), ctx.scalar(1)])])]
        },
        "Asinh": { ctx in  // dy / √(x² + 1)
            let x = ctx.input(0)
            return [ctx.emit("Div", [ctx.dy, ctx.emit("Sqrt", [ctx.emit("Add", [ctx.emit("Mul", [x, x]), ctx.scalar(1)])])])]
        },
        "Acosh": { ctx in  // dy / √(x² − 1)
            let x = ctx.input(0)
            return [ctx.emit("Div", [ctx.dy, ctx.emit("Sqrt", [ctx.emit("Sub", [ctx.emit("Mul", [x, x]), ctx.scalar(1)])])])]
        },
        "Atanh": { ctx in [ctx.emit("Div", [ctx.dy, oneMinusSquare(&ctx, ctx.input(0))])] },  // dy / (1 − x²)
        "Tan": { ctx in  // dy · (1 + y²)
            let y = ctx.output(0)
            return [ctx.emit("Mul", [ctx.dy, ctx.emit("Add", [ctx.emit("Mul", [y, y]), ctx.scalar(1)])])]
        },
        "Sinh": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.emit("Cosh", [ctx.input(0)])])] },
        "Cosh": { ctx in [ctx.emit("Mul", [ctx.dy, ctx.emit("Sinh", [ctx.input(0)])])] },
        "Shrink": { ctx in  // 1 where |x| > lambd, else 0
            let lambd = Float(ctx.attribute("lambd")?.float ?? 0.5)
            let outside = ctx.emit("Greater", [ctx.emit("Abs", [ctx.input(0)]), ctx.scalar(lambd)])
            return [ctx.emit("Where", [outside, ctx.dy, ctx.scalar(0)])]
        },
        // One-hot of the arg-max: piecewise constant.
        "Hardmax": ElementwiseOps.zero,
        // Between floating types the gradient passes; the second input only gives the type.
        "CastLike": { ctx in [ctx.dy, nil] },
        "Mod": { ctx in  // y = a − q·b with q = trunc(a/b) (fmod 1) or floor(a/b): d/da = 1, d/db = −q = (y − a)/b
            let a = ctx.input(0), b = ctx.input(1)
            let db = ctx.needs(1) ? ctx.emit("Mul", [ctx.dy, ctx.emit("Div", [ctx.emit("Sub", [ctx.output(0), a]), b])]) : nil
            return [ctx.dy, db]
        },
        "SwiGLU": { ctx in  // y = a·s·b, s = σ(αa): d/da = dy·b·(s + αa·s·(1 − s)), d/db = dy·a·s
            let alpha = Float(ctx.attribute("alpha")?.float ?? 1)
            let a = ctx.input(0), b = ctx.input(1)
            let s = ctx.emit("Sigmoid", [ctx.emit("Mul", [a, ctx.scalar(alpha)])])
            var da: String? = nil
            if ctx.needs(0) {
                let slope = ctx.emit("Mul", [ctx.emit("Mul", [a, ctx.scalar(alpha)]), ctx.emit("Mul", [s, ctx.emit("Sub", [ctx.scalar(1), s])])])
                da = ctx.emit("Mul", [ctx.emit("Mul", [ctx.dy, b]), ctx.emit("Add", [s, slope])])
            }
            let db = ctx.needs(1) ? ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [a, s])]) : nil
            return [da, db]
        },
        "RotaryEmbedding": { ctx in  // a rotation of feature pairs: the adjoint rotates back (sin negated)
            guard !ctx.needs(1), !ctx.needs(2) else { throw ctx.error("gradient of RotaryEmbedding's cos/sin caches is not supported") }
            var inputs = ctx.node.inputs
            inputs[0] = ctx.dy
            inputs[2] = ctx.emit("Neg", [ctx.input(2)])
            return [ctx.emit("RotaryEmbedding", inputs, ctx.node.attributes), nil, nil, nil]
        },
    ]

    /// `1 − x²`.
    static func oneMinusSquare(_ ctx: inout VJPContext, _ x: String) -> String {
        ctx.emit("Sub", [ctx.scalar(1), ctx.emit("Mul", [x, x])])
    }
}
