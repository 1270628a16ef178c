import CParallel

/// The one file that talks to the OpenMP runtime directly (libgomp, the runtime Debian's oneDNN
/// runs its convolutions and sgemm on).
///
/// With `ASCENT_OPENMP_LOOPS` set, `ExecutionContext.parallelFor` runs here, on the same OpenMP
/// threads as oneDNN, so the two pools do not compete for the cores. It is off by default: on a
/// loaded 2-core machine every team waits for a descheduled worker at its join, and the gradient
/// step at 2 threads was slower than with Dispatch (see the commit that added this file).
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

    /// Whether the calling thread is inside an active OpenMP parallel region.
    static var inParallelRegion: Bool { ascent_in_parallel() != 0 }

    /// The calling thread's number in its OpenMP team (0 outside a region).
    static var threadNumber: Int { Int(ascent_thread_number()) }
}
