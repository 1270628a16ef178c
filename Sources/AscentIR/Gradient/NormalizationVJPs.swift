/// Vector-Jacobian products of the normalizations of ``MoreOps``: `GroupNormalization`,
/// `InstanceNormalization`, `RMSNormalization`, `MeanVarianceNormalization`,
/// `LpNormalization` and `LRN`, composed from elementwise ops and reductions.
///
/// For a standardization x̂ = (x − μ)·r over a group, with g the cotangent of x̂:
/// dx = r·(g − mean(g) − x̂·mean(g·x̂)).
extension MoreOps {
    static let normalizationVJPs: [String: VJPRule] = [
        "GroupNormalization": { ctx in try groupNormalization(&ctx, groups: ctx.attribute("num_groups")?.int) },
        "InstanceNormalization": { ctx in try groupNormalization(&ctx, groups: nil) },
        "RMSNormalization": { ctx in  // y = x·r·scale, r = 1/√(mean(x²) + ε): dx = r·g − x·r³·mean(g·x), g = dy·scale
            let x = ctx.input(0), scale = ctx.input(1)
            guard let rank = ctx.rank(x) else { throw ctx.error("gradient of RMSNormalization needs the input rank") }
            var axis = ctx.attribute("axis")?.int ?? -1
            if axis < 0 { axis += rank }
            let eps = Float(ctx.attribute("epsilon")?.float ?? 1e-5)
            let axes = Array(axis..<rank)
            let r = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit("Add", [mean(&ctx, ctx.emit("Mul", [x, x]), axes), ctx.scalar(eps)])])])
            var dx: String? = nil
            if ctx.needs(0) {
                let g = ctx.emit("Mul", [ctx.dy, scale])
                let r3 = ctx.emit("Mul", [r, ctx.emit("Mul", [r, r])])
                let correction = ctx.emit("Mul", [ctx.emit("Mul", [x, r3]), mean(&ctx, ctx.emit("Mul", [g, x]), axes)])
                dx = ctx.emit("Sub", [ctx.emit("Mul", [g, r]), correction])
            }
            let dscale = ctx.needs(1) ? ctx.emit("Mul", [ctx.dy, ctx.emit("Mul", [x, r])]) : nil
            return [dx, dscale]
        },
        "MeanVarianceNormalization": { ctx in
            // y = c/(σ + 1e-9), c = x − μ, σ = √mean(c²): dx = r·(dy − mean(dy)) − c·r²·mean(dy·c)/σ, r = 1/(σ + 1e-9)
            let x = ctx.input(0)
            guard let rank = ctx.rank(x) else { throw ctx.error("gradient of MeanVarianceNormalization needs the input rank") }
            let axes = try IndexingOps.normalizedAxes(ctx.attribute("axes")?.ints ?? [0, 2, 3], rank: rank)
            let c = ctx.emit("Sub", [x, mean(&ctx, x, axes)])
            let sigma = ctx.emit("Sqrt", [mean(&ctx, ctx.emit("Mul", [c, c]), axes)])
            let r = ctx.emit("Reciprocal", [ctx.emit("Add", [sigma, ctx.scalar(1e-9)])])
            let centered = ctx.emit("Sub", [ctx.dy, mean(&ctx, ctx.dy, axes)])
            let spread = ctx.emit("Div", [ctx.emit("Mul", [r, mean(&ctx, ctx.emit("Mul", [ctx.dy, c]), axes)]), sigma])
            return [ctx.emit("Mul", [r, ctx.emit("Sub", [centered, ctx.emit("Mul", [c, spread])])])]
        },
        "LpNormalization": { ctx in
            // y = x/n: p 2: dx = (dy − y·Σ dy·y)/n; p 1: dx = (dy − sign(x)·Σ dy·y)/n; 0 where n = 0.
            let x = ctx.input(0), y = ctx.output(0)
            let axis = ctx.attribute("axis")?.int ?? -1, p = ctx.attribute("p")?.int ?? 2
            func sum(_ v: String) -> String { ctx.emit("ReduceSum", [v], ["axes": .ints([axis]), "keepdims": .int(1)]) }
            let norm = p == 1 ? sum(ctx.emit("Abs", [x])) : ctx.emit("Sqrt", [sum(ctx.emit("Mul", [x, x]))])
            let zero = ctx.scalar(0)
            let inverse = ctx.emit("Where", [ctx.emit("Equal", [norm, zero]), zero, ctx.emit("Reciprocal", [norm])])
            let direction = p == 1 ? ctx.emit("Sign", [x]) : y
            let inner = ctx.emit("Sub", [ctx.dy, ctx.emit("Mul", [direction, sum(ctx.emit("Mul", [ctx.dy, y]))])])
            return [ctx.emit("Mul", [inner, inverse])]
        },
        "LRN": { ctx in
            // y = x·d^(−β), d = bias + α/size · Σ_window x² over channels [c − lo, c + hi]:
            // dx = dy·d^(−β) − 2αβ/size · x · Σ_window'(dy·x·d^(−β−1)), window' the transposed window.
            let x = ctx.input(0)
            guard let size = ctx.attribute("size")?.int, size > 0 else { throw ctx.error("LRN needs a positive size") }
            let alpha = Float(ctx.attribute("alpha")?.float ?? 0.0001), beta = Float(ctx.attribute("beta")?.float ?? 0.75)
            let bias = Float(ctx.attribute("bias")?.float ?? 1)
            let lo = (size - 1) / 2, hi = size - 1 - lo
            let squares = channelWindowSum(&ctx, ctx.emit("Mul", [x, x]), before: lo, after: hi)
            let d = ctx.emit("Add", [ctx.emit("Mul", [squares, ctx.scalar(alpha / Float(size))]), ctx.scalar(bias)])
            let scale = ctx.emit("Pow", [d, ctx.scalar(-beta)])
            let weighted = ctx.emit("Div", [ctx.emit("Mul", [ctx.emit("Mul", [ctx.dy, x]), scale]), d])
            let back = channelWindowSum(&ctx, weighted, before: hi, after: lo)
            let correction = ctx.emit("Mul", [ctx.emit("Mul", [x, back]), ctx.scalar(2 * alpha * beta / Float(size))])
            return [ctx.emit("Sub", [ctx.emit("Mul", [ctx.dy, scale]), correction])]
        },
    ]

    /// ReduceMean over `axes`, keeping them.
    static func mean(_ ctx: inout VJPContext, _ v: String, _ axes: [Int]) -> String {
        ctx.emit("ReduceMean", [v], ["axes": .ints(axes), "keepdims": .int(1)])
    }

    /// Σ_{k = c − before}^{c + after} v[:, k] for each channel c of `[N, C, ...]` (zeros past the
    /// ends): `v` padded along axis 1, then `before + after + 1` shifted slices added.
    static func channelWindowSum(_ ctx: inout VJPContext, _ v: String, before: Int, after: Int) -> String {
        let width = before + after
        guard width > 0 else { return v }
        let axes = ctx.int64s([1])
        let padded = ctx.emit("Pad", [v, ctx.int64s([before, after]), "", axes])
        let slices = (0...width).map { k in
            ctx.emit("Slice", [padded, ctx.int64s([k]), ctx.int64s([k < width ? k - width : Int(Int64.max)]), axes])
        }
        return ctx.emit("Sum", slices)
    }

    /// Group (or, with `groups` nil, instance) normalization of `[N, C, ...]` with per-channel scale
    /// and bias (per group for GroupNormalization-18's `[num_groups]` parameters).
    static func groupNormalization(_ ctx: inout VJPContext, groups: Int?) throws -> [String?] {
        let x = ctx.input(0), scale = ctx.input(1)
        guard let rank = ctx.rank(x), rank >= 2 else { throw ctx.error("gradient of \(ctx.node.op) needs an input of known rank ≥ 2") }
        let eps = Float(ctx.attribute("epsilon")?.float ?? 1e-5)
        let channels = ctx.types[x]?.shape?.dims[1].value
        let perGroup = groups.map { g in ctx.types[scale]?.shape?.elementCount == g && channels != g } ?? false
        // [N, G, M]: one row per sample and group.
        let grouped = ctx.int64s([0, groups ?? 0, -1])
        func rows(_ v: String) -> String { ctx.emit("Reshape", [v, grouped]) }
        /// A per-channel (or per-group) vector shaped to broadcast against x (or its rows).
        func broadcast(_ v: String) -> String {
            if perGroup { return ctx.emit("Unsqueeze", [v], ["axes": .ints([1])]) }
            return rank > 2 ? ctx.emit("Unsqueeze", [v], ["axes": .ints(Array(1..<(rank - 1)))]) : v
        }
        let xr = rows(x)
        let c = ctx.emit("Sub", [xr, mean(&ctx, xr, [2])])
        let r = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit("Add", [mean(&ctx, ctx.emit("Mul", [c, c]), [2]), ctx.scalar(eps)])])])
        let xhat = ctx.emit("Mul", [c, r])
        let dyRows = rows(ctx.dy)
        var dx: String? = nil
        if ctx.needs(0) {
            let g = perGroup ? ctx.emit("Mul", [dyRows, broadcast(scale)]) : rows(ctx.emit("Mul", [ctx.dy, broadcast(scale)]))
            let inner = ctx.emit("Sub", [ctx.emit("Sub", [g, mean(&ctx, g, [2])]), ctx.emit("Mul", [xhat, mean(&ctx, ctx.emit("Mul", [g, xhat]), [2])])])
            dx = ctx.emit("Reshape", [ctx.emit("Mul", [r, inner]), ctx.emit("Shape", [x])])
        }
        /// Σ over everything but the channel (or group) axis.
        func perParameter(_ v: String, inRows: Bool) -> String {
            let axes = perGroup ? [0, 2] : [0] + Array(2..<rank)
            let source = perGroup == inRows ? v : (inRows ? ctx.emit("Reshape", [v, ctx.emit("Shape", [x])]) : rows(v))
            return ctx.emit("ReduceSum", [source], ["axes": .ints(axes), "keepdims": .int(0)])
        }
        let dscale = ctx.needs(1) ? perParameter(ctx.emit("Mul", [dyRows, xhat]), inRows: true) : nil
        let dbias = ctx.needs(2) ? perParameter(ctx.dy, inRows: false) : nil
        return [dx, dscale, dbias]
    }
}
