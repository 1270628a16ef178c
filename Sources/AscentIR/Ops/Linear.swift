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
