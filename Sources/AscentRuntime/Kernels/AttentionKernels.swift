import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the attention ops (Ops/Attention.swift): Attention, RotaryEmbedding, LinearAttention,
// CausalConvWithState.

/// The ONNX `Attention` op (float32), following the ONNX reference: KV cache concatenation,
/// grouped-query heads, boolean/additive masks (padded with "masked" along the key axis when
/// shorter), causal and sliding-window masks aligned bottom-right by the cache length or by
/// `nonpad_kv_seqlen`, softcap, the four `qk_matmul_output_mode`s, and fully masked rows giving 0.
struct AttentionKernel: Kernel {
    let isCausal: Bool
    let qHeads: Int?, kvHeads: Int?
    let mode: Int
    let scale: Float?
    let softcap: Float
    let left: Int, right: Int
    let outputCount: Int

    init(_ a: AttentionAttributes, outputCount: Int) {
        isCausal = a.isCausal
        qHeads = a.qHeads
        kvHeads = a.kvHeads
        mode = a.qkOutputMode
        scale = a.scale
        softcap = a.softcap
        left = a.leftWindow
        right = a.rightWindow
        self.outputCount = max(outputCount, 1)
    }

    struct Dims {
        var batch = 0, hq = 0, hkv = 0, sq = 0, skv = 0, past = 0, dk = 0, dv = 0
        var rank3 = false
        var total: Int { past + skv }
    }

    func dims(_ inputs: KernelInputs) throws -> Dims {
        let q = try inputs.type(0), k = try inputs.type(1), v = try inputs.type(2)
        for t in [q, k, v] { guard t.dtype == .float32 else { throw KernelError.dtype(t.dtype) } }
        guard q.rank == k.rank, k.rank == v.rank, q.rank == 3 || q.rank == 4 else {
            throw AscentError.invalid("Q, K and V must all be 3-D or all 4-D, are \(q), \(k), \(v)")
        }
        var d = Dims()
        d.batch = q.shape[0]
        if q.rank == 3 {
            guard let qh = qHeads, let kvh = kvHeads, qh > 0, kvh > 0 else {
                throw AscentError.invalid("3-D inputs need q_num_heads and kv_num_heads")
            }
            guard q.shape[2] % qh == 0, k.shape[2] % kvh == 0, v.shape[2] % kvh == 0 else {
                throw AscentError.invalid("hidden sizes \(q.shape[2]), \(k.shape[2]), \(v.shape[2]) do not divide into the heads")
            }
            d.rank3 = true
            (d.hq, d.hkv, d.sq, d.skv) = (qh, kvh, q.shape[1], k.shape[1])
            (d.dk, d.dv) = (q.shape[2] / qh, v.shape[2] / kvh)
            guard k.shape[2] / kvh == d.dk else { throw AscentError.invalid("Q and K head sizes differ") }
        } else {
            (d.hq, d.hkv, d.sq, d.skv, d.dk, d.dv) = (q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3])
            guard k.shape[3] == d.dk, v.shape[1] == d.hkv, v.shape[2] == d.skv else {
                throw AscentError.invalid("Q \(q), K \(k) and V \(v) do not match")
            }
        }
        guard d.hkv > 0, d.hq % d.hkv == 0 else { throw AscentError.invalid("\(d.hq) query heads do not group into \(d.hkv) key heads") }
        if inputs.has(4) {
            let p = try inputs.type(4)
            guard p.rank == 4, p.shape[0] == d.batch, p.shape[1] == d.hkv, p.shape[3] == d.dk else {
                throw AscentError.invalid("past_key \(p) does not match the keys")
            }
            d.past = p.shape[2]
            guard inputs.has(5), try inputs.type(5).shape == [d.batch, d.hkv, d.past, d.dv] else {
                throw AscentError.invalid("past_value must be given with past_key, shaped [\(d.batch),\(d.hkv),\(d.past),\(d.dv)]")
            }
        }
        return d
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try dims(inputs)
        return nil
    }

    /// A `[B, H, S, D]` copy of a 3-D `[B, S, H·D]` input (or the 4-D input's elements).
    static func heads(_ t: Tensor, _ h: Int, rank3: Bool) -> [Float] {
        let v = t.scalars(as: Float.self)
        guard rank3 else { return v }
        let b = t.shape[0], s = t.shape[1], d = t.shape[2] / h
        var out = [Float](repeating: 0, count: v.count)
        for bi in 0..<b { for si in 0..<s { for hi in 0..<h { for di in 0..<d {
            out[((bi * h + hi) * s + si) * d + di] = v[((bi * s + si) * h + hi) * d + di]
        } } } }
        return out
    }

    /// `past` and `new` (`[B, H, P, D]` and `[B, H, S, D]`) joined along the sequence axis.
    static func concat(_ past: [Float], _ new: [Float], b: Int, h: Int, p: Int, s: Int, d: Int) -> [Float] {
        if p == 0 { return new }
        var out = [Float](repeating: 0, count: b * h * (p + s) * d)
        for bh in 0..<(b * h) {
            for i in 0..<p { for k in 0..<d { out[(bh * (p + s) + i) * d + k] = past[(bh * p + i) * d + k] } }
            for i in 0..<s { for k in 0..<d { out[(bh * (p + s) + p + i) * d + k] = new[(bh * s + i) * d + k] } }
        }
        return out
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let qt = inputs[0], let kt = inputs[1], let vt = inputs[2] else { throw AscentError.invalid("missing input") }
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let d = try dims(KernelInputs(types: inputs.map { $0?.type }, values: inputs))
        let q = AttentionKernel.heads(qt, d.hq, rank3: d.rank3)
        var k = AttentionKernel.heads(kt, d.hkv, rank3: d.rank3)
        var v = AttentionKernel.heads(vt, d.hkv, rank3: d.rank3)
        if let pk = input(4), let pv = input(5) {
            k = AttentionKernel.concat(pk.floats(), k, b: d.batch, h: d.hkv, p: d.past, s: d.skv, d: d.dk)
            v = AttentionKernel.concat(pv.floats(), v, b: d.batch, h: d.hkv, p: d.past, s: d.skv, d: d.dv)
        }
        let total = d.total, hasPast = input(4) != nil

        // The mask, right-aligned to [B, Hq, Sq, total]; entries past its last axis are masked.
        let mask = input(3)
        var maskStrides = [0, 0, 0, 0], maskLast = 0
        var maskValues: [Float] = []
        if let m = mask {
            guard m.rank >= 1, m.rank <= 4 else { throw AscentError.invalid("attn_mask \(m) must have rank 1 to 4") }
            let shape = Array(repeating: 1, count: 4 - m.rank) + m.shape
            let target = [d.batch, d.hq, d.sq, total]
            let strides = contiguousStrides(shape)
            for i in 0..<3 {
                guard shape[i] == 1 || shape[i] == target[i] else { throw AscentError.invalid("attn_mask \(m) does not broadcast to \(target)") }
                maskStrides[i] = shape[i] == 1 ? 0 : strides[i]
            }
            maskLast = shape[3]
            guard maskLast <= total else { throw AscentError.invalid("attn_mask \(m) is longer than the \(total) keys") }
            maskStrides[3] = 1  // a shorter last axis is padded (masked), never broadcast
            if m.dtype == .bool {
                maskValues = m.doubles().map { $0 != 0 ? 0 : -.infinity }
            } else {
                maskValues = m.floats()
            }
        }
        let nonpad = input(6).map { $0.int64s().map { Int($0) } }
        func offset(_ b: Int) -> Int {
            if hasPast { return d.past }
            if let nonpad { return nonpad[b] - d.sq }
            return 0
        }
        func bias(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Float {
            var value: Float = 0
            if mask != nil {
                if j >= maskLast {
                    value = -.infinity
                } else {
                    value = maskValues[b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2] + j * maskStrides[3]]
                }
            }
            if isCausal, j > i + offset(b) { value += -.infinity }
            if left >= 0 || right >= 0 {
                let diff = i + offset(b) - j
                if (left >= 0 && diff > left) || (right >= 0 && -diff > right) { value += -.infinity }
            }
            if let nonpad, j >= nonpad[b] { value += -.infinity }
            return value
        }

        let s = Double(scale ?? Float(1 / Double(d.dk).squareRoot()))
        let root = Float(s.squareRoot())
        let group = d.hq / d.hkv
        var y = [Float](repeating: 0, count: d.batch * d.hq * d.sq * d.dv)
        var qkOut = [Float](repeating: 0, count: outputCount > 3 ? d.batch * d.hq * d.sq * total : 0)
        var row = [Float](repeating: 0, count: total), raw = [Float](repeating: 0, count: total)
        var biasRow = [Float](repeating: 0, count: total)
        for b in 0..<d.batch {
            for h in 0..<d.hq {
                let kh = h / group
                for i in 0..<d.sq {
                    let qBase = ((b * d.hq + h) * d.sq + i) * d.dk
                    var rowMaskMax = -Float.infinity
                    for j in 0..<total {
                        let kBase = ((b * d.hkv + kh) * total + j) * d.dk
                        var dot: Float = 0
                        for c in 0..<d.dk { dot += (q[qBase + c] * root) * (k[kBase + c] * root) }
                        if softcap > 0 { dot = tanhf(dot / softcap) * softcap }
                        raw[j] = dot
                        let bj = bias(b, h, i, j)
                        biasRow[j] = bj
                        rowMaskMax = max(rowMaskMax, bj)
                        row[j] = dot + bj
                    }
                    let qkBase = ((b * d.hq + h) * d.sq + i) * total
                    if outputCount > 3, mode < 3 {
                        for j in 0..<total { qkOut[qkBase + j] = mode == 2 ? row[j] : raw[j] }
                    }
                    // Softmax with fully masked rows (all −inf) giving 0.
                    var top = -Float.infinity
                    for j in 0..<total where row[j] > top { top = row[j] }
                    if top == -.infinity { top = 0 }
                    var sum: Float = 0
                    for j in 0..<total { row[j] = expf(row[j] - top); sum += row[j] }
                    if sum == 0 { sum = 1 }
                    let allMasked = rowMaskMax == -.infinity
                    for j in 0..<total { row[j] = allMasked ? 0 : row[j] / sum }
                    if outputCount > 3, mode == 3 {
                        for j in 0..<total { qkOut[qkBase + j] = row[j] }
                    }
                    let yBase = ((b * d.hq + h) * d.sq + i) * d.dv
                    for j in 0..<total {
                        let p = row[j]
                        let vBase = ((b * d.hkv + kh) * total + j) * d.dv
                        for c in 0..<d.dv { y[yBase + c] += p * v[vBase + c] }
                    }
                }
            }
        }
        if d.rank3 {
            // [B, Hq, Sq, Dv] → [B, Sq, Hq·Dv]
            var t = [Float](repeating: 0, count: y.count)
            for b in 0..<d.batch { for h in 0..<d.hq { for i in 0..<d.sq { for c in 0..<d.dv {
                t[((b * d.sq + i) * d.hq + h) * d.dv + c] = y[((b * d.hq + h) * d.sq + i) * d.dv + c]
            } } } }
            y = t
        }
        var results = [Tensor(shape: outputs[0].shape, scalars: y)]
        if outputCount > 1 { results.append(Tensor(shape: outputs[1].shape, scalars: k)) }
        if outputCount > 2 { results.append(Tensor(shape: outputs[2].shape, scalars: v)) }
        if outputCount > 3 { results.append(Tensor(shape: outputs[3].shape, scalars: qkOut)) }
        return results
    }
}

/// RotaryEmbedding(input, cos_cache, sin_cache, position_ids?): rotates pairs of the first
/// `rotary_embedding_dim` features of each head (halves, or interleaved pairs), for 4-D
/// `[B, H, S, D]` or 3-D `[B, S, H·D]` (with `num_heads`) inputs.
struct RotaryEmbeddingKernel: Kernel {
    let interleaved: Bool, rotaryDim: Int, numHeads: Int

    init(_ a: RotaryEmbeddingAttributes) {
        interleaved = a.interleaved
        rotaryDim = a.rotaryDim
        numHeads = a.numHeads
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        guard x.rank == 4 || (x.rank == 3 && numHeads > 0 && x.shape[2] % numHeads == 0) else {
            throw AscentError.invalid("needs a 4-D input or a 3-D one with num_heads, got \(x)")
        }
        return nil
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

    init(_ a: LinearAttentionAttributes, outputCount: Int) {
        qHeads = a.qHeads
        kvHeads = a.kvHeads
        scale = a.scale
        gating = a.gating
        delta = a.delta
        self.outputCount = max(1, outputCount)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let q = try inputs.type(0), k = try inputs.type(1), v = try inputs.type(2)
        try requireFloat(q)
        guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[2] % qHeads == 0, k.shape[2] % kvHeads == 0, v.shape[2] % kvHeads == 0 else {
            throw AscentError.invalid("query \(q), key \(k) and value \(v) must be 3-D with sizes divisible by the heads")
        }
        guard inputs.has(4) == gating, inputs.has(5) == delta else { throw AscentError.invalid("decay and beta do not match update_rule") }
        return nil
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

/// CausalConvWithState(input [B, C, L], weight [C, 1, k], bias?, past_state? [B, C, k−1]): a depthwise
/// causal 1-D convolution over the past state followed by the input, optionally with SiLU; the second
/// output is the last k−1 positions (the next call's state).
struct CausalConvKernel: Kernel {
    let silu: Bool
    let outputCount: Int

    init(_ a: CausalConvAttributes, outputCount: Int) {
        silu = a.silu
        self.outputCount = max(1, outputCount)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1)
        try requireFloat(x)
        guard x.rank == 3, w.rank == 3, w.shape[0] == x.shape[1], w.shape[1] == 1, w.shape[2] >= 1 else {
            throw AscentError.invalid("input \(x) and weight \(w) do not match")
        }
        let state = TensorType(.float32, [x.shape[0], x.shape[1], w.shape[2] - 1])
        if inputs.has(3), try inputs.type(3).shape != state.shape { throw AscentError.invalid("past_state must be \(state)") }
        return nil
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

extension KernelRegistry {
    static let attention: [(OpDefinition, KernelFactory)] = [
        (.attention, { AttentionKernel(try AttentionAttributes($0), outputCount: $0.outputs.count) }),
        (.rotaryEmbedding, { RotaryEmbeddingKernel(try RotaryEmbeddingAttributes($0)) }),
        (.linearAttention, { LinearAttentionKernel(try LinearAttentionAttributes($0), outputCount: $0.outputs.count) }),
        (.causalConvWithState, { CausalConvKernel(try CausalConvAttributes($0), outputCount: $0.outputs.count) }),
    ]
}
