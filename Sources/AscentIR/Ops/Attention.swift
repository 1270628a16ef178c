/// Attention and the sequence-model ops around it: `Attention` (scaled dot-product with KV cache,
/// masks, causal and sliding windows, grouped-query heads, softcap), `RotaryEmbedding`,
/// `LinearAttention`, `CausalConvWithState`.
///
/// `Attention` inputs are 4-D `[batch, heads, sequence, head_size]`, or 3-D `[batch, sequence,
/// hidden]` with `q_num_heads` and `kv_num_heads` giving the head counts.
extension OpDefinition {
    public static let attention: OpDefinition = OpDefinition(
        "Attention", inputs: 3...7, outputs: 1...4, attributes: AttentionAttributes.self, onnx: ONNXHistory([23, 24, 25]),
        shape: { ctx in
            let n = ctx.outputCount
            guard let q = ctx.input(0) else { return Array(repeating: nil, count: n) }
            let unknown = Array(repeating: ValueType(q.dtype, nil) as ValueType?, count: n)
            guard let qs = q.shape, let ks = ctx.shape(1), let vs = ctx.shape(2) else { return unknown }
            guard qs.rank == ks.rank, ks.rank == vs.rank, qs.rank == 3 || qs.rank == 4 else {
                throw ctx.error("Q, K and V must all be 3-D or all 4-D, are \(qs), \(ks), \(vs)")
            }
            if let p = ctx.shape(4), p.rank != 4 { throw ctx.error("past_key \(p) must be 4-D") }
            let past = ctx.shape(4)?.dims[2] ?? .known(0)
            var y: Shape, presentK: Shape, presentV: Shape, qk: Shape
            if qs.rank == 4 {
                y = Shape([qs.dims[0], qs.dims[1], qs.dims[2], vs.dims[3]])
                presentK = Shape([ks.dims[0], ks.dims[1], past + ks.dims[2], ks.dims[3]])
                presentV = Shape([vs.dims[0], vs.dims[1], past + vs.dims[2], vs.dims[3]])
                qk = Shape([qs.dims[0], qs.dims[1], qs.dims[2], past + ks.dims[2]])
            } else {
                let a = try ctx.attributes(AttentionAttributes.self)
                guard let qh = a.qHeads, let kvh = a.kvHeads, qh > 0, kvh > 0 else {
                    throw ctx.error("3-D inputs need q_num_heads and kv_num_heads")
                }
                let vHead = vs.dims[2].dividedExactly(by: .known(kvh))
                y = Shape([qs.dims[0], qs.dims[1], vHead * .known(qh)])
                presentK = Shape([ks.dims[0], .known(kvh), past + ks.dims[1], ks.dims[2].dividedExactly(by: .known(kvh))])
                presentV = Shape([vs.dims[0], .known(kvh), past + vs.dims[1], vHead])
                qk = Shape([qs.dims[0], .known(qh), qs.dims[1], past + ks.dims[1]])
            }
            return Array([y, presentK, presentV, qk].map { ValueType(q.dtype, $0) }.prefix(n))
        })

    public static let rotaryEmbedding: OpDefinition = OpDefinition(
        "RotaryEmbedding", inputs: 3...4, attributes: RotaryEmbeddingAttributes.self, onnx: ONNXHistory([23]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in  // a rotation of feature pairs: the adjoint rotates back (sin negated)
            guard !g.needs(1), !g.needs(2) else { throw g.error("gradient of RotaryEmbedding's cos/sin caches is not supported") }
            var inputs = g.node.inputs
            inputs[0] = g.dy.name
            inputs[2] = (-g.input(2)).name
            return [g.emit(.rotaryEmbedding, names: inputs, g.node.attributes), nil, nil, nil]
        })

    public static let linearAttention: OpDefinition = OpDefinition(
        "LinearAttention", inputs: 3...6, outputs: 1...2, attributes: LinearAttentionAttributes.self, onnx: ONNXHistory([27]),
        shape: { ctx in
            guard let q = ctx.input(0) else { return ctx.unknownOutputs(nil) }
            let a = try ctx.attributes(LinearAttentionAttributes.self)
            var y: Shape? = nil, state: Shape? = nil
            if let qs = q.shape, let vs = ctx.shape(2), qs.rank == 3, vs.rank == 3 {
                let dv = vs.dims[2].dividedExactly(by: .known(a.kvHeads)), dk = qs.dims[2].dividedExactly(by: .known(a.qHeads))
                y = Shape([qs.dims[0], qs.dims[1], dv * .known(a.qHeads)])
                state = Shape([qs.dims[0], .known(a.kvHeads), dk, dv])
            }
            return Array([ValueType(q.dtype, y), ValueType(q.dtype, state)].prefix(ctx.outputCount))
        })

    public static let causalConvWithState: OpDefinition = OpDefinition(
        "CausalConvWithState", inputs: 2...4, outputs: 1...2, attributes: CausalConvAttributes.self, onnx: ONNXHistory([27]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return ctx.unknownOutputs(nil) }
            var state: Shape? = nil
            if let s = x.shape, let w = ctx.shape(1), s.rank == 3, w.rank == 3 {
                state = Shape([s.dims[0], s.dims[1], w.dims[2] - .known(1)])
            }
            return Array([x, ValueType(x.dtype, state)].prefix(ctx.outputCount))
        })
}

public struct AttentionAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .int("is_causal", 0), .optional("kv_num_heads", kind: "int"), .optional("q_num_heads", kind: "int"),
        .int("qk_matmul_output_mode", 0), .optional("scale", kind: "float"), .float("softcap", 0),
        .optional("softmax_precision", kind: "int"), .int("left_window_size", -1), .int("right_window_size", -1),
    ]
    public let isCausal: Bool
    public let qHeads: Int?, kvHeads: Int?
    /// What the optional fourth output holds: 0 the scaled product, 1 with the mask, 2 after softcap, 3 after softmax.
    public let qkOutputMode: Int
    public let scale: Float?
    public let softcap: Float
    public let leftWindow: Int, rightWindow: Int
    public init(_ a: AttributeReader) throws {
        isCausal = try a.bool("is_causal")
        qHeads = try a.optionalInt("q_num_heads")
        kvHeads = try a.optionalInt("kv_num_heads")
        qkOutputMode = try a.int("qk_matmul_output_mode")
        guard (0...3).contains(qkOutputMode) else { throw AscentError.invalid("qk_matmul_output_mode \(qkOutputMode) is not 0...3") }
        scale = try a.optionalDouble("scale").map(Float.init)
        softcap = try a.float("softcap")
        leftWindow = try a.int("left_window_size")
        rightWindow = try a.int("right_window_size")
    }
}

public struct RotaryEmbeddingAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("interleaved", 0), .int("rotary_embedding_dim", 0), .int("num_heads", 0)]
    public let interleaved: Bool, rotaryDim: Int, numHeads: Int
    public init(_ a: AttributeReader) throws {
        interleaved = try a.bool("interleaved")
        rotaryDim = try a.int("rotary_embedding_dim")
        numHeads = try a.int("num_heads")
    }
}

public struct LinearAttentionAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .int("chunk_size", 0), .required("kv_num_heads", kind: "int"), .required("q_num_heads", kind: "int"),
        .float("scale", 0), .string("update_rule", "gated_delta"),
    ]
    public let qHeads: Int, kvHeads: Int, scale: Float
    public let gating: Bool, delta: Bool
    public init(_ a: AttributeReader) throws {
        qHeads = try a.int("q_num_heads")
        kvHeads = try a.int("kv_num_heads")
        scale = try a.float("scale")
        let rule = try a.choice("update_rule", ["linear", "gated", "delta", "gated_delta"])
        gating = rule == "gated" || rule == "gated_delta"
        delta = rule == "delta" || rule == "gated_delta"
        guard qHeads > 0, kvHeads > 0, qHeads % kvHeads == 0 else {
            throw AscentError.invalid("q_num_heads \(qHeads) must be a positive multiple of kv_num_heads \(kvHeads)")
        }
    }
}

public struct CausalConvAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.string("activation", "none")]
    /// SiLU after the convolution (`activation` silu or swish).
    public let silu: Bool
    public init(_ a: AttributeReader) throws { silu = try a.choice("activation", ["none", "silu", "swish"]) != "none" }
}
