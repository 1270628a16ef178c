/// Scaled dot-product attention (ONNX `Attention`, opsets 23–24 and the window attributes of
/// later versions): `Y = softmax(softcap(Q·Kᵀ·scale) + bias) · V` with an optional KV cache
/// (`past_key`/`past_value` → `present_key`/`present_value`), boolean or additive masks, causal
/// and sliding-window masking, grouped-query heads and `nonpad_kv_seqlen`.
///
/// Inputs are 4-D `[batch, heads, sequence, head_size]`, or 3-D `[batch, sequence, hidden]` with
/// `q_num_heads` and `kv_num_heads` giving the head counts.
public enum AttentionOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("Attention", inputs: 3...7, outputs: 1...4, attributes: [
                .optional("is_causal", .int(0)), .optional("kv_num_heads", kind: "int"),
                .optional("q_num_heads", kind: "int"), .optional("qk_matmul_output_mode", .int(0)),
                .optional("scale", kind: "float"), .optional("softcap", .float(0)),
                .optional("softmax_precision", kind: "int"),
                .optional("left_window_size", .int(-1)), .optional("right_window_size", .int(-1)),
            ], infer: infer),
        ]
    }

    @Sendable static func infer(_ ctx: InferenceContext) throws -> [ValueType?] {
        let n = ctx.node.outputs.count
        guard let q = ctx.input(0) else { return Array(repeating: nil, count: n) }
        let unknown: [ValueType?] = [ValueType(q.dtype, nil), ValueType(q.dtype, nil), ValueType(q.dtype, nil), ValueType(q.dtype, nil)]
        guard let qs = q.shape, let ks = ctx.shape(1), let vs = ctx.shape(2) else { return Array(unknown.prefix(n)) }
        guard qs.rank == ks.rank, ks.rank == vs.rank, qs.rank == 3 || qs.rank == 4 else {
            throw ctx.error("Q, K and V must all be 3-D or all 4-D, are \(qs), \(ks), \(vs)")
        }
        let past = ctx.shape(4)?.dims[2] ?? .known(0)
        func plus(_ a: Dim, _ b: Dim) -> Dim {
            guard let x = a.value, let y = b.value else { return .unknown }
            return .known(x + y)
        }
        var y: Shape, presentK: Shape, presentV: Shape, qk: Shape
        if qs.rank == 4 {
            y = Shape([qs.dims[0], qs.dims[1], qs.dims[2], vs.dims[3]])
            presentK = Shape([ks.dims[0], ks.dims[1], plus(past, ks.dims[2]), ks.dims[3]])
            presentV = Shape([vs.dims[0], vs.dims[1], plus(past, vs.dims[2]), vs.dims[3]])
            qk = Shape([qs.dims[0], qs.dims[1], qs.dims[2], plus(past, ks.dims[2])])
        } else {
            let qh = try ctx.int("q_num_heads", default: 0), kvh = try ctx.int("kv_num_heads", default: 0)
            guard qh > 0, kvh > 0 else { throw ctx.error("3-D inputs need q_num_heads and kv_num_heads") }
            func div(_ d: Dim, _ h: Int) -> Dim { d.value.map { .known($0 / h) } ?? .unknown }
            let vHead = div(vs.dims[2], kvh)
            y = Shape([qs.dims[0], qs.dims[1], vHead.value.map { .known($0 * qh) } ?? .unknown])
            presentK = Shape([ks.dims[0], .known(kvh), plus(past, ks.dims[1]), div(ks.dims[2], kvh)])
            presentV = Shape([vs.dims[0], .known(kvh), plus(past, vs.dims[1]), vHead])
            qk = Shape([qs.dims[0], .known(qh), qs.dims[1], plus(past, ks.dims[1])])
        }
        let all = [y, presentK, presentV, qk].map { ValueType(q.dtype, $0) }
        return Array(all.prefix(n))
    }
}
