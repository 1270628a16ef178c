import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// The ONNX `Attention` op (float32), following the ONNX reference: KV cache concatenation,
/// grouped-query heads, boolean/additive masks (padded with "masked" along the key axis when
/// shorter), causal and sliding-window masks aligned bottom-right by the cache length or by
/// `nonpad_kv_seqlen`, softcap, the four `qk_matmul_output_mode`s, and fully masked rows giving 0.
enum AttentionKernels {
    static let factories: [String: KernelFactory] = [
        "Attention": { try AttentionKernel($0) },
    ]
}

struct AttentionKernel: Kernel {
    let isCausal: Bool
    let qHeads: Int?, kvHeads: Int?
    let mode: Int
    let scale: Float?
    let softcap: Float
    let left: Int, right: Int
    let outputCount: Int

    init(_ a: NodeAttributes) throws {
        isCausal = try a.int("is_causal", 0) != 0
        qHeads = a.node.attributes["q_num_heads"] == nil ? nil : try a.int("q_num_heads", 0)
        kvHeads = a.node.attributes["kv_num_heads"] == nil ? nil : try a.int("kv_num_heads", 0)
        mode = try a.int("qk_matmul_output_mode", 0)
        guard (0...3).contains(mode) else { throw AscentError.invalid("qk_matmul_output_mode \(mode) is not 0...3") }
        scale = a.node.attributes["scale"] == nil ? nil : try a.float("scale", 1)
        softcap = try a.float("softcap", 0)
        left = try a.int("left_window_size", -1)
        right = try a.int("right_window_size", -1)
        outputCount = max(a.outputCount, 1)
    }

    struct Dims {
        var batch = 0, hq = 0, hkv = 0, sq = 0, skv = 0, past = 0, dk = 0, dv = 0
        var rank3 = false
        var total: Int { past + skv }
    }

    func dims(_ inputs: KernelInputs) throws -> Dims {
        let q = try inputs.type(0), k = try inputs.type(1), v = try inputs.type(2)
        for t in [q, k, v] { guard t.dtype == .float32 else { throw KernelError.dtype("Attention", t.dtype) } }
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

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let d = try dims(inputs)
        let y = d.rank3 ? [d.batch, d.sq, d.hq * d.dv] : [d.batch, d.hq, d.sq, d.dv]
        let all = [y, [d.batch, d.hkv, d.total, d.dk], [d.batch, d.hkv, d.total, d.dv], [d.batch, d.hq, d.sq, d.total]]
        return all.prefix(outputCount).map { TensorType(.float32, $0) }
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
