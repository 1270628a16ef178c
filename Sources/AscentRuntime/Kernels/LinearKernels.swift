import AscentIR
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the linear-algebra ops (Ops/Linear.swift): MatMul, Gemm, Einsum, Det.

/// MatMul (NumPy semantics: batched, broadcast batch axes, 1-D operands promoted) on oneDNN's sgemm.
struct MatMulKernel: Kernel {
    /// The promoted operand shapes, the broadcast batch shape, and `M`, `K`, `N`.
    struct Layout {
        let a: [Int], b: [Int], batch: [Int]
        let m: Int, k: Int, n: Int
        let output: [Int]
    }

    func layout(_ ta: TensorType, _ tb: TensorType) throws -> Layout {
        guard ta.dtype == .float32, tb.dtype == .float32 else {
            throw KernelError.dtype(ta.dtype == .float32 ? tb.dtype : ta.dtype)
        }
        guard ta.rank >= 1, tb.rank >= 1 else { throw AscentError.invalid("cannot multiply a scalar") }
        let a = ta.rank == 1 ? [1] + ta.shape : ta.shape
        let b = tb.rank == 1 ? tb.shape + [1] : tb.shape
        let m = a[a.count - 2], k = a[a.count - 1], k2 = b[b.count - 2], n = b[b.count - 1]
        guard k == k2 else { throw AscentError.invalid("inner dimensions differ: \(ta) × \(tb)") }
        let batch = try BroadcastLoop.shape([Array(a.dropLast(2)), Array(b.dropLast(2))])
        var output = batch
        if ta.rank > 1 { output.append(m) }
        if tb.rank > 1 { output.append(n) }
        return Layout(a: a, b: b, batch: batch, m: m, k: k, n: n, output: output)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try layout(try inputs.type(0), try inputs.type(1))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let l = try layout(a.type, b.type)
        let y = context.allocate(outputs[0])
        let (m, k, n) = (l.m, l.k, l.n)
        let count = l.batch.reduce(1, *)
        let aBatch = Array(l.a.dropLast(2)), bBatch = Array(l.b.dropLast(2))
        let pa = a.floats, pb = b.floats, py = y.mutableFloats
        if bBatch.reduce(1, *) == 1 && aBatch.reduce(1, *) == count {
            // Every batch shares B: one GEMM with the batches stacked as rows.
            try DNNL.sgemm(m: count * m, n: n, k: k, a: pa, lda: k, b: pb, ldb: n, c: py, ldc: n, threads: context.threads)
            return [y]
        }
        // Element offsets of each batch's matrices, with broadcasting.
        let rank = l.batch.count
        let sa = broadcastStrides(aBatch, rank: rank), sb = broadcastStrides(bBatch, rank: rank)
        var offsets: [(Int, Int)] = []
        offsets.reserveCapacity(count)
        var index = Array(repeating: 0, count: rank)
        for _ in 0..<count {
            var oa = 0, ob = 0
            for d in 0..<rank { oa += index[d] * sa[d]; ob += index[d] * sb[d] }
            offsets.append((oa * m * k, ob * k * n))
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < l.batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        // Many small products: one thread per product; few large ones: threads inside sgemm.
        let small = m * n * k < 64 * 64 * 64 && count >= context.threads
        if small && context.threads > 1 {
            let failure = Mutex<AscentError?>(nil)
            context.parallelFor(count, costPerItem: Int.max / 2) { range in
                for i in range {
                    do {
                        try DNNL.sgemm(m: m, n: n, k: k, a: pa + offsets[i].0, lda: k, b: pb + offsets[i].1, ldb: n,
                                       c: py + i * m * n, ldc: n, threads: 1)
                    } catch {
                        failure.withLock { $0 = $0 ?? (error as? AscentError) ?? AscentError(.internal, "\(error)") }
                    }
                }
            }
            if let e = failure.withLock({ $0 }) { throw e }
        } else {
            for i in 0..<count {
                try DNNL.sgemm(m: m, n: n, k: k, a: pa + offsets[i].0, lda: k, b: pb + offsets[i].1, ldb: n,
                               c: py + i * m * n, ldc: n, threads: context.threads)
            }
        }
        return [y]
    }

    /// Strides (in matrices) of a batch shape right-aligned to `rank`, 0 along broadcast axes.
    private func broadcastStrides(_ shape: [Int], rank: Int) -> [Int] {
        let aligned = Array(repeating: 1, count: rank - shape.count) + shape
        let s = contiguousStrides(aligned)
        return (0..<rank).map { aligned[$0] == 1 ? 0 : s[$0] }
    }
}

/// Gemm: `Y = alpha · A' · B' + beta · C`, `A'` = `Aᵀ` when `transA`, `B'` likewise; `C` broadcasts to `[M, N]`.
struct GemmKernel: Kernel {
    let alpha: Float, beta: Float
    let transA: Bool, transB: Bool

    init(_ a: GemmAttributes) {
        alpha = a.alpha
        beta = a.beta
        transA = a.transA
        transB = a.transB
    }

    func dims(_ inputs: KernelInputs) throws -> (m: Int, k: Int, n: Int) {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype == .float32, b.dtype == .float32 else { throw KernelError.dtype(a.dtype == .float32 ? b.dtype : a.dtype) }
        guard a.rank == 2, b.rank == 2 else { throw AscentError.invalid("needs 2-D inputs, got \(a) and \(b)") }
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let k2 = transB ? b.shape[1] : b.shape[0], n = transB ? b.shape[0] : b.shape[1]
        guard k == k2 else { throw AscentError.invalid("inner dimensions differ: \(a) × \(b)") }
        if inputs.has(2) {
            let c = try inputs.type(2)
            guard c.dtype == .float32 else { throw KernelError.dtype(c.dtype) }
            guard try BroadcastLoop.shape([c.shape, [m, n]]) == [m, n] else {
                throw AscentError.invalid("C \(c) does not broadcast to [\(m),\(n)]")
            }
        }
        return (m, k, n)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try dims(inputs)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let c = inputs.count > 2 ? inputs[2] : nil
        let (m, k, n) = try dims(KernelInputs(types: inputs.map { $0?.type }, values: []))
        let y = context.allocate(outputs[0])
        var beta: Float = 0
        if let c, self.beta != 0 {
            let aligned = Array(repeating: 1, count: 2 - c.rank) + c.shape
            let s = contiguousStrides(aligned)
            StridedCopy(shape: [m, n], strides: [aligned[0] == 1 ? 0 : s[0], aligned[1] == 1 ? 0 : s[1]], offset: 0)
                .run(source: c.rawPointer, destination: y.rawPointer, elementSize: 4, context: context)
            beta = self.beta
        }
        try DNNL.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a.floats, lda: a.shape[1], b: b.floats, ldb: b.shape[1],
                       beta: beta, c: y.mutableFloats, ldc: n, threads: context.threads)
        return [y]
    }
}

/// Einsum over float32 or integer operands: explicit (`ij,jk->ik`) or implicit output, `...`
/// ellipses broadcast NumPy-style; computed by iterating every label combination.
struct EinsumKernel: Kernel {
    let equation: String

    struct Plan {
        var operands: [[Character]]
        var output: [Character]
        var sizes: [Character: Int]
    }

    func plan(_ shapes: [[Int]]) throws -> Plan {
        let parts = equation.components(separatedBy: "->")
        let lhs = parts[0].components(separatedBy: ",")
        guard lhs.count == shapes.count, parts.count <= 2 else {
            throw AscentError.invalid("equation '\(equation)' does not match \(shapes.count) inputs")
        }
        let ellipsisLabels = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var ellipsisRank = 0
        var operands: [[Character]] = []
        var sizes: [Character: Int] = [:]
        for (term, shape) in zip(lhs, shapes) {
            var labels: [Character]
            if let r = term.range(of: "...") {
                let before = Array(term[..<r.lowerBound]), after = Array(term[r.upperBound...])
                let k = shape.count - before.count - after.count
                guard k >= 0 else { throw AscentError.invalid("term '\(term)' does not fit shape \(shape)") }
                ellipsisRank = max(ellipsisRank, k)
                labels = before + Array(ellipsisLabels[(ellipsisLabels.count - k)...]) + after
            } else {
                labels = Array(term)
            }
            guard labels.count == shape.count else { throw AscentError.invalid("term '\(term)' does not fit shape \(shape)") }
            for (l, d) in zip(labels, shape) {
                if let s = sizes[l], s != d {
                    guard s == 1 || d == 1 else { throw AscentError.invalid("label \(l) has sizes \(s) and \(d)") }
                    sizes[l] = max(s, d)
                } else {
                    sizes[l] = d
                }
            }
            operands.append(labels)
        }
        let ellipsis = Array(ellipsisLabels[(ellipsisLabels.count - ellipsisRank)...])
        var output: [Character]
        if parts.count == 2 {
            let term = parts[1]
            if let r = term.range(of: "...") {
                output = Array(term[..<r.lowerBound]) + ellipsis + Array(term[r.upperBound...])
            } else {
                output = Array(term)
            }
        } else {
            var counts: [Character: Int] = [:]
            for o in operands { for l in o where !ellipsis.contains(l) { counts[l, default: 0] += 1 } }
            output = ellipsis + counts.filter { $0.value == 1 }.keys.sorted()
        }
        for l in output where sizes[l] == nil { throw AscentError.invalid("output label \(l) is not in the inputs") }
        return Plan(operands: operands, output: output, sizes: sizes)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let types = try (0..<inputs.count).map { try inputs.type($0) }
        guard let first = types.first else { throw AscentError.invalid("needs inputs") }
        try requireNumeric(first)
        guard types.allSatisfy({ $0.dtype == first.dtype }) else { throw AscentError.invalid("inputs have different types") }
        _ = try plan(types.map(\.shape))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let xs = inputs.compactMap { $0 }
        let p = try plan(xs.map(\.shape))
        let summed = Array(Set(p.operands.joined()).subtracting(p.output)).sorted()
        let labels = p.output + summed
        let dims = labels.map { p.sizes[$0]! }
        let values = xs.map { $0.doubles() }
        // Per operand and label: the element stride (0 for a broadcast size-1 axis).
        let strides: [[Int]] = xs.indices.map { k in
            let s = contiguousStrides(xs[k].shape)
            return labels.map { l in
                var total = 0
                for (i, m) in p.operands[k].enumerated() where m == l && xs[k].shape[i] != 1 { total += s[i] }
                return total
            }
        }
        let outCount = outputs[0].count, inner = dims[p.output.count...].reduce(1, *)
        var result = [Double](repeating: 0, count: outCount)
        var index = [Int](repeating: 0, count: labels.count)
        if outCount > 0 && inner > 0 {
            for o in 0..<outCount {
                var rest = o
                for i in stride(from: p.output.count - 1, through: 0, by: -1) { index[i] = rest % dims[i]; rest /= dims[i] }
                var acc = 0.0
                for s in 0..<inner {
                    var r = s
                    for i in stride(from: labels.count - 1, through: p.output.count, by: -1) { index[i] = r % dims[i]; r /= dims[i] }
                    var prod = 1.0
                    for k in xs.indices {
                        var off = 0
                        for i in labels.indices { off += index[i] * strides[k][i] }
                        prod *= values[k][off]
                    }
                    acc += prod
                }
                result[o] = acc
            }
        }
        return [tensor(outputs[0], doubles: result)]
    }
}

/// Det of `[..., M, M]` float32 matrices (LU with partial pivoting, in Double).
struct DetKernel: Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(x)
        guard x.rank >= 2, x.shape[x.rank - 1] == x.shape[x.rank - 2] else { throw AscentError.invalid("needs square matrices, got \(x)") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let m = x.shape[x.rank - 1], v = x.doubles(), count = m == 0 ? 0 : v.count / (m * m)
        var out = [Float](repeating: 1, count: outputs[0].count)
        for b in 0..<count {
            var a = Array(v[(b * m * m)..<((b + 1) * m * m)])
            var det = 1.0
            for col in 0..<m {
                var pivot = col
                for r in (col + 1)..<max(m, col + 1) where abs(a[r * m + col]) > abs(a[pivot * m + col]) { pivot = r }
                if a[pivot * m + col] == 0 { det = 0; break }
                if pivot != col {
                    for k in 0..<m { a.swapAt(pivot * m + k, col * m + k) }
                    det = -det
                }
                det *= a[col * m + col]
                for r in (col + 1)..<max(m, col + 1) {
                    let f = a[r * m + col] / a[col * m + col]
                    for k in col..<m { a[r * m + k] -= f * a[col * m + k] }
                }
            }
            out[b] = Float(det)
        }
        return [Tensor(shape: outputs[0].shape, scalars: out)]
    }
}

extension KernelRegistry {
    static let linear: [(OpDefinition, KernelFactory)] = [
        (.matMul, { _ in MatMulKernel() }),
        (.gemm, { GemmKernel(try GemmAttributes($0)) }),
        (.einsum, { EinsumKernel(equation: try EinsumAttributes($0).equation) }),
        (.det, { _ in DetKernel() }),
    ]
}
