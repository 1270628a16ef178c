import AscentIR

/// One of `count` deterministic slices of a run: `index` in `0..<count`.
///
/// Cluster schedulers number array tasks from 0 (Slurm's `SLURM_ARRAY_TASK_ID` with
/// `--array=0-3`, a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`), and so does this.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw AscentError(.usage, "shard \(index)/\(count): want I/N with 0 ≤ I < N")
        }
        self.index = index
        self.count = count
    }

    /// `I/N`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw AscentError(.usage, "--shard '\(text)' is not I/N (the I-th of N slices, I from 0)")
        }
        try self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }
}

/// How a run's targets are split into batches (optimized together, one batch item each), and
/// which batches a shard runs.
///
/// Targets go into consecutive batches of `batchSize`; batch `b` is seeded with the run's seed
/// when `b` is 0 and with a seed mixed from the run's seed and `b` otherwise, so a batch's
/// pictures depend only on the model, the options, its targets and the seed — not on which
/// process runs it. A shard runs a contiguous slice of whole batches (shard `I` of `N` gets
/// batches `⌊I·B/N⌋ ..< ⌊(I+1)·B/N⌋` of B), so the N shards together give byte for byte the
/// pictures of one unsharded run with the same batch size and seed (and thread count).
public struct ProbeBatches: Sendable, Equatable {
    public struct Batch: Sendable, Equatable {
        /// Indices into the run's list of targets.
        public var targets: Range<Int>
        public var seed: UInt64
    }

    /// The batches this process runs, in order.
    public var batches: [Batch]
    /// How many batches the whole run has.
    public var total: Int

    public init(targetCount: Int, batchSize: Int, seed: UInt64, shard: Shard? = nil) throws {
        guard batchSize >= 1 else { throw AscentError(.usage, "the batch size must be at least 1") }
        let all = stride(from: 0, to: targetCount, by: batchSize).enumerated().map { b, start in
            Batch(targets: start..<min(start + batchSize, targetCount), seed: b == 0 ? seed : ProbeBatches.mix(seed, UInt64(b)))
        }
        total = all.count
        if let shard {
            let lo = shard.index * all.count / shard.count, hi = (shard.index + 1) * all.count / shard.count
            batches = Array(all[lo..<hi])
        } else {
            batches = all
        }
    }

    /// The indices of the targets this process runs.
    public var targets: [Int] { batches.flatMap { Array($0.targets) } }

    /// A seed for batch `b` of a run seeded with `seed` (SplitMix64's finalizer over both).
    static func mix(_ seed: UInt64, _ b: UInt64) -> UInt64 {
        var rng = SplitMix64(seed: seed ^ (b &* 0xD1B5_4A32_D192_ED03))
        return rng.next()
    }
}
