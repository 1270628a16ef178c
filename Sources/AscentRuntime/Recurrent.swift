import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// RNN, GRU and LSTM (float32), as ONNX defines them: gates in ONNX order (GRU z, r, h; LSTM i, o,
/// f, c), forward/reverse/bidirectional, `layout` 0 or 1, `clip`, `activations` (with
/// `activation_alpha`/`beta`), GRU's `linear_before_reset`, LSTM peepholes, `sequence_lens`
/// (outputs past a sequence's end are 0 and its final state is the last valid one), initial states.
struct RecurrentKernel: Kernel {
    enum Cell { case rnn, gru, lstm }
    let cell: Cell
    let hidden: Int, directions: Int, reverseOnly: Bool, layout: Int
    let clip: Float?
    let linearBeforeReset: Bool
    let activations: [@Sendable (Float) -> Float]
    let outputCount: Int

    var gates: Int { cell == .rnn ? 1 : cell == .gru ? 3 : 4 }

    static func activation(_ name: String, _ alpha: Float?, _ beta: Float?) throws -> @Sendable (Float) -> Float {
        switch name.lowercased() {
        case "sigmoid": return { 1 / (1 + expf(-$0)) }
        case "tanh": return { tanhf($0) }
        case "relu": return { max($0, 0) }
        case "leakyrelu": let a = alpha ?? 0.01; return { $0 >= 0 ? $0 : a * $0 }
        case "thresholdedrelu": let a = alpha ?? 1; return { $0 > a ? $0 : 0 }
        case "scaledtanh": let a = alpha ?? 1, b = beta ?? 1; return { a * tanhf(b * $0) }
        case "hardsigmoid": let a = alpha ?? 0.2, b = beta ?? 0.5; return { max(0, min(1, a * $0 + b)) }
        case "elu": let a = alpha ?? 1; return { $0 >= 0 ? $0 : a * (expf($0) - 1) }
        case "softsign": return { $0 / (1 + abs($0)) }
        case "softplus": return { logf(1 + expf($0)) }
        case "affine": let a = alpha ?? 1, b = beta ?? 0; return { a * $0 + b }
        default: throw AscentError.invalid("activation '\(name)' is not supported")
        }
    }

    init(_ a: NodeAttributes) throws {
        cell = a.op == "RNN" ? .rnn : a.op == "GRU" ? .gru : .lstm
        hidden = try a.int("hidden_size", 0)
        guard hidden > 0 else { throw AscentError.invalid("hidden_size must be positive") }
        let direction = try a.string("direction", "forward")
        guard ["forward", "reverse", "bidirectional"].contains(direction) else { throw AscentError.invalid("direction '\(direction)' is not supported") }
        directions = direction == "bidirectional" ? 2 : 1
        reverseOnly = direction == "reverse"
        layout = try a.int("layout", 0)
        clip = a.node.attributes["clip"] == nil ? nil : try a.float("clip", 0)
        linearBeforeReset = try a.int("linear_before_reset", 0) != 0
        guard try a.int("input_forget", 0) == 0 else { throw AscentError.invalid("input_forget is not supported") }
        let defaults: [String] = cell == .rnn ? ["Tanh"] : cell == .gru ? ["Sigmoid", "Tanh"] : ["Sigmoid", "Tanh", "Tanh"]
        var names = a.node.attributes["activations"]?.strings ?? []
        if names.isEmpty { names = Array([defaults, defaults].joined().prefix(defaults.count * directions)) }
        if names.count == defaults.count && directions == 2 { names += names }
        guard names.count == defaults.count * directions else { throw AscentError.invalid("activations \(names) do not match the cell") }
        let alphas = a.node.attributes["activation_alpha"]?.floats ?? [], betas = a.node.attributes["activation_beta"]?.floats ?? []
        activations = try names.enumerated().map { i, n in
            try RecurrentKernel.activation(n, i < alphas.count ? Float(alphas[i]) : nil, i < betas.count ? Float(betas[i]) : nil)
        }
        outputCount = max(1, a.outputCount)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1), r = try inputs.type(2)
        try requireFloat(cell == .rnn ? "RNN" : cell == .gru ? "GRU" : "LSTM", x)
        guard x.rank == 3, w.shape == [directions, gates * hidden, x.shape[2]], r.shape == [directions, gates * hidden, hidden] else {
            throw AscentError.invalid("X \(x), W \(w) and R \(r) do not match hidden_size \(hidden) and \(directions) direction(s)")
        }
        let seq = layout == 0 ? x.shape[0] : x.shape[1], batch = layout == 0 ? x.shape[1] : x.shape[0]
        let y = layout == 0 ? [seq, directions, batch, hidden] : [batch, seq, directions, hidden]
        let h = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden]
        return Array([TensorType(.float32, y), TensorType(.float32, h), TensorType(.float32, h)].prefix(outputCount))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let wt = inputs[1], let rt = inputs[2] else { throw AscentError.invalid("missing input") }
        func input(_ i: Int) -> [Float]? { i < inputs.count ? inputs[i]?.floats() : nil }
        let seq = layout == 0 ? xt.shape[0] : xt.shape[1], batch = layout == 0 ? xt.shape[1] : xt.shape[0], size = xt.shape[2]
        let h = hidden, g = gates
        let x = xt.floats(), w = wt.floats(), r = rt.floats()
        let bias = input(3), lens = inputs.count > 4 ? inputs[4]?.int64s().map { Int($0) } : nil
        let h0 = input(5), c0 = cell == .lstm ? input(6) : nil, peep = cell == .lstm ? input(7) : nil
        var y = [Float](repeating: 0, count: seq * directions * batch * h)
        var hFinal = [Float](repeating: 0, count: directions * batch * h), cFinal = hFinal
        func xAt(_ t: Int, _ b: Int) -> Int { (layout == 0 ? t * batch + b : b * seq + t) * size }
        func stateIndex(_ d: Int, _ b: Int) -> Int { layout == 0 ? (d * batch + b) * h : (b * directions + d) * h }
        func yIndex(_ t: Int, _ d: Int, _ b: Int) -> Int { layout == 0 ? ((t * directions + d) * batch + b) * h : ((b * seq + t) * directions + d) * h }
        let na = cell == .rnn ? 1 : cell == .gru ? 2 : 3
        for d in 0..<directions {
            let reverse = reverseOnly || d == 1
            let f = activations[d * na], gAct = na > 1 ? activations[d * na + 1] : f, hAct = na > 2 ? activations[d * na + 2] : f
            let wd = d * g * h * size, rd = d * g * h * h
            func bw(_ k: Int) -> Float { bias.map { $0[d * 2 * g * h + k] } ?? 0 }
            func br(_ k: Int) -> Float { bias.map { $0[d * 2 * g * h + g * h + k] } ?? 0 }
            for b in 0..<batch {
                let length = min(lens?[b] ?? seq, seq)
                var hs = (0..<h).map { h0?[stateIndex(d, b) + $0] ?? 0 }
                var cs = (0..<h).map { c0?[stateIndex(d, b) + $0] ?? 0 }
                var xw = [Float](repeating: 0, count: g * h), hr = [Float](repeating: 0, count: g * h)
                for step in 0..<length {
                    let t = reverse ? length - 1 - step : step
                    let xb = xAt(t, b)
                    for k in 0..<(g * h) {
                        var s1 = bw(k), s2 = br(k)
                        for i in 0..<size { s1 += x[xb + i] * w[wd + k * size + i] }
                        for i in 0..<h { s2 += hs[i] * r[rd + k * h + i] }
                        xw[k] = s1
                        hr[k] = s2
                    }
                    func clipped(_ v: Float) -> Float { clip.map { min(max(v, -$0), $0) } ?? v }
                    var next = [Float](repeating: 0, count: h)
                    switch cell {
                    case .rnn:
                        for j in 0..<h { next[j] = f(clipped(xw[j] + hr[j])) }
                    case .gru:
                        var z = [Float](repeating: 0, count: h), rr = [Float](repeating: 0, count: h)
                        for j in 0..<h {
                            z[j] = f(clipped(xw[j] + hr[j]))
                            rr[j] = f(clipped(xw[h + j] + hr[h + j]))
                        }
                        for j in 0..<h {
                            let pre: Float
                            if linearBeforeReset {
                                pre = xw[2 * h + j] + rr[j] * hr[2 * h + j]
                            } else {
                                // (r ⊙ H) · Rhᵀ + Rbh
                                var s = br(2 * h + j)
                                for i in 0..<h { s += rr[i] * hs[i] * r[rd + (2 * h + j) * h + i] }
                                pre = xw[2 * h + j] + s
                            }
                            next[j] = (1 - z[j]) * gAct(clipped(pre)) + z[j] * hs[j]
                        }
                    case .lstm:
                        var cn = [Float](repeating: 0, count: h)
                        for j in 0..<h {
                            let pi = peep?[d * 3 * h + j] ?? 0, po = peep?[d * 3 * h + h + j] ?? 0, pf = peep?[d * 3 * h + 2 * h + j] ?? 0
                            let ig = f(clipped(xw[j] + hr[j] + pi * cs[j]))
                            let fg = f(clipped(xw[2 * h + j] + hr[2 * h + j] + pf * cs[j]))
                            let cc = gAct(clipped(xw[3 * h + j] + hr[3 * h + j]))
                            cn[j] = fg * cs[j] + ig * cc
                            let og = f(clipped(xw[h + j] + hr[h + j] + po * cn[j]))
                            next[j] = og * hAct(cn[j])
                        }
                        cs = cn
                    }
                    hs = next
                    for j in 0..<h { y[yIndex(t, d, b) + j] = hs[j] }
                }
                for j in 0..<h { hFinal[stateIndex(d, b) + j] = hs[j]; cFinal[stateIndex(d, b) + j] = cs[j] }
            }
        }
        var results = [Tensor(shape: outputs[0].shape, scalars: y)]
        if outputs.count > 1 { results.append(Tensor(shape: outputs[1].shape, scalars: hFinal)) }
        if outputs.count > 2 { results.append(Tensor(shape: outputs[2].shape, scalars: cFinal)) }
        return results
    }
}
