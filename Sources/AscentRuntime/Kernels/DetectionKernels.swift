import AscentIR

// Kernels of the detection and text ops (Ops/Detection.swift): NonMaxSuppression, TfIdfVectorizer.

/// NonMaxSuppression(boxes [B, N, 4], scores [B, C, N], max_output_boxes_per_class?, iou_threshold?,
/// score_threshold?): per batch and class, boxes by descending score (ties: lower index first) kept
/// unless their IoU with a kept box exceeds the threshold; int64 `[batch, class, box]` rows.
struct NonMaxSuppressionKernel: Kernel {
    let centerPointBox: Bool

    func select(_ inputs: [Tensor?]) throws -> [Int64] {
        guard let boxes = inputs[0], let scores = inputs[1] else { throw AscentError.invalid("missing input") }
        func scalar(_ i: Int) -> Double? { i < inputs.count ? inputs[i].flatMap { $0.count > 0 ? $0.doubles()[0] : nil } : nil }
        let maxOut = Int(scalar(2) ?? 0), iou = scalar(3) ?? 0, scoreThreshold = scalar(4)
        guard boxes.rank == 3, boxes.shape[2] == 4, scores.rank == 3, scores.shape[0] == boxes.shape[0], scores.shape[2] == boxes.shape[1] else {
            throw AscentError.invalid("boxes \(boxes) and scores \(scores) do not match")
        }
        let b = boxes.shape[0], n = boxes.shape[1], c = scores.shape[1]
        let bx = boxes.doubles(), sc = scores.doubles()
        func corners(_ batch: Int, _ i: Int) -> (Double, Double, Double, Double) {
            let p = (batch * n + i) * 4
            if centerPointBox {
                return (bx[p] - bx[p + 2] / 2, bx[p] + bx[p + 2] / 2, bx[p + 1] - bx[p + 3] / 2, bx[p + 1] + bx[p + 3] / 2)
            }
            return (min(bx[p + 1], bx[p + 3]), max(bx[p + 1], bx[p + 3]), min(bx[p], bx[p + 2]), max(bx[p], bx[p + 2]))
        }
        func suppress(_ batch: Int, _ i: Int, _ j: Int) -> Bool {
            let (ax0, ax1, ay0, ay1) = corners(batch, i), (bx0, bx1, by0, by1) = corners(batch, j)
            let ix = min(ax1, bx1) - max(ax0, bx0), iy = min(ay1, by1) - max(ay0, by0)
            guard ix > 0, iy > 0 else { return false }
            let inter = ix * iy, a1 = (ax1 - ax0) * (ay1 - ay0), a2 = (bx1 - bx0) * (by1 - by0), union = a1 + a2 - inter
            guard a1 > 0, a2 > 0, union > 0 else { return false }
            return inter / union > iou
        }
        var out: [Int64] = []
        for batch in 0..<b {
            for cls in 0..<c {
                let base = (batch * c + cls) * n
                var candidates = (0..<n).filter { scoreThreshold == nil || sc[base + $0] > scoreThreshold! }
                candidates.sort { sc[base + $0] > sc[base + $1] || (sc[base + $0] == sc[base + $1] && $0 < $1) }
                var kept: [Int] = []
                for i in candidates where kept.count < maxOut {
                    if kept.allSatisfy({ !suppress(batch, i, $0) }) { kept.append(i) }
                }
                for i in kept { out += [Int64(batch), Int64(cls), Int64(i)] }
            }
        }
        return out
    }

    /// The output size is the number of selected boxes.
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard (0..<inputs.count).allSatisfy({ !inputs.has($0) || inputs.value($0) != nil }) else { return nil }
        return [TensorType(.int64, [try select(inputs.values).count / 3, 3])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let v = try select(inputs)
        return [Tensor(shape: [v.count / 3, 3], scalars: v)]
    }
}

/// TfIdfVectorizer over integer inputs `[C]` or `[N, C]`: counts of the pool's n-grams (lengths
/// `min_gram_length`...`max_gram_length`, items `skip + 1` apart for skips 0...`max_skip_count`;
/// unigrams counted once), as TF, IDF (weight where present) or TFIDF (count · weight), float32.
struct TfIdfKernel: Kernel {
    let minGram: Int, maxGram: Int, maxSkip: Int, mode: String
    let grams: [[Int64]: Int]
    let width: Int
    let weights: [Float]?

    init(_ a: TfIdfAttributes) throws {
        minGram = a.minGram
        maxGram = a.maxGram
        maxSkip = a.maxSkip
        mode = a.mode
        let pool = a.pool.map { Int64($0) }
        let counts = a.ngramCounts, indexes = a.ngramIndexes
        weights = a.weights?.map { Float($0) }
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

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .int64 || x.dtype == .int32, x.rank == 1 || x.rank == 2 else {
            throw AscentError.invalid("needs a 1-D or 2-D integer input, got \(x)")
        }
        return nil
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

extension KernelRegistry {
    static let detection: [(OpDefinition, KernelFactory)] = [
        (.nonMaxSuppression, { NonMaxSuppressionKernel(centerPointBox: try NonMaxSuppressionAttributes($0).centerPointBox) }),
        (.tfIdfVectorizer, { try TfIdfKernel(try TfIdfAttributes($0)) }),
    ]
}
