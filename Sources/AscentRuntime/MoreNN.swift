import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// SwiGLU(a, b) = a · σ(alpha·a) · b (same shapes, float32).
struct SwiGLUKernel: Kernel {
    let alpha: Float

    init(_ a: NodeAttributes) throws { alpha = try a.float("alpha", 1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        try requireFloat("SwiGLU", a)
        guard a == b else { throw AscentError.invalid("SwiGLU needs inputs of the same type, got \(a) and \(b)") }
        return [a]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let pa = a.floats, pb = b.floats, o = y.mutableFloats
        for i in 0..<a.count { o[i] = pa[i] * (1 / (1 + expf(-alpha * pa[i]))) * pb[i] }
        return [y]
    }
}

/// CausalConvWithState(input [B, C, L], weight [C, 1, k], bias?, past_state? [B, C, k−1]): a depthwise
/// causal 1-D convolution over the past state followed by the input, optionally with SiLU; the second
/// output is the last k−1 positions (the next call's state).
struct CausalConvKernel: Kernel {
    let silu: Bool
    let outputCount: Int

    init(_ a: NodeAttributes) throws {
        let activation = try a.string("activation", "none")
        guard ["none", "silu", "swish"].contains(activation) else { throw AscentError.invalid("activation '\(activation)' is not none, silu or swish") }
        silu = activation != "none"
        outputCount = max(1, a.outputCount)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        try requireFloat("CausalConvWithState", x)
        guard x.rank == 3, w.rank == 3, w.shape[0] == x.shape[1], w.shape[1] == 1, w.shape[2] >= 1 else {
            throw AscentError.invalid("input \(x) and weight \(w) do not match")
        }
        let state = TensorType(.float32, [x.shape[0], x.shape[1], w.shape[2] - 1])
        if inputs.has(3), try inputs.type(3).shape != state.shape { throw AscentError.invalid("past_state must be \(state)") }
        return Array([x, state].prefix(outputCount))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let w = inputs[1] else { throw AscentError.invalid("missing input") }
        let bias = inputs.count > 2 ? inputs[2]?.floats() : nil
        let past = inputs.count > 3 ? inputs[3]?.floats() : nil
        let (b, c, l) = (x.shape[0], x.shape[1], x.shape[2]), k = w.shape[2], padded = l + k - 1
        let xs = x.floats(), ws = w.floats()
        var y = [Float](repeating: 0, count: b * c * l), state = [Float](repeating: 0, count: b * c * (k - 1))
        var row = [Float](repeating: 0, count: padded)
        for bi in 0..<b {
            for ci in 0..<c {
                let bc = bi * c + ci
                for i in 0..<(k - 1) { row[i] = past?[bc * (k - 1) + i] ?? 0 }
                for i in 0..<l { row[k - 1 + i] = xs[bc * l + i] }
                for t in 0..<l {
                    var acc = bias?[ci] ?? 0
                    for j in 0..<k { acc += row[t + j] * ws[ci * k + j] }
                    y[bc * l + t] = silu ? acc / (1 + expf(-acc)) : acc
                }
                for i in 0..<(k - 1) { state[bc * (k - 1) + i] = row[padded - (k - 1) + i] }
            }
        }
        return Array([Tensor(shape: x.shape, scalars: y), Tensor(shape: [b, c, k - 1], scalars: state)].prefix(outputCount))
    }
}

/// RotaryEmbedding(input, cos_cache, sin_cache, position_ids?): rotates pairs of the first
/// `rotary_embedding_dim` features of each head (halves, or interleaved pairs), for 4-D
/// `[B, H, S, D]` or 3-D `[B, S, H·D]` (with `num_heads`) inputs.
struct RotaryEmbeddingKernel: Kernel {
    let interleaved: Bool, rotaryDim: Int, numHeads: Int

    init(_ a: NodeAttributes) throws {
        interleaved = try a.int("interleaved", 0) != 0
        rotaryDim = try a.int("rotary_embedding_dim", 0)
        numHeads = try a.int("num_heads", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("RotaryEmbedding", x)
        guard x.rank == 4 || (x.rank == 3 && numHeads > 0 && x.shape[2] % numHeads == 0) else {
            throw AscentError.invalid("RotaryEmbedding needs a 4-D input or a 3-D one with num_heads, got \(x)")
        }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let cosT = inputs[1], let sinT = inputs[2] else { throw AscentError.invalid("missing input") }
        let positions = inputs.count > 3 ? inputs[3]?.int64s() : nil
        let rank4 = x.rank == 4
        let b = x.shape[0], s = rank4 ? x.shape[2] : x.shape[1], h = rank4 ? x.shape[1] : numHeads
        let d = rank4 ? x.shape[3] : x.shape[2] / numHeads
        let rd = rotaryDim == 0 ? d : rotaryDim, half = rd / 2
        guard rd <= d, cosT.shape.last == half, sinT.shape.last == half else {
            throw AscentError.invalid("cos/sin caches \(cosT), \(sinT) do not have rotary_embedding_dim/2 = \(half) columns")
        }
        let cs = cosT.floats(), sn = sinT.floats()
        var v = x.floats()
        for bi in 0..<b {
            for si in 0..<s {
                let row: Int
                if let positions { row = Int(positions[bi * s + si]) } else { row = bi * s + si }
                guard (row + 1) * half <= cs.count else { throw AscentError.invalid("position \(row) is outside the caches") }
                for hi in 0..<h {
                    let base = rank4 ? ((bi * h + hi) * s + si) * d : ((bi * s + si) * h + hi) * d
                    for i in 0..<half {
                        let i1 = interleaved ? base + 2 * i : base + i, i2 = interleaved ? base + 2 * i + 1 : base + i + half
                        let c = cs[row * half + i], sv = sn[row * half + i]
                        let x1 = v[i1], x2 = v[i2]
                        v[i1] = c * x1 - sv * x2
                        v[i2] = sv * x1 + c * x2
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, scalars: v)]
    }
}

/// LinearAttention (recurrent form, float32) over 3-D `[B, T, H·D]` query/key/value: per step the
/// `[d_k, d_v]` state of each KV head decays (`gated`: ·exp(decay)), is delta-corrected (`delta`:
/// v ← beta·(v − Sᵀk)), gains k⊗v, and is read by each query head (grouped heads share a state):
/// `o = scale · qᵀS`. Outputs the `[B, T, Hq·d_v]` result and the final state `[B, H_kv, d_k, d_v]`.
struct LinearAttentionKernel: Kernel {
    let qHeads: Int, kvHeads: Int, scale: Float, gating: Bool, delta: Bool
    let outputCount: Int

    init(_ a: NodeAttributes) throws {
        qHeads = try a.int("q_num_heads", 0)
        kvHeads = try a.int("kv_num_heads", 0)
        scale = try a.float("scale", 0)
        let rule = try a.string("update_rule", "gated_delta")
        guard ["linear", "gated", "delta", "gated_delta"].contains(rule) else { throw AscentError.invalid("update_rule '\(rule)' is not supported") }
        gating = rule == "gated" || rule == "gated_delta"
        delta = rule == "delta" || rule == "gated_delta"
        guard qHeads > 0, kvHeads > 0, qHeads % kvHeads == 0 else {
            throw AscentError.invalid("q_num_heads \(qHeads) must be a positive multiple of kv_num_heads \(kvHeads)")
        }
        outputCount = max(1, a.outputCount)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let q = try inputs.type(0), k = try inputs.type(1), v = try inputs.type(2)
        try requireFloat("LinearAttention", q)
        guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[2] % qHeads == 0, k.shape[2] % kvHeads == 0, v.shape[2] % kvHeads == 0 else {
            throw AscentError.invalid("query \(q), key \(k) and value \(v) must be 3-D with sizes divisible by the heads")
        }
        guard inputs.has(4) == gating, inputs.has(5) == delta else { throw AscentError.invalid("decay and beta do not match update_rule") }
        let dk = q.shape[2] / qHeads, dv = v.shape[2] / kvHeads
        return Array([TensorType(.float32, [q.shape[0], q.shape[1], qHeads * dv]),
                      TensorType(.float32, [q.shape[0], kvHeads, dk, dv])].prefix(outputCount))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let qt = inputs[0], let kt = inputs[1], let vt = inputs[2] else { throw AscentError.invalid("missing input") }
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let b = qt.shape[0], t = qt.shape[1], dk = qt.shape[2] / qHeads, dv = vt.shape[2] / kvHeads, group = qHeads / kvHeads
        let q = qt.floats(), k = kt.floats(), v = vt.floats()
        var state = input(3)?.floats() ?? [Float](repeating: 0, count: b * kvHeads * dk * dv)
        guard state.count == b * kvHeads * dk * dv else { throw AscentError.invalid("past_state does not match [\(b),\(kvHeads),\(dk),\(dv)]") }
        let decay = input(4), beta = input(5)
        let g = decay?.floats(), bt = beta?.floats()
        let gLast = decay?.shape.last ?? 1, bLast = beta?.shape.last ?? 1
        if let decay, gLast != kvHeads && gLast != kvHeads * dk { throw AscentError.invalid("decay \(decay) must end in \(kvHeads) or \(kvHeads * dk)") }
        if let beta, bLast != kvHeads && bLast != 1 { throw AscentError.invalid("beta \(beta) must end in \(kvHeads) or 1") }
        let s = scale == 0 ? 1 / Float(dk).squareRoot() : scale
        var out = [Float](repeating: 0, count: b * t * qHeads * dv)
        var vv = [Float](repeating: 0, count: dv)
        for bi in 0..<b {
            for i in 0..<t {
                for h in 0..<kvHeads {
                    let sBase = (bi * kvHeads + h) * dk * dv
                    let kBase = (bi * t + i) * kvHeads * dk + h * dk, vBase = (bi * t + i) * kvHeads * dv + h * dv
                    if let g {
                        for d in 0..<dk {
                            let gv = gLast == kvHeads ? g[(bi * t + i) * kvHeads + h] : g[(bi * t + i) * kvHeads * dk + h * dk + d]
                            let e = expf(gv)
                            for m in 0..<dv { state[sBase + d * dv + m] *= e }
                        }
                    }
                    for m in 0..<dv { vv[m] = v[vBase + m] }
                    if let bt {
                        let bv = bt[(bi * t + i) * bLast + (bLast == 1 ? 0 : h)]
                        for m in 0..<dv {
                            var r: Float = 0
                            for d in 0..<dk { r += state[sBase + d * dv + m] * k[kBase + d] }
                            vv[m] = bv * (vv[m] - r)
                        }
                    }
                    for d in 0..<dk { for m in 0..<dv { state[sBase + d * dv + m] += k[kBase + d] * vv[m] } }
                    for hq in (h * group)..<((h + 1) * group) {
                        let qBase = (bi * t + i) * qHeads * dk + hq * dk, oBase = (bi * t + i) * qHeads * dv + hq * dv
                        for m in 0..<dv {
                            var acc: Float = 0
                            for d in 0..<dk { acc += q[qBase + d] * state[sBase + d * dv + m] }
                            out[oBase + m] = s * acc
                        }
                    }
                }
            }
        }
        return Array([Tensor(shape: outputs[0].shape, scalars: out), Tensor(shape: [b, kvHeads, dk, dv], scalars: state)].prefix(outputCount))
    }
}
