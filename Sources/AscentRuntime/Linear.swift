import AscentIR
import Synchronization

/// MatMul (NumPy semantics: batched, broadcast batch axes, 1-D operands promoted) and Gemm
/// (`alpha · A' · B' + beta · C`), on oneDNN's sgemm.
enum LinearKernels {
    static let factories: [String: KernelFactory] = [
        "MatMul": { _ in MatMulKernel() },
        "Gemm": { try GemmKernel($0) },
    ]
}

struct MatMulKernel: Kernel {
    /// The promoted operand shapes, the broadcast batch shape, and `M`, `K`, `N`.
    struct Layout {
        let a: [Int], b: [Int], batch: [Int]
        let m: Int, k: Int, n: Int
        let output: [Int]
    }

    func layout(_ ta: TensorType, _ tb: TensorType) throws -> Layout {
        guard ta.dtype == .float32, tb.dtype == .float32 else {
            throw KernelError.dtype("MatMul", ta.dtype == .float32 ? tb.dtype : ta.dtype)
        }
        guard ta.rank >= 1, tb.rank >= 1 else { throw AscentError.invalid("MatMul of a scalar") }
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

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        [TensorType(.float32, try layout(try inputs.type(0), try inputs.type(1)).output)]
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

    init(_ a: NodeAttributes) throws {
        alpha = try a.float("alpha", 1)
        beta = try a.float("beta", 1)
        transA = try a.int("transA", 0) != 0
        transB = try a.int("transB", 0) != 0
    }

    func dims(_ inputs: KernelInputs) throws -> (m: Int, k: Int, n: Int) {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype == .float32, b.dtype == .float32 else { throw KernelError.dtype("Gemm", a.dtype == .float32 ? b.dtype : a.dtype) }
        guard a.rank == 2, b.rank == 2 else { throw AscentError.invalid("Gemm needs 2-D inputs, got \(a) and \(b)") }
        let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
        let k2 = transB ? b.shape[1] : b.shape[0], n = transB ? b.shape[0] : b.shape[1]
        guard k == k2 else { throw AscentError.invalid("inner dimensions differ: \(a) × \(b)") }
        if inputs.has(2) {
            let c = try inputs.type(2)
            guard c.dtype == .float32 else { throw KernelError.dtype("Gemm", c.dtype) }
            guard try BroadcastLoop.shape([c.shape, [m, n]]) == [m, n] else {
                throw AscentError.invalid("C \(c) does not broadcast to [\(m),\(n)]")
            }
        }
        return (m, k, n)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let (m, _, n) = try dims(inputs)
        return [TensorType(.float32, [m, n])]
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
