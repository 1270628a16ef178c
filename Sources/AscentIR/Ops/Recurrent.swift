/// Recurrent layers with ONNX semantics: `RNN`, `GRU` (gates z, r, h; `linear_before_reset` is
/// Keras's `reset_after`), `LSTM` (gates i, o, f, c; peepholes), forward, reverse or bidirectional,
/// `layout` 0 (`[seq, batch, ...]`) or 1 (`[batch, seq, ...]`), optional sequence lengths and
/// initial states.
///
/// Outputs: Y `[seq, dirs, batch, hidden]` (layout 1: `[batch, seq, dirs, hidden]`) and the final
/// states `[dirs, batch, hidden]` (layout 1: `[batch, dirs, hidden]`).
///
/// Gradients come from the decomposition: the recurrence unrolled over the (concrete) sequence
/// length into matrix products, gate activations and masks (``RecurrentUnrolling``), which the
/// gradient pass then differentiates step by step — backpropagation through time.
extension OpDefinition {
    public static let rnn: OpDefinition = recurrent("RNN", cell: .rnn, inputs: 3...6, outputs: 1...2, onnx: [1, 7, 14, 22])
    public static let gru: OpDefinition = recurrent("GRU", cell: .gru, inputs: 3...6, outputs: 1...2, onnx: [1, 3, 7, 14, 22])
    public static let lstm: OpDefinition = recurrent("LSTM", cell: .lstm, inputs: 3...8, outputs: 1...3, onnx: [1, 7, 14, 22])

    static func recurrent(_ name: String, cell: RecurrentUnrolling.Cell, inputs: ClosedRange<Int>, outputs: ClosedRange<Int>,
                          onnx versions: [Int]) -> OpDefinition {
        OpDefinition(name, inputs: inputs, outputs: outputs, attributes: RecurrentAttributes.self,
                     onnx: ONNXHistory(versions, changes: [.attributeAdded("layout", since: 14)]),
                     shape: { ctx in
                         let n = ctx.outputCount
                         guard let x = ctx.input(0) else { return Array(repeating: nil, count: n) }
                         let a = try ctx.attributes(RecurrentAttributes.self)
                         guard let s = x.shape, s.rank == 3 else { return Array(repeating: ValueType(x.dtype, nil), count: n) }
                         let hidden = Dim.known(a.hiddenSize), dirs = Dim.known(a.directions)
                         let (seq, batch) = a.batchFirst ? (s.dims[1], s.dims[0]) : (s.dims[0], s.dims[1])
                         let y = a.batchFirst ? Shape([batch, seq, dirs, hidden]) : Shape([seq, dirs, batch, hidden])
                         let state = a.batchFirst ? Shape([batch, dirs, hidden]) : Shape([dirs, batch, hidden])
                         return Array([ValueType(x.dtype, y), ValueType(x.dtype, state), ValueType(x.dtype, state)].prefix(n))
                     },
                     decomposition: { c in try RecurrentUnrolling(c, cell: cell).outputs() })
    }
}

public struct RecurrentAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .optional("activation_alpha", kind: "floats"), .optional("activation_beta", kind: "floats"),
        .optional("activations", kind: "strings"), .optional("clip", kind: "float"), .string("direction", "forward"),
        .required("hidden_size", kind: "int"), .int("layout", 0), .int("linear_before_reset", 0), .int("input_forget", 0),
    ]
    public let activationAlpha: [Double]?, activationBeta: [Double]?
    public let activations: [String]?
    public let clip: Float?
    public let direction: String
    public let hiddenSize: Int
    /// `layout` 1: batch first.
    public let batchFirst: Bool
    /// GRU: the reset gate applied after the recurrent product (Keras's `reset_after`).
    public let linearBeforeReset: Bool
    /// LSTM: couple the input and forget gates.
    public let inputForget: Bool

    public init(_ a: AttributeReader) throws {
        activationAlpha = try a.floats("activation_alpha")
        activationBeta = try a.floats("activation_beta")
        activations = try a.strings("activations")
        clip = try a.optionalDouble("clip").map(Float.init)
        direction = try a.choice("direction", ["forward", "reverse", "bidirectional"])
        hiddenSize = try a.int("hidden_size")
        guard hiddenSize > 0 else { throw AscentError.invalid("hidden_size must be positive") }
        batchFirst = try a.int("layout") == 1
        linearBeforeReset = try a.bool("linear_before_reset")
        inputForget = try a.bool("input_forget")
    }

    /// 2 for bidirectional, else 1.
    public var directions: Int { direction == "bidirectional" ? 2 : 1 }
}

/// An RNN, GRU or LSTM node written out step by step in other ops, with ONNX's semantics (the
/// runtime's fused kernel computes the same): gates from `X·Wᵀ + H·Rᵀ + Wb + Rb`, ONNX's gate order
/// (GRU z, r, h; LSTM i, o, f, c), `clip` on the gate inputs, peepholes, `linear_before_reset`,
/// reverse and bidirectional passes (a reverse pass reverses each sequence within its length),
/// `sequence_lens` (state kept and Y zero past a sequence's end), initial states, both layouts.
/// Needs the sequence length to be known.
struct RecurrentUnrolling {
    enum Cell { case rnn, gru, lstm }

    let c: OpContext
    let cell: Cell
    let a: RecurrentAttributes
    let seq: Int

    init(_ c: OpContext, cell: Cell) throws {
        self.c = c
        self.cell = cell
        a = try c.attributes(RecurrentAttributes.self)
        guard let shape = c.shape(0), shape.rank == 3, let n = shape.dims[a.batchFirst ? 1 : 0].value else {
            throw c.error("unrolling \(c.node.op) needs its sequence length (give the inputs' shapes)")
        }
        guard !a.inputForget else { throw c.error("input_forget is not supported") }
        seq = n
    }

    var gates: Int { cell == .rnn ? 1 : cell == .gru ? 3 : 4 }

    /// The activations of direction `d`, in ONNX's order (f; f, g; f, g, h).
    func activations(_ d: Int) throws -> [(ValueRef) -> ValueRef] {
        let defaults = cell == .rnn ? ["Tanh"] : cell == .gru ? ["Sigmoid", "Tanh"] : ["Sigmoid", "Tanh", "Tanh"]
        var names = a.activations ?? []
        if names.isEmpty { names = defaults + (a.directions == 2 ? defaults : []) }
        if names.count == defaults.count, a.directions == 2 { names += names }
        guard names.count == defaults.count * a.directions else { throw c.error("activations \(names) do not match the cell") }
        let alphas = a.activationAlpha ?? [], betas = a.activationBeta ?? []
        return try (0..<defaults.count).map { k in
            let i = d * defaults.count + k
            let alpha = i < alphas.count ? Float(alphas[i]) : nil, beta = i < betas.count ? Float(betas[i]) : nil
            switch names[i].lowercased() {
            case "sigmoid": return { $0.sigmoid() }
            case "tanh": return { $0.tanh() }
            case "relu": return { $0.apply(.relu) }
            case "softsign": return { $0.apply(.softsign) }
            case "softplus": return { $0.softplus() }
            case "leakyrelu": return { $0.apply(.leakyRelu, [], ["alpha": .float(Double(alpha ?? 0.01))]) }
            case "thresholdedrelu": return { $0.apply(.thresholdedRelu, [], ["alpha": .float(Double(alpha ?? 1))]) }
            case "elu": return { $0.apply(.elu, [], ["alpha": .float(Double(alpha ?? 1))]) }
            case "hardsigmoid":
                return { $0.apply(.hardSigmoid, [], ["alpha": .float(Double(alpha ?? 0.2)), "beta": .float(Double(beta ?? 0.5))]) }
            case "scaledtanh": return { ($0 * (beta ?? 1)).tanh() * (alpha ?? 1) }
            case "affine": return { $0 * (alpha ?? 1) + (beta ?? 0) }
            default: throw c.error("activation '\(names[i])' is not supported")
            }
        }
    }

    /// Row `d` of a per-direction parameter `[dirs, ...]`, without the direction axis.
    func direction(_ v: ValueRef, _ d: Int) -> ValueRef { v.sliced(starts: [d], ends: [d + 1], axes: [0]).squeezed([0]) }

    /// Columns `[k·H, (k+1)·H)` of a `[batch, G·H]` gate block (or elements of a vector).
    func part(_ v: ValueRef, _ k: Int, axis: Int = 1) -> ValueRef {
        let h = a.hiddenSize
        return v.sliced(starts: [k * h], ends: [(k + 1) * h], axes: [axis])
    }

    func clipped(_ v: ValueRef) -> ValueRef {
        guard let clip = a.clip else { return v }
        return v.apply(.clip, [c.scalar(-clip), c.scalar(clip)])
    }

    /// `v` (time-major) reversed in time, within each sequence's length when there are lengths.
    func reversed(_ v: ValueRef, lengths: ValueRef?) -> ValueRef {
        if let lengths { return v.apply(.reverseSequence, [lengths], ["batch_axis": .int(1), "time_axis": .int(0)]) }
        return v.apply(.slice, [c.ints([seq - 1]), c.ints([-Int(Int32.max)]), c.ints([0]), c.ints([-1])])
    }

    func outputs() throws -> [ValueRef?] {
        let h = a.hiddenSize, g = gates
        let x = a.batchFirst ? c.x.transposed([1, 0, 2]) : c.x
        let lengths = c.has(4) ? c.input(4) : nil
        var ys: [ValueRef] = [], finalH: [ValueRef] = [], finalC: [ValueRef] = []
        let batchSize = x.apply(.shape, [], ["start": .int(1), "end": .int(2)])
        let stateShape = batchSize.apply(.concat, [c.ints([h])], ["axis": .int(0)])
        func zeros() -> ValueRef { c.emit(.constantOfShape, [stateShape], ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))]) }
        func initial(_ i: Int, _ d: Int) -> ValueRef {
            guard c.has(i) else { return zeros() }
            let v = a.batchFirst ? c.input(i).transposed([1, 0, 2]) : c.input(i)
            return direction(v, d)
        }
        for d in 0..<a.directions {
            let act = try activations(d)
            let f = act[0], gAct = act.count > 1 ? act[1] : act[0], hAct = act.count > 2 ? act[2] : act[0]
            let reverse = a.direction == "reverse" || d == 1
            let w = direction(c.input(1), d).transposed([1, 0]), r = direction(c.input(2), d).transposed([1, 0])
            let xd = reverse ? reversed(x, lengths: lengths) : x
            var xw = xd.matmul(w)  // [seq, batch, G·H]
            var recurrentBiasH: ValueRef? = nil
            if c.has(3) {
                let b = direction(c.input(3), d)
                let wb = b.sliced(starts: [0], ends: [g * h], axes: [0]), rb = b.sliced(starts: [g * h], ends: [2 * g * h], axes: [0])
                if cell == .gru && a.linearBeforeReset {
                    // Rbh stays inside the reset product.
                    xw = xw + (wb + rb.sliced(starts: [0], ends: [2 * h], axes: [0]).apply(.concat, [c.filled(0, like: part(rb, 2, axis: 0))],
                                                                                            ["axis": .int(0)]))
                    recurrentBiasH = part(rb, 2, axis: 0)
                } else {
                    xw = xw + (wb + rb)
                }
            }
            let peepholes = cell == .lstm && c.has(7) ? direction(c.input(7), d) : nil
            var state = initial(5, d)
            var cellState = cell == .lstm ? initial(6, d) : nil
            var steps: [ValueRef] = []
            for t in 0..<seq {
                let gx = xw.sliced(starts: [t], ends: [t + 1], axes: [0]).squeezed([0])
                var next: ValueRef, nextCell: ValueRef? = nil
                switch cell {
                case .rnn:
                    next = f(clipped(gx + state.matmul(r)))
                case .gru:
                    let rz = clipped(part(gx, 0) + state.matmul(part(r, 0))), rr = clipped(part(gx, 1) + state.matmul(part(r, 1)))
                    let z = f(rz), reset = f(rr)
                    let candidate: ValueRef
                    if a.linearBeforeReset {
                        var hr = state.matmul(part(r, 2))
                        if let rbh = recurrentBiasH { hr = hr + rbh }
                        candidate = gAct(clipped(part(gx, 2) + reset * hr))
                    } else {
                        candidate = gAct(clipped(part(gx, 2) + (reset * state).matmul(part(r, 2))))
                    }
                    next = (1 - z) * candidate + z * state
                case .lstm:
                    let pre = gx + state.matmul(r)
                    var ip = part(pre, 0), fp = part(pre, 2)
                    if let p = peepholes {
                        ip = ip + part(p, 0, axis: 0) * cellState!
                        fp = fp + part(p, 2, axis: 0) * cellState!
                    }
                    let i = f(clipped(ip)), fg = f(clipped(fp)), candidate = gAct(clipped(part(pre, 3)))
                    let newCell = fg * cellState! + i * candidate
                    var op = part(pre, 1)
                    if let p = peepholes { op = op + part(p, 1, axis: 0) * newCell }
                    next = f(clipped(op)) * hAct(newCell)
                    nextCell = newCell
                }
                var output = next
                if let lengths {
                    // Past a sequence's end the state stays and Y is zero.
                    let inside = c.ints([t]).apply(.castLike, [lengths]).apply(.less, [lengths]).unsqueezed([1])
                    next = select(inside, next, state)
                    if let n = nextCell { nextCell = select(inside, n, cellState!) }
                    output = select(inside, output, 0)
                }
                state = next
                cellState = nextCell ?? cellState
                steps.append(output.unsqueezed([0]))
            }
            var y = steps.count == 1 ? steps[0] : steps[0].apply(.concat, Array(steps.dropFirst()), ["axis": .int(0)])
            if reverse { y = reversed(y, lengths: lengths) }
            ys.append(y.unsqueezed([1]))
            finalH.append(state.unsqueezed([0]))
            if let cellState { finalC.append(cellState.unsqueezed([0])) }
        }
        func joined(_ parts: [ValueRef], axis: Int) -> ValueRef {
            parts.count == 1 ? parts[0] : parts[0].apply(.concat, Array(parts.dropFirst()), ["axis": .int(axis)])
        }
        var y = joined(ys, axis: 1), yh = joined(finalH, axis: 0)
        var yc = finalC.isEmpty ? nil : joined(finalC, axis: 0)
        if a.batchFirst {
            y = y.transposed([2, 0, 1, 3])
            yh = yh.transposed([1, 0, 2])
            yc = yc?.transposed([1, 0, 2])
        }
        return cell == .lstm ? [y, yh, yc] : [y, yh]
    }
}
