import CParallel

/// The one file over `CParallel`: how many processors the process may use, and how the OpenMP
/// runtime (libgomp, which Debian's oneDNN runs its convolutions and sgemm on) waits.
///
/// One pool of threads serves both: Ascent's own loops (``ExecutionContext/parallelFor(_:costPerItem:_:)``)
/// run on the same OpenMP team as oneDNN's primitives (``OpenMPTeam``), and `CParallel` starts
/// libgomp passive (``openMPSpinCount`` 0: idle workers sleep at once instead of spinning), so
/// that on a machine shared with other busy processes neither a second pool nor a spinning worker
/// takes the cores others need. Operations too small to pay for waking a worker run on one thread.
enum Processors {
    /// CPUs this process may use: its affinity mask, lowered to its cgroup CPU quota. At least 1.
    /// Read once (it takes a system call and a few small file reads).
    static let available = Int(ascent_available_cpus())

    /// The spin count (iterations) libgomp's idle workers were started with by Ascent, or nil
    /// when the environment chose (`GOMP_SPINCOUNT` or `OMP_WAIT_POLICY` set: libgomp's rules).
    static var openMPSpinCount: Int? {
        let n = ascent_openmp_spin_count()
        return n < 0 ? nil : Int(n)
    }

    /// The threads worth using now out of `requested`: fewer while other processes keep the CPUs
    /// busy, as a team of threads waits at every join for whichever of its threads the kernel has
    /// descheduled. `requested` minus the CPUs other runnable tasks need beyond the one the caller
    /// runs on (from the running count of `/proc/loadavg`, read at most every 10 ms), at least 1.
    static func worthUsing(_ requested: Int) -> Int {
        guard requested > 1 else { return 1 }
        let others = Int(ascent_runnable_elsewhere())
        guard others >= 0 else { return requested }
        return max(1, min(requested, available - others))
    }

    /// Whether the calling thread is inside an active OpenMP parallel region.
    static var inOpenMPRegion: Bool { ascent_in_parallel() != 0 }
}

/// Ascent's parallel loops on libgomp's team, the one oneDNN runs on.
enum OpenMPTeam {
    /// Calls `body(c)` for every `c` in `0..<chunks` on up to `threads` OpenMP threads (the calling
    /// thread included), chunk `c` on thread `c % team size`, and returns when all are done.
    /// Runs the chunks in order on the calling thread when `threads` or `chunks` is at most 1 or
    /// when already inside an OpenMP parallel region (no nested teams). Each calling thread gets
    /// its own team, so concurrent callers do not wait for each other.
    ///
    /// `body` must write only memory no other chunk touches.
    static func forEachChunk(_ chunks: Int, threads: Int, _ body: (Int) -> Void) {
        guard chunks > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var job = body
            withUnsafeMutablePointer(to: &job) { pointer in
                ascent_parallel_for(Int32(clamping: chunks), Int32(clamping: max(1, threads)), { context, chunk in
                    context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(chunk))
                }, pointer)
            }
        }
    }

    /// The calling thread's number in its OpenMP team (0 outside a region).
    static var threadNumber: Int { Int(ascent_thread_number()) }
}
