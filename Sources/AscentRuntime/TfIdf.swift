import AscentIR

/// TfIdfVectorizer over integer inputs `[C]` or `[N, C]`: counts of the pool's n-grams (lengths
/// `min_gram_length`...`max_gram_length`, items `skip + 1` apart for skips 0...`max_skip_count`;
/// unigrams counted once), as TF, IDF (weight where present) or TFIDF (count · weight), float32.
struct TfIdfKernel: Kernel {
    let minGram: Int, maxGram: Int, maxSkip: Int, mode: String
    let grams: [[Int64]: Int]
    let width: Int
    let weights: [Float]?

    init(_ a: NodeAttributes) throws {
        minGram = try a.int("min_gram_length", 1)
        maxGram = try a.int("max_gram_length", 1)
        maxSkip = try a.int("max_skip_count", 0)
        mode = try a.string("mode", "TF")
        guard ["TF", "IDF", "TFIDF"].contains(mode) else { throw AscentError.invalid("mode '\(mode)' is not TF, IDF or TFIDF") }
        guard a.node.attributes["pool_strings"] == nil else { throw AscentError.invalid("string pools are not supported") }
        let pool = (try a.ints("pool_int64s") ?? []).map { Int64($0) }
        let counts = try a.ints("ngram_counts") ?? []
        let indexes = try a.ints("ngram_indexes") ?? []
        weights = a.node.attributes["weights"]?.floats?.map { Float($0) }
        guard minGram >= 1, maxGram >= minGram, maxSkip >= 0 else { throw AscentError.invalid("invalid gram lengths or skip count") }
        var grams: [[Int64]: Int] = [:]
        var k = 0
        for level in 0..<counts.count {
            let start = counts[level], end = level + 1 < counts.count ? counts[level + 1] : pool.count, n = level + 1
            guard start >= 0, end <= pool.count, start <= end else { throw AscentError.invalid("ngram_counts \(counts) do not fit the pool") }
            var p = start
            while p + n <= end {
                guard k < indexes.count else { throw AscentError.invalid("ngram_indexes has fewer entries than the pool's n-grams") }
                grams[Array(pool[p..<(p + n)])] = indexes[k]
                k += 1
                p += n
            }
        }
        self.grams = grams
        width = (indexes.max() ?? -1) + 1
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .int64 || x.dtype == .int32, x.rank == 1 || x.rank == 2 else {
            throw AscentError.invalid("TfIdfVectorizer needs a 1-D or 2-D integer input, got \(x)")
        }
        return [TensorType(.float32, x.rank == 1 ? [width] : [x.shape[0], width])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let v = x.int64s(), rows = x.rank == 1 ? 1 : x.shape[0], c = x.shape[x.rank - 1]
        var y = [Float](repeating: 0, count: rows * width)
        for r in 0..<rows {
            let row = Array(v[(r * c)..<((r + 1) * c)])
            for n in minGram...maxGram {
                for skip in 0...(n == 1 ? 0 : maxSkip) {
                    let step = skip + 1
                    var i = 0
                    while i + (n - 1) * step < c {
                        let gram = (0..<n).map { row[i + $0 * step] }
                        if let j = grams[gram] { y[r * width + j] += 1 }
                        i += 1
                    }
                }
            }
        }
        if mode != "TF" {
            for i in 0..<y.count where y[i] > 0 {
                let w = weights.map { $0[i % width] } ?? 1
                y[i] = mode == "IDF" ? w : y[i] * w
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}
