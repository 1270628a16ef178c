/// Matrix products: `MatMul` (NumPy semantics, batched) and `Gemm`
/// (`alpha · A' · B' + beta · C`, with `A' = transA ? Aᵀ : A`).
enum LinearOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("MatMul", inputs: 2...2, infer: matmul),
            OpSchema("Gemm", inputs: 2...3, attributes: [
                .optional("alpha", .float(1)), .optional("beta", .float(1)),
                .optional("transA", .int(0)), .optional("transB", .int(0)),
            ], infer: gemm),
        ]
    }

    @Sendable static func matmul(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let a = ctx.input(0), let sa = a.shape, let sb = ctx.shape(1) else {
            return [ctx.input(0).map { ValueType($0.dtype, nil) }]
        }
        guard sa.rank >= 1, sb.rank >= 1 else { throw ctx.error("MatMul of a scalar") }
        // Promote 1-D operands as NumPy does, then drop the promoted axes.
        let left = sa.rank == 1 ? Shape([.known(1)] + sa.dims) : sa
        let right = sb.rank == 1 ? Shape(sb.dims + [.known(1)]) : sb
        let k1 = left.dims[left.rank - 1], k2 = right.dims[right.rank - 2]
        if case .known(let p) = k1, case .known(let q) = k2, p != q {
            throw ctx.error("inner dimensions differ: \(sa) × \(sb)")
        }
        let batch = try ShapeRules.broadcast(Shape(Array(left.dims.dropLast(2))), Shape(Array(right.dims.dropLast(2))))
        var dims = batch.dims
        if sa.rank > 1 { dims.append(left.dims[left.rank - 2]) }
        if sb.rank > 1 { dims.append(right.dims[right.rank - 1]) }
        return [ValueType(a.dtype, Shape(dims))]
    }

    @Sendable static func gemm(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let a = ctx.input(0), let sa = a.shape, let sb = ctx.shape(1) else {
            return [ctx.input(0).map { ValueType($0.dtype, nil) }]
        }
        guard sa.rank == 2, sb.rank == 2 else { throw ctx.error("Gemm needs 2-D inputs, got \(sa) and \(sb)") }
        let ta = try ctx.int("transA", default: 0) != 0, tb = try ctx.int("transB", default: 0) != 0
        let m = ta ? sa.dims[1] : sa.dims[0], k1 = ta ? sa.dims[0] : sa.dims[1]
        let k2 = tb ? sb.dims[1] : sb.dims[0], n = tb ? sb.dims[0] : sb.dims[1]
        if case .known(let p) = k1, case .known(let q) = k2, p != q {
            throw ctx.error("inner dimensions differ: \(sa) × \(sb)")
        }
        let out = Shape([m, n])
        if let sc = ctx.shape(2) { _ = try ShapeRules.broadcast(out, sc) }
        return [ValueType(a.dtype, out)]
    }
}

/// Normalization ops. `BatchNormalization` here is inference-mode (moving statistics):
/// `y = (x - mean) / sqrt(var + epsilon) · scale + B` along the channel `axis`
/// (1 for ONNX, -1 for Keras channels-last).
enum NormalizationOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("BatchNormalization", inputs: 5...5, outputs: 1...3, attributes: [
                .optional("epsilon", .float(1e-5)), .optional("momentum", .float(0.9)), .optional("axis", .int(1)),
            ], infer: { ctx in
                if let s = ctx.shape(0) {
                    let axis = try ShapeRules.axis(try ctx.int("axis", default: 1), rank: s.rank)
                    for i in 1...4 {
                        if let p = ctx.shape(i), p.rank != 1 || (p.dims[0].value != nil && s.dims[axis].value != nil
                                                                 && p.dims[0] != s.dims[axis]) {
                            throw ctx.error("parameter \(i) has shape \(p), expected [\(s.dims[axis])]")
                        }
                    }
                }
                return [ctx.input(0)]
            }),
            OpSchema("LayerNormalization", inputs: 2...3, outputs: 1...3, attributes: [
                .optional("axis", .int(-1)), .optional("epsilon", .float(1e-5)),
            ], infer: { [$0.input(0)] }),
            OpSchema("Softmax", inputs: 1...1, attributes: [.optional("axis", .int(-1))], infer: softmax),
            OpSchema("LogSoftmax", inputs: 1...1, attributes: [.optional("axis", .int(-1))], infer: softmax),
        ]
    }

    @Sendable static func softmax(_ ctx: InferenceContext) throws -> [ValueType?] {
        if let s = ctx.shape(0) { _ = try ShapeRules.axis(try ctx.int("axis", default: -1), rank: s.rank) }
        return [ctx.input(0)]
    }
}

// MARK: - Gradients

extension LinearOps {
    static let vjps: [String: VJPRule] = [
        "MatMul": { ctx in  // dA = dY·Bᵀ, dB = Aᵀ·dY, summed over broadcast batch axes
            // 1-D operands are promoted as NumPy does (a row, b a column), dY with them.
            let a0 = ctx.input(0), b0 = ctx.input(1)
            guard let ra0 = ctx.rank(a0), let rb0 = ctx.rank(b0), ra0 >= 1, rb0 >= 1 else {
                throw ctx.error("gradient of MatMul needs operands of known rank")
            }
            let a = ra0 == 1 ? ctx.emit("Unsqueeze", [a0], ["axes": .ints([0])]) : a0
            let b = rb0 == 1 ? ctx.emit("Unsqueeze", [b0], ["axes": .ints([1])]) : b0
            let ra = max(ra0, 2), rb = max(rb0, 2)
            var dy = ctx.dy
            switch (ra0 == 1, rb0 == 1) {
            case (true, true): dy = ctx.emit("Reshape", [dy, ctx.int64s([1, 1])])
            case (true, false): dy = ctx.emit("Unsqueeze", [dy], ["axes": .ints([-2])])
            case (false, true): dy = ctx.emit("Unsqueeze", [dy], ["axes": .ints([-1])])
            case (false, false): break
            }
            func swapLast(_ v: String, _ rank: Int) -> String {
                ctx.emit("Transpose", [v], ["perm": .ints(Array(0..<(rank - 2)) + [rank - 1, rank - 2])])
            }
            let sameBatch = ra == rb && GradientBuilder.provablySameShape(
                ctx.types[a0]?.shape.map { Shape(Array($0.dims.dropLast(2))) },
                ctx.types[b0]?.shape.map { Shape(Array($0.dims.dropLast(2))) }, rule: "")
            func back(_ g: String, _ promoted: String, _ original: String, _ rank: Int) -> String {
                let summed = sameBatch ? g : ctx.emit("SumTo", [g, promoted])
                return rank == 1 ? ctx.emit("Reshape", [summed, ctx.emit("Shape", [original])]) : summed
            }
            let da = ctx.needs(0) ? back(ctx.emit("MatMul", [dy, swapLast(b, rb)]), a, a0, ra0) : nil
            let db = ctx.needs(1) ? back(ctx.emit("MatMul", [swapLast(a, ra), dy]), b, b0, rb0) : nil
            return [da, db]
        },
        "Gemm": { ctx in  // Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A
            let alpha = ctx.attribute("alpha")?.float ?? 1, beta = Float(ctx.attribute("beta")?.float ?? 1)
            let ta = (ctx.attribute("transA")?.int ?? 0) != 0, tb = (ctx.attribute("transB")?.int ?? 0) != 0
            let a = ctx.input(0), b = ctx.input(1), dy = ctx.dy
            func gemm(_ x: String, _ y: String, _ tx: Bool, _ ty: Bool) -> String {
                ctx.emit("Gemm", [x, y], ["alpha": .float(alpha), "transA": .int(tx ? 1 : 0), "transB": .int(ty ? 1 : 0)])
            }
            let da = ctx.needs(0) ? (ta ? gemm(b, dy, tb, true) : gemm(dy, b, false, !tb)) : nil
            let db = ctx.needs(1) ? (tb ? gemm(dy, a, true, ta) : gemm(a, dy, !ta, false)) : nil
            var dc: String? = nil
            if ctx.node.inputs.count > 2, ctx.needs(2) {
                dc = ctx.emit("SumTo", [beta == 1 ? dy : ctx.emit("Mul", [dy, ctx.scalar(beta)]), ctx.input(2)])
            }
            return [da, db, dc]
        },
    ]
}

extension NormalizationOps {
    static let vjps: [String: VJPRule] = [
        "BatchNormalization": { ctx in
            // Inference form: y = (x − mean) · s + B with s = scale / √(var + ε).
            let x = ctx.input(0), scale = ctx.input(1), mean = ctx.input(3), variance = ctx.input(4)
            guard let rank = ctx.rank(x) else { throw ctx.error("gradient of BatchNormalization needs the input rank") }
            var axis = ctx.attribute("axis")?.int ?? 1
            if axis < 0 { axis += rank }
            let eps = Float(ctx.attribute("epsilon")?.float ?? 1e-5)
            let others = (0..<rank).filter { $0 != axis }
            /// A per-channel vector shaped to broadcast against x.
            func channel(_ v: String) -> String {
                axis == rank - 1 ? v : ctx.emit("Unsqueeze", [v], ["axes": .ints(Array((axis + 1)..<rank).map { $0 - axis })])
            }
            func sum(_ v: String) -> String { ctx.emit("ReduceSum", [v], ["axes": .ints(others), "keepdims": .int(0)]) }
            let varEps = ctx.emit("Add", [variance, ctx.scalar(eps)])
            let invStd = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [varEps])])
            let s = ctx.emit("Mul", [scale, invStd])
            let dx = ctx.needs(0) ? ctx.emit("Mul", [ctx.dy, channel(s)]) : nil
            let centered = (ctx.needs(1) || ctx.needs(4)) ? ctx.emit("Sub", [x, channel(mean)]) : nil
            let dscale = ctx.needs(1) ? ctx.emit("Mul", [sum(ctx.emit("Mul", [ctx.dy, centered!])), invStd]) : nil
            let dbias = ctx.needs(2) || ctx.needs(3) ? sum(ctx.dy) : nil
            let dmean = ctx.needs(3) ? ctx.emit("Neg", [ctx.emit("Mul", [dbias!, s])]) : nil
            let dvar = ctx.needs(4) ? ctx.emit("Mul", [sum(ctx.emit("Mul", [ctx.dy, centered!])),
                                                       ctx.emit("Div", [ctx.emit("Mul", [s, ctx.scalar(-0.5)]), varEps])]) : nil
            return [dx, dscale, ctx.needs(2) ? dbias : nil, dmean, dvar]
        },
        "LayerNormalization": { ctx in
            // y = x̂·scale + B, x̂ = (x − μ)·r, r = 1/√(σ² + ε) over the axes from `axis` on:
            // dx = r·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·scale.
            guard ctx.cotangents.dropFirst().allSatisfy({ $0 == nil }) else {
                throw ctx.error("gradient through LayerNormalization's Mean/InvStdDev outputs is not supported")
            }
            let x = ctx.input(0), scale = ctx.input(1)
            guard let rank = ctx.rank(x) else { throw ctx.error("gradient of LayerNormalization needs the input rank") }
            var axis = ctx.attribute("axis")?.int ?? -1
            if axis < 0 { axis += rank }
            let eps = Float(ctx.attribute("epsilon")?.float ?? 1e-5)
            func mean(_ v: String) -> String { ctx.emit("ReduceMean", [v], ["axes": .ints(Array(axis..<rank)), "keepdims": .int(1)]) }
            let centered = ctx.emit("Sub", [x, mean(x)])
            let r = ctx.emit("Reciprocal", [ctx.emit("Sqrt", [ctx.emit("Add", [mean(ctx.emit("Mul", [centered, centered])), ctx.scalar(eps)])])])
            let xhat = ctx.emit("Mul", [centered, r])
            var dx: String? = nil
            if ctx.needs(0) {
                let g = ctx.emit("Mul", [ctx.dy, scale])
                let inner = ctx.emit("Sub", [ctx.emit("Sub", [g, mean(g)]), ctx.emit("Mul", [xhat, mean(ctx.emit("Mul", [g, xhat]))])])
                dx = ctx.emit("Mul", [r, inner])
            }
            let dscale = ctx.needs(1) ? ctx.emit("SumTo", [ctx.emit("Mul", [ctx.dy, xhat]), scale]) : nil
            let dbias = ctx.needs(2) ? ctx.emit("SumTo", [ctx.dy, ctx.input(2)]) : nil
            return [dx, dscale, dbias]
        },
        "Softmax": { ctx in  // y · (dy − Σ dy·y)
            let y = ctx.output(0)
            let axis = ctx.attribute("axis")?.int ?? -1
            let dot = ctx.emit("ReduceSum", [ctx.emit("Mul", [ctx.dy, y])], ["axes": .ints([axis]), "keepdims": .int(1)])
            return [ctx.emit("Mul", [y, ctx.emit("Sub", [ctx.dy, dot])])]
        },
        "LogSoftmax": { ctx in  // dy − exp(y) · Σ dy
            let axis = ctx.attribute("axis")?.int ?? -1
            let total = ctx.emit("ReduceSum", [ctx.dy], ["axes": .ints([axis]), "keepdims": .int(1)])
            return [ctx.emit("Sub", [ctx.dy, ctx.emit("Mul", [ctx.emit("Exp", [ctx.output(0)]), total])])]
        },
    ]
}
