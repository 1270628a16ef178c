/// Vector-Jacobian products of the reductions beyond Sum/Mean/Max/Min: `ReduceProd` and the
/// ``MoreOps`` reductions (`ReduceL1`, `ReduceL2`, `ReduceLogSum`, `ReduceLogSumExp`,
/// `ReduceSumSquare`). Axes come from the attribute or, in the opset-18 form, from a constant
/// input; `noop_with_empty_axes` makes each the elementwise part of its reduction, which the
/// same formulas differentiate.
///
/// Conventions: ReduceL1 has slope 0 where x is 0 (as Abs); ReduceL2 passes nothing where the
/// norm is 0 (PyTorch); ReduceProd is exact where elements are 0 (the product of the others,
/// as TensorFlow and PyTorch compute it).
extension ReduceOps {
    static let moreVJPs: [String: VJPRule] = [
        "ReduceSumSquare": { ctx in  // 2·x·dy
            let x = ctx.input(0)
            return [ctx.emit("Mul", [try spreadDy(&ctx), ctx.emit("Mul", [x, ctx.scalar(2)])]), nil]
        },
        "ReduceL1": { ctx in [ctx.emit("Mul", [try spreadDy(&ctx), ctx.emit("Sign", [ctx.input(0)])]), nil] },
        "ReduceL2": { ctx in  // x · dy / y, 0 where y = 0
            let (axes, _) = try reduced(&ctx)
            let y = kept(&ctx, ctx.output(0), axes: axes)
            let zero = ctx.scalar(0)
            let ratio = ctx.emit("Where", [ctx.emit("Equal", [y, zero]), zero, ctx.emit("Div", [kept(&ctx, ctx.dy, axes: axes), y])])
            return [ctx.emit("Mul", [ctx.input(0), expandLikeInput(&ctx, ratio)]), nil]
        },
        "ReduceLogSum": { ctx in  // dy / Σx = dy / exp(y)
            let (axes, _) = try reduced(&ctx)
            let total = ctx.emit("Exp", [kept(&ctx, ctx.output(0), axes: axes)])
            return [expandLikeInput(&ctx, ctx.emit("Div", [kept(&ctx, ctx.dy, axes: axes), total])), nil]
        },
        "ReduceLogSumExp": { ctx in  // dy · exp(x − y)
            let (axes, _) = try reduced(&ctx)
            let weights = ctx.emit("Exp", [ctx.emit("Sub", [ctx.input(0), kept(&ctx, ctx.output(0), axes: axes)])])
            return [ctx.emit("Mul", [weights, kept(&ctx, ctx.dy, axes: axes)]), nil]
        },
        "ReduceProd": { ctx in
            // dy times the product of the other reduced elements: the reduced axes moved last and
            // flattened, then exclusive cumulative products from both ends multiplied.
            let (axes, rank) = try reduced(&ctx)
            guard !axes.isEmpty else { return [ctx.dy, nil] }
            let x = ctx.input(0)
            let others = (0..<rank).filter { !axes.contains($0) }
            let perm = others + axes
            var inverse = [Int](repeating: 0, count: rank)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            let moved = ctx.emit("Transpose", [x], ["perm": .ints(perm)])
            let rows = ctx.emit("Flatten", [moved], ["axis": .int(others.count)])
            let axis = ctx.int64s([1])
            let before = ctx.emit("CumProd", [rows, axis], ["exclusive": .int(1)])
            let after = ctx.emit("CumProd", [rows, axis], ["exclusive": .int(1), "reverse": .int(1)])
            let product = ctx.emit("Reshape", [ctx.emit("Mul", [before, after]), ctx.emit("Shape", [moved])])
            let othersProduct = ctx.emit("Transpose", [product], ["perm": .ints(inverse)])
            return [ctx.emit("Mul", [othersProduct, kept(&ctx, ctx.dy, axes: axes)]), nil]
        },
    ]

    /// `dy` with the reduced axes restored and expanded to the input's shape.
    static func spreadDy(_ ctx: inout VJPContext) throws -> String {
        let (axes, _) = try reduced(&ctx)
        return expandLikeInput(&ctx, kept(&ctx, ctx.dy, axes: axes))
    }

    /// `v` (shaped like the reduction with kept axes) expanded to the input's shape.
    static func expandLikeInput(_ ctx: inout VJPContext, _ v: String) -> String {
        ctx.emit("Expand", [v, ctx.emit("Shape", [ctx.input(0)])])
    }
}
