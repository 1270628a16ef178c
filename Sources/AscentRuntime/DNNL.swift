import AscentIR
import CDNNL

/// The one file that talks to oneDNN (Debian's libdnnl 2.6, OpenMP threading).
///
/// oneDNN's `dnnl_sgemm` was the fastest single-precision GEMM measured on this machine
/// (~112–156 GFLOP/s on one core; see `/work/shared/notes/machine.md`).
enum DNNL {
    /// Row-major single-precision matrix product, `C = alpha · op(A) · op(B) + beta · C`, where
    /// `op(A)` is `M×K` (`A` is stored `K×M` when `transA`), `op(B)` is `K×N`, and `C` is `M×N`.
    /// `lda`, `ldb`, `ldc` are the row strides (in elements) of the stored matrices.
    ///
    /// Runs on up to `threads` OpenMP threads. Deterministic for a given thread count.
    /// - Throws: ``AscentError`` `.internal` when oneDNN reports a failure (bad arguments).
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                      threads: Int) throws {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // oneDNN refuses K = 0; the product is empty, so only the beta scaling remains.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        setThreads(threads)
        let status = dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                                dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha,
                                a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        guard status == dnnl_success else {
            throw AscentError(.internal, "oneDNN sgemm failed with status \(status.rawValue) (m=\(m) n=\(n) k=\(k))")
        }
    }

    /// Sets the OpenMP thread count for oneDNN calls made from the current thread.
    /// (`omp_set_num_threads` sets a per-thread value, so it is set before every call.)
    static func setThreads(_ threads: Int) {
        omp_set_num_threads(Int32(clamping: max(1, threads)))
    }
}
