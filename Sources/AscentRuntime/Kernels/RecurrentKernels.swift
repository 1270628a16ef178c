import AscentIR
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the recurrent ops (Ops/Recurrent.swift): RNN, GRU, LSTM.

/// RNN, GRU and LSTM (float32), as ONNX defines them: gates in ONNX order (GRU z, r, h; LSTM i, o,
/// f, c), forward/reverse/bidirectional, `layout` 0 or 1, `clip`, `activations` (with
/// `activation_alpha`/`beta`), GRU's `linear_before_reset`, LSTM peepholes, `sequence_lens`
/// (outputs past a sequence's end are 0 and its final state is the last valid one), initial states.
///
/// Per direction: the input projections of every time step are one GEMM up front
/// (`X · Wᵀ + b`, all steps and batch items as rows); then each step is one GEMM of the state
/// (`H · Rᵀ`, the batch as rows; GRU without `linear_before_reset` a second, `(r ⊙ H) · Rhᵀ`)
/// and one fused pass over the gates. The two directions of a bidirectional node run on two
/// threads when there are two.
struct RecurrentKernel: Kernel {
    enum Cell { case rnn, gru, lstm }
    let cell: Cell
    let hidden: Int, directions: Int, reverseOnly: Bool, layout: Int
    let clip: Float?
    let linearBeforeReset: Bool
    /// Per direction: the cell's activations in ONNX order (f; f, g; or f, g, h).
    let activations: [RecurrentActivation]
    let outputCount: Int

    var gates: Int { cell == .rnn ? 1 : cell == .gru ? 3 : 4 }

    init(_ cell: Cell, _ a: RecurrentAttributes, outputCount: Int) throws {
        self.cell = cell
        hidden = a.hiddenSize
        directions = a.directions
        reverseOnly = a.direction == "reverse"
        layout = a.batchFirst ? 1 : 0
        clip = a.clip
        linearBeforeReset = a.linearBeforeReset
        guard !a.inputForget else { throw AscentError.invalid("input_forget is not supported") }
        // ONNX's defaults: f = Sigmoid (RNN: Tanh), g = h = Tanh.
        let defaults: [RecurrentActivation] = cell == .rnn ? [.tanh] : cell == .gru ? [.sigmoid, .tanh] : [.sigmoid, .tanh, .tanh]
        var names = a.activations ?? []
        if names.isEmpty {
            activations = Array(repeating: defaults, count: directions).flatMap { $0 }
        } else {
            if names.count == defaults.count && directions == 2 { names += names }
            guard names.count == defaults.count * directions else { throw AscentError.invalid("activations \(names) do not match the cell") }
            let alphas = a.activationAlpha ?? [], betas = a.activationBeta ?? []
            activations = try names.enumerated().map { i, n in
                try RecurrentActivation(n, alpha: i < alphas.count ? Float(alphas[i]) : nil, beta: i < betas.count ? Float(betas[i]) : nil)
            }
        }
        self.outputCount = max(1, outputCount)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), w = try inputs.type(1), r = try inputs.type(2)
        try requireFloat(x)
        guard x.rank == 3, w.shape == [directions, gates * hidden, x.shape[2]], r.shape == [directions, gates * hidden, hidden] else {
            throw AscentError.invalid("X \(x), W \(w) and R \(r) do not match hidden_size \(hidden) and \(directions) direction(s)")
        }
        let expected: [(Int, String, [Int])] = [
            (3, "B", [directions, 2 * gates * hidden]), (7, "P", [directions, 3 * hidden]),
        ]
        for (i, name, shape) in expected where inputs.has(i) && (cell == .lstm || i != 7) {
            let t = try inputs.type(i)
            guard t.count == product(shape[...]) else { throw AscentError.invalid("\(name) \(t) should have shape \(Shape(shape))") }
        }
        let batch = layout == 0 ? x.shape[1] : x.shape[0]
        let h = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden]
        for i in [5, 6] where inputs.has(i) && (cell == .lstm || i == 5) {
            let t = try inputs.type(i)
            guard t.count == product(h[...]) else { throw AscentError.invalid("initial state \(t) should have shape \(Shape(h))") }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let w = inputs[1], let r = inputs[2] else { throw AscentError.invalid("missing input") }
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i]?.converted(to: .float32) : nil }
        let lengths = (inputs.count > 4 ? inputs[4]?.int64s() : nil).map { $0.map { Int(clamping: $0) } }
        let shape = RecurrentShape(seq: layout == 0 ? x.shape[0] : x.shape[1], batch: layout == 0 ? x.shape[1] : x.shape[0],
                                   size: x.shape[2], hidden: hidden, directions: directions, layout: layout)
        let weights = RecurrentWeights(w: w.converted(to: .float32), r: r.converted(to: .float32), bias: input(3),
                                       h0: input(5), c0: cell == .lstm ? input(6) : nil, peepholes: cell == .lstm ? input(7) : nil)
        if let lengths, lengths.count != shape.batch {
            throw AscentError.invalid("sequence_lens has \(lengths.count) entries for a batch of \(shape.batch)")
        }
        // Past a sequence's end the output stays 0; otherwise every element is written.
        let y = lengths == nil ? context.allocate(outputs[0]) : context.allocateZeroed(outputs[0])
        let states = outputs.dropFirst().map { context.allocate($0) }
        let perDirection = shape.scratchFloats(gates: gates)
        let scratch = context.scratch(floats: perDirection * directions)
        defer { context.release(scratch: scratch) }
        let sink = RecurrentOutputs(y: y.mutableFloats, h: states.first?.mutableFloats,
                                    c: states.count > 1 ? states[1].mutableFloats : nil)
        let threads = context.threads
        let split = threads >= 2 && directions == 2
        let gemmThreads = split ? max(1, threads / 2) : threads
        let failures = Mutex<(any Error)?>(nil)
        let body = { (d: Int) in
            let buffers = scratch.baseAddress.assumingMemoryBound(to: Float.self) + d * perDirection
            do {
                try self.runDirection(d, shape: shape, x: x.floats, weights: weights, lengths: lengths,
                                      scratch: buffers, out: sink, threads: gemmThreads)
            } catch {
                failures.withLock { $0 = error }
            }
        }
        if split {
            // One direction per chunk: each writes its own slices of the outputs and its own scratch.
            context.parallelFor(2, costPerItem: ExecutionContext.parallelThreshold) { range in range.forEach(body) }
        } else {
            for d in 0..<directions { body(d) }
        }
        if let failure = failures.withLock({ $0 }) { throw failure }
        return [y] + states
    }

    /// One direction over the whole sequence.
    private func runDirection(_ d: Int, shape s: RecurrentShape, x: UnsafePointer<Float>, weights: RecurrentWeights,
                              lengths: [Int]?, scratch: UnsafeMutablePointer<Float>, out: RecurrentOutputs, threads: Int) throws {
        let h = hidden, g = gates, gh = g * h
        let reverse = reverseOnly || d == 1
        let na = cell == .rnn ? 1 : cell == .gru ? 2 : 3
        let f = activations[d * na], gAct = na > 1 ? activations[d * na + 1] : f, hAct = na > 2 ? activations[d * na + 2] : f
        let w = weights.w.floats + d * gh * s.size, r = weights.r.floats + d * gh * h
        let wb = weights.bias.map { $0.floats + d * 2 * gh }, rb = wb.map { $0 + gh }
        let p = weights.peepholes.map { $0.floats + d * 3 * h }
        let rows = s.seq * s.batch
        // Scratch: input projections [rows, gh], state products [batch, gh], state, cell, gates.
        let xw = scratch, hr = xw + rows * gh, hs = hr + s.batch * gh, cs = hs + s.batch * h
        let gate = cs + s.batch * h, rh = gate + s.batch * gh

        // X · Wᵀ plus every bias that sits outside a reset product: rows in X's order.
        if let wb, let rb {
            let folded = UnsafeMutablePointer<Float>.allocate(capacity: gh)
            defer { folded.deallocate() }
            for k in 0..<gh {
                // GRU with linear_before_reset keeps Rbh inside the reset product.
                folded[k] = cell == .gru && linearBeforeReset && k >= 2 * h ? wb[k] : wb[k] + rb[k]
            }
            for row in 0..<rows { (xw + row * gh).update(from: folded, count: gh) }
        }
        try DNNL.sgemm(transB: true, m: rows, n: gh, k: s.size, a: x, lda: s.size, b: w, ldb: s.size,
                       beta: wb == nil ? 0 : 1, c: xw, ldc: gh, threads: threads)

        for b in 0..<s.batch {
            let state = s.stateIndex(d, b)
            if let h0 = weights.h0 { (hs + b * h).update(from: h0.floats + state, count: h) } else { (hs + b * h).update(repeating: 0, count: h) }
            if let c0 = weights.c0 { (cs + b * h).update(from: c0.floats + state, count: h) } else { (cs + b * h).update(repeating: 0, count: h) }
        }
        let length = (0..<s.batch).map { b in Swift.max(0, Swift.min(lengths?[b] ?? s.seq, s.seq)) }
        let steps = length.max() ?? 0
        let lo = -(clip ?? .infinity), hi = clip ?? .infinity
        @inline(__always) func clipped(_ v: Float) -> Float { clip == nil ? v : Swift.min(Swift.max(v, lo), hi) }
        // GRU without linear_before_reset multiplies the reset gate into the state before Rh.
        let resetFirst = cell == .gru && !linearBeforeReset
        let stateColumns = resetFirst ? 2 * h : gh

        for step in 0..<steps {
            try DNNL.sgemm(transB: true, m: s.batch, n: stateColumns, k: h, a: hs, lda: h, b: r, ldb: h,
                           c: hr, ldc: gh, threads: threads)
            for b in 0..<s.batch where step < length[b] {
                let t = reverse ? length[b] - 1 - step : step
                let xrow = UnsafePointer(xw + s.xRow(t, b) * gh), hrow = hr + b * gh
                let hb = hs + b * h, cb = cs + b * h, pre = gate + b * gh
                switch cell {
                case .rnn:
                    for j in 0..<h { pre[j] = clipped(xrow[j] + hrow[j]) }
                    f.apply(pre, h)
                    hb.update(from: pre, count: h)
                case .gru:
                    for j in 0..<(2 * h) { pre[j] = clipped(xrow[j] + hrow[j]) }
                    f.apply(pre, 2 * h)
                    let z = pre, reset = pre + h, cand = pre + 2 * h
                    if resetFirst {
                        let scaled = rh + b * h
                        for j in 0..<h { scaled[j] = reset[j] * hb[j] }
                        // (r ⊙ H) · Rhᵀ for this batch row.
                        try DNNL.sgemm(transB: true, m: 1, n: h, k: h, a: scaled, lda: h, b: r + 2 * h * h, ldb: h,
                                       c: cand, ldc: h, threads: 1)
                        for j in 0..<h { cand[j] = clipped(xrow[2 * h + j] + cand[j]) }
                    } else {
                        let rbh = rb.map { $0 + 2 * h }
                        for j in 0..<h { cand[j] = clipped(xrow[2 * h + j] + reset[j] * (hrow[2 * h + j] + (rbh?[j] ?? 0))) }
                    }
                    gAct.apply(cand, h)
                    for j in 0..<h { hb[j] = (1 - z[j]) * cand[j] + z[j] * hb[j] }
                case .lstm:
                    // i, o, f, c; o waits for the new cell state when there are peepholes.
                    let ig = pre, og = pre + h, fg = pre + 2 * h, cc = pre + 3 * h
                    if let p {
                        for j in 0..<h {
                            ig[j] = clipped(xrow[j] + hrow[j] + p[j] * cb[j])
                            fg[j] = clipped(xrow[2 * h + j] + hrow[2 * h + j] + p[2 * h + j] * cb[j])
                        }
                        f.apply(ig, h)
                        f.apply(fg, h)
                    } else {
                        for j in 0..<(3 * h) { pre[j] = clipped(xrow[j] + hrow[j]) }
                        f.apply(pre, 3 * h)
                    }
                    for j in 0..<h { cc[j] = clipped(xrow[3 * h + j] + hrow[3 * h + j]) }
                    gAct.apply(cc, h)
                    for j in 0..<h { cb[j] = fg[j] * cb[j] + ig[j] * cc[j] }
                    if let p {
                        for j in 0..<h { og[j] = clipped(xrow[h + j] + hrow[h + j] + p[h + j] * cb[j]) }
                        f.apply(og, h)
                    }
                    hb.update(from: cb, count: h)
                    hAct.apply(hb, h)
                    for j in 0..<h { hb[j] *= og[j] }
                }
                (out.y + s.yIndex(t, d, b)).update(from: hb, count: h)
            }
        }
        for b in 0..<s.batch {
            let state = s.stateIndex(d, b)
            if let yh = out.h { (yh + state).update(from: hs + b * h, count: h) }
            if let yc = out.c { (yc + state).update(from: cs + b * h, count: h) }
        }
    }
}

/// Sizes and index maps of a recurrent node's input and outputs (`layout` 0: time-major; 1: batch-major).
private struct RecurrentShape {
    let seq: Int, batch: Int, size: Int, hidden: Int, directions: Int, layout: Int

    /// Row of `X` (and of the input projections) for time `t` of batch item `b`.
    func xRow(_ t: Int, _ b: Int) -> Int { layout == 0 ? t * batch + b : b * seq + t }
    /// Offset of a state row (initial and final `H`, `C`).
    func stateIndex(_ d: Int, _ b: Int) -> Int { layout == 0 ? (d * batch + b) * hidden : (b * directions + d) * hidden }
    /// Offset of an output row of `Y`.
    func yIndex(_ t: Int, _ d: Int, _ b: Int) -> Int {
        layout == 0 ? ((t * directions + d) * batch + b) * hidden : ((b * seq + t) * directions + d) * hidden
    }
    /// Scratch floats one direction uses.
    func scratchFloats(gates: Int) -> Int {
        let gh = gates * hidden
        return seq * batch * gh + 2 * batch * gh + 3 * batch * hidden
    }
}

/// The node's weight and optional state inputs, as float32.
private struct RecurrentWeights {
    let w: Tensor, r: Tensor, bias: Tensor?, h0: Tensor?, c0: Tensor?, peepholes: Tensor?
}

/// Where the directions write: disjoint rows of `Y`, `Y_h` and `Y_c`.
private struct RecurrentOutputs: @unchecked Sendable {
    let y: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>?, c: UnsafeMutablePointer<Float>?
}

/// The activation functions ONNX's recurrent ops accept, applied in place to a row of gates.
enum RecurrentActivation: Sendable {
    case sigmoid, tanh, relu, softsign, softplus
    case leakyRelu(Float), thresholdedRelu(Float), elu(Float)
    case scaledTanh(Float, Float), hardSigmoid(Float, Float), affine(Float, Float)

    /// The activation `name` (case-insensitive) with ONNX's default alpha and beta where not given.
    init(_ name: String, alpha: Float?, beta: Float?) throws {
        switch name.lowercased() {
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "relu": self = .relu
        case "leakyrelu": self = .leakyRelu(alpha ?? 0.01)
        case "thresholdedrelu": self = .thresholdedRelu(alpha ?? 1)
        case "scaledtanh": self = .scaledTanh(alpha ?? 1, beta ?? 1)
        case "hardsigmoid": self = .hardSigmoid(alpha ?? 0.2, beta ?? 0.5)
        case "elu": self = .elu(alpha ?? 1)
        case "softsign": self = .softsign
        case "softplus": self = .softplus
        case "affine": self = .affine(alpha ?? 1, beta ?? 0)
        default: throw AscentError.invalid("activation '\(name)' is not supported")
        }
    }

    /// Replaces each of the `n` values at `p` by its activation.
    func apply(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .sigmoid: for i in 0..<n { p[i] = 1 / (1 + expf(-p[i])) }
        case .tanh: for i in 0..<n { p[i] = tanhf(p[i]) }
        case .relu: for i in 0..<n { p[i] = Swift.max(p[i], 0) }
        case .leakyRelu(let a): for i in 0..<n { p[i] = p[i] >= 0 ? p[i] : a * p[i] }
        case .thresholdedRelu(let a): for i in 0..<n { p[i] = p[i] > a ? p[i] : 0 }
        case .scaledTanh(let a, let b): for i in 0..<n { p[i] = a * tanhf(b * p[i]) }
        case .hardSigmoid(let a, let b): for i in 0..<n { p[i] = Swift.max(0, Swift.min(1, a * p[i] + b)) }
        case .elu(let a): for i in 0..<n { p[i] = p[i] >= 0 ? p[i] : a * (expf(p[i]) - 1) }
        case .softsign: for i in 0..<n { p[i] = p[i] / (1 + Swift.abs(p[i])) }
        case .softplus: for i in 0..<n { p[i] = logf(1 + expf(p[i])) }
        case .affine(let a, let b): for i in 0..<n { p[i] = a * p[i] + b }
        }
    }
}

extension KernelRegistry {
    static let recurrent: [(OpDefinition, KernelFactory)] = [
        (.rnn, { try RecurrentKernel(.rnn, try RecurrentAttributes($0), outputCount: $0.outputs.count) }),
        (.gru, { try RecurrentKernel(.gru, try RecurrentAttributes($0), outputCount: $0.outputs.count) }),
        (.lstm, { try RecurrentKernel(.lstm, try RecurrentAttributes($0), outputCount: $0.outputs.count) }),
    ]
}
