import AscentIR
import AscentTestSupport
@testable import AscentRuntime
import Foundation
import Testing

/// RNN, GRU and LSTM: the GEMM-based kernel against a direct transcription of the ONNX formulas
/// (one dot product per gate and step, as the first kernel was written), over every attribute
/// the kernel accepts. The ONNX node tests (IntegrationTests) check the common cases against
/// onnx's own reference outputs.
@Suite struct RecurrentTests {
    struct Case: CustomStringConvertible {
        var op = "LSTM", hidden = 5, seq = 4, batch = 3, size = 6
        var direction = "forward", layout = 0
        var bias = true, initial = true, peepholes = false, lengths: [Int64]? = nil
        var clip: Double?, linearBeforeReset = false
        var activations: [String]?, alphas: [Double]?, betas: [Double]?
        var outputs = 3

        var description: String {
            "\(op) \(direction) layout \(layout) h\(hidden) seq\(seq) batch\(batch)" + (lengths.map { " lens \($0)" } ?? "")
                + (clip.map { " clip \($0)" } ?? "") + (linearBeforeReset ? " lbr" : "") + (peepholes ? " peepholes" : "")
                + (activations.map { " \($0)" } ?? "") + (bias ? "" : " no-bias") + (initial ? "" : " no-initial")
        }
    }

    static let cases: [Case] = {
        var all: [Case] = []
        for op in ["RNN", "GRU", "LSTM"] {
            for direction in ["forward", "reverse", "bidirectional"] {
                for layout in [0, 1] {
                    all.append(Case(op: op, direction: direction, layout: layout))
                    all.append(Case(op: op, direction: direction, layout: layout, lengths: [4, 2, 0], clip: 0.7))
                }
            }
            all.append(Case(op: op, direction: "bidirectional", bias: false, initial: false, outputs: 1))
            all.append(Case(op: op, hidden: 16, seq: 9, batch: 1, size: 24, direction: "bidirectional"))
        }
        all.append(Case(op: "GRU", direction: "bidirectional", linearBeforeReset: true))
        all.append(Case(op: "GRU", direction: "reverse", layout: 1, lengths: [1, 4, 3], linearBeforeReset: true))
        all.append(Case(op: "LSTM", direction: "bidirectional", peepholes: true, lengths: [3, 4, 1]))
        all.append(Case(op: "LSTM", peepholes: true, clip: 0.5))
        all.append(Case(op: "LSTM", direction: "bidirectional",
                        activations: ["HardSigmoid", "ScaledTanh", "Affine", "Sigmoid", "Softsign", "Elu"],
                        alphas: [0.3, 0.8, 1.5, 1, 1, 0.9], betas: [0.4, 1.2, 0.1]))
        all.append(Case(op: "GRU", activations: ["LeakyRelu", "Softplus"], alphas: [0.2]))
        all.append(Case(op: "RNN", direction: "bidirectional", activations: ["Relu", "ThresholdedRelu"], alphas: [0, 0.1]))
        return all
    }()

    @Test(arguments: cases)
    func matchesTheFormulas(_ c: Case) throws {
        let gates = c.op == "RNN" ? 1 : c.op == "GRU" ? 3 : 4
        let dirs = c.direction == "bidirectional" ? 2 : 1
        var random = SeededRandom(UInt64(c.description.utf8.reduce(0) { $0 &* 31 &+ Int($1) } & 0xFFFF))
        let x = random.uniform(c.layout == 0 ? [c.seq, c.batch, c.size] : [c.batch, c.seq, c.size])
        let state = c.layout == 0 ? [dirs, c.batch, c.hidden] : [c.batch, dirs, c.hidden]
        var inputs: [(String, Tensor?)] = [
            ("x", x), ("w", random.uniform([dirs, gates * c.hidden, c.size], -0.6, 0.6)),
            ("r", random.uniform([dirs, gates * c.hidden, c.hidden], -0.6, 0.6)),
            ("b", c.bias ? random.uniform([dirs, 2 * gates * c.hidden], -0.3, 0.3) : nil),
            ("lens", c.lengths.map { Tensor(shape: [c.batch], scalars: $0) }),
            ("h0", c.initial ? random.uniform(state) : nil),
        ]
        if c.op == "LSTM" {
            inputs.append(("c0", c.initial ? random.uniform(state) : nil))
            inputs.append(("p", c.peepholes ? random.uniform([dirs, 3 * c.hidden], -0.5, 0.5) : nil))
        }
        while inputs.last.map({ $0.1 == nil }) == true { inputs.removeLast() }
        var attributes: [String: Attribute] = ["hidden_size": .int(c.hidden), "direction": .string(c.direction), "layout": .int(c.layout)]
        if let clip = c.clip { attributes["clip"] = .float(clip) }
        if c.linearBeforeReset { attributes["linear_before_reset"] = .int(1) }
        if let a = c.activations { attributes["activations"] = .strings(a) }
        if let a = c.alphas { attributes["activation_alpha"] = .floats(a) }
        if let b = c.betas { attributes["activation_beta"] = .floats(b) }
        let outputNames = Array(["y", "y_h", "y_c"].prefix(c.op == "LSTM" ? c.outputs : min(c.outputs, 2)))
        let node = Node(name: "cell", op: c.op, inputs: inputs.map { $0.1 == nil ? "" : $0.0 }, outputs: outputNames,
                        attributes: attributes)
        let given = inputs.compactMap { name, t in t.map { (name, $0) } }
        let graph = Graph(name: "recurrent", inputs: given.map { ValueInfo(name: $0.0, type: ValueType($0.1.dtype, Shape($0.1.shape))) },
                          outputs: outputNames.map { ValueInfo(name: $0, type: ValueType(.float32, nil)) }, nodes: [node])
        let feeds = Dictionary(uniqueKeysWithValues: given)
        let expected = try ReferenceRecurrent(op: c.op, hidden: c.hidden, direction: c.direction, layout: c.layout, clip: c.clip.map(Float.init),
                                              linearBeforeReset: c.linearBeforeReset, activations: c.activations ?? [],
                                              alphas: c.alphas ?? [], betas: c.betas ?? [])
            .run(inputs.map { $0.1 })
        for threads in [1, 2] {
            let got = try Session(graph: graph, options: .init(threads: threads)).run(feeds)
            for (i, name) in outputNames.enumerated() {
                let actual = try #require(got[name])
                expectClose(actual, expected[i], rtol: 1e-5, atol: 1e-5, "\(c) \(name) at \(threads) thread(s)")
            }
        }
    }
}

/// ONNX's RNN, GRU and LSTM formulas written out directly: every gate of every step a pair of
/// dot products (`Xt·Wᵀ + Wb`, `Ht-1·Rᵀ + Rb`), one batch item and one direction at a time.
private struct ReferenceRecurrent {
    let op: String, hidden: Int, directions: Int, reverseOnly: Bool, layout: Int, clip: Float?, linearBeforeReset: Bool
    let activations: [(Float) -> Float]

    init(op: String, hidden: Int, direction: String, layout: Int, clip: Float?, linearBeforeReset: Bool,
         activations names: [String], alphas: [Double], betas: [Double]) throws {
        (self.op, self.hidden, self.layout, self.clip, self.linearBeforeReset) = (op, hidden, layout, clip, linearBeforeReset)
        directions = direction == "bidirectional" ? 2 : 1
        reverseOnly = direction == "reverse"
        let defaults = op == "RNN" ? ["Tanh"] : op == "GRU" ? ["Sigmoid", "Tanh"] : ["Sigmoid", "Tanh", "Tanh"]
        var names = names.isEmpty ? Array(repeating: defaults, count: directions).flatMap { $0 } : names
        if names.count == defaults.count && directions == 2 { names += names }
        activations = names.enumerated().map { i, name in
            let alpha = i < alphas.count ? Float(alphas[i]) : nil, beta = i < betas.count ? Float(betas[i]) : nil
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
            default: let a = alpha ?? 1, b = beta ?? 0; return { a * $0 + b } // Affine
            }
        }
    }

    func run(_ inputs: [Tensor?]) throws -> [Tensor] {
        func input(_ i: Int) -> [Float]? { i < inputs.count ? inputs[i]?.floats() : nil }
        let xt = try #require(inputs[0])
        let seq = layout == 0 ? xt.shape[0] : xt.shape[1], batch = layout == 0 ? xt.shape[1] : xt.shape[0], size = xt.shape[2]
        let h = hidden, g = op == "RNN" ? 1 : op == "GRU" ? 3 : 4
        let x = xt.floats(), w = try #require(input(1)), r = try #require(input(2))
        let bias = input(3), lens = inputs.count > 4 ? inputs[4]?.int64s().map { Int($0) } : nil
        let h0 = input(5), c0 = op == "LSTM" ? input(6) : nil, peep = op == "LSTM" ? input(7) : nil
        var y = [Float](repeating: 0, count: seq * directions * batch * h)
        var hFinal = [Float](repeating: 0, count: directions * batch * h), cFinal = hFinal
        func xAt(_ t: Int, _ b: Int) -> Int { (layout == 0 ? t * batch + b : b * seq + t) * size }
        func stateIndex(_ d: Int, _ b: Int) -> Int { layout == 0 ? (d * batch + b) * h : (b * directions + d) * h }
        func yIndex(_ t: Int, _ d: Int, _ b: Int) -> Int { layout == 0 ? ((t * directions + d) * batch + b) * h : ((b * seq + t) * directions + d) * h }
        func clipped(_ v: Float) -> Float { clip.map { min(max(v, -$0), $0) } ?? v }
        let na = op == "RNN" ? 1 : op == "GRU" ? 2 : 3
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
                    for k in 0..<(g * h) {
                        var s1 = bw(k), s2 = br(k)
                        for i in 0..<size { s1 += x[xAt(t, b) + i] * w[wd + k * size + i] }
                        for i in 0..<h { s2 += hs[i] * r[rd + k * h + i] }
                        xw[k] = s1
                        hr[k] = s2
                    }
                    var next = [Float](repeating: 0, count: h)
                    switch op {
                    case "RNN":
                        for j in 0..<h { next[j] = f(clipped(xw[j] + hr[j])) }
                    case "GRU":
                        let z = (0..<h).map { f(clipped(xw[$0] + hr[$0])) }, rr = (0..<h).map { f(clipped(xw[h + $0] + hr[h + $0])) }
                        for j in 0..<h {
                            var pre = xw[2 * h + j] + rr[j] * hr[2 * h + j]
                            if !linearBeforeReset {
                                var s = br(2 * h + j)
                                for i in 0..<h { s += rr[i] * hs[i] * r[rd + (2 * h + j) * h + i] }
                                pre = xw[2 * h + j] + s
                            }
                            next[j] = (1 - z[j]) * gAct(clipped(pre)) + z[j] * hs[j]
                        }
                    default:
                        for j in 0..<h {
                            let pi = peep?[d * 3 * h + j] ?? 0, po = peep?[d * 3 * h + h + j] ?? 0, pf = peep?[d * 3 * h + 2 * h + j] ?? 0
                            let ig = f(clipped(xw[j] + hr[j] + pi * cs[j]))
                            let fg = f(clipped(xw[2 * h + j] + hr[2 * h + j] + pf * cs[j]))
                            let cc = gAct(clipped(xw[3 * h + j] + hr[3 * h + j]))
                            cs[j] = fg * cs[j] + ig * cc
                            let og = f(clipped(xw[h + j] + hr[h + j] + po * cs[j]))
                            next[j] = og * hAct(cs[j])
                        }
                    }
                    hs = next
                    for j in 0..<h { y[yIndex(t, d, b) + j] = hs[j] }
                }
                for j in 0..<h { hFinal[stateIndex(d, b) + j] = hs[j]; cFinal[stateIndex(d, b) + j] = cs[j] }
            }
        }
        let states = layout == 0 ? [directions, batch, h] : [batch, directions, h]
        return [Tensor(shape: layout == 0 ? [seq, directions, batch, h] : [batch, seq, directions, h], scalars: y),
                Tensor(shape: states, scalars: hFinal), Tensor(shape: states, scalars: cFinal)]
    }
}
