/// Detection and text post-processing: `NonMaxSuppression` and `TfIdfVectorizer` (integer pools).
extension OpDefinition {
    /// Selected boxes as `[num_selected, 3]` rows of (batch, class, box).
    public static let nonMaxSuppression: OpDefinition = OpDefinition(
        "NonMaxSuppression", inputs: 2...5, attributes: NonMaxSuppressionAttributes.self, traits: .dataDependentShape,
        onnx: ONNXHistory([10, 11]),
        shape: { _ in [ValueType(.int64, Shape([Dim.unknown, .known(3)]))] })

    public static let tfIdfVectorizer: OpDefinition = OpDefinition(
        "TfIdfVectorizer", inputs: 1...1, attributes: TfIdfAttributes.self, onnx: ONNXHistory([9]),
        shape: { ctx in
            let width = Dim.known((try ctx.attributes(TfIdfAttributes.self).ngramIndexes.max() ?? -1) + 1)
            guard let s = ctx.shape(0) else { return [ValueType(.float32, nil)] }
            return [ValueType(.float32, Shape(s.rank == 2 ? [s.dims[0], width] : [width]))]
        })
}

public struct NonMaxSuppressionAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("center_point_box", 0)]
    /// Boxes as (x centre, y centre, width, height) rather than corners.
    public let centerPointBox: Bool
    public init(_ a: AttributeReader) throws { centerPointBox = try a.bool("center_point_box") }
}

public struct TfIdfAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .required("max_gram_length", kind: "int"), .required("max_skip_count", kind: "int"),
        .required("min_gram_length", kind: "int"), .required("mode", kind: "string"),
        .required("ngram_counts", kind: "ints"), .required("ngram_indexes", kind: "ints"),
        .optional("pool_int64s", kind: "ints"), .optional("pool_strings", kind: "strings"), .optional("weights", kind: "floats"),
    ]
    public let minGram: Int, maxGram: Int, maxSkip: Int
    /// `TF`, `IDF` or `TFIDF`.
    public let mode: String
    public let ngramCounts: [Int], ngramIndexes: [Int], pool: [Int], weights: [Double]?
    public init(_ a: AttributeReader) throws {
        minGram = try a.int("min_gram_length")
        maxGram = try a.int("max_gram_length")
        maxSkip = try a.int("max_skip_count")
        guard minGram >= 1, maxGram >= minGram, maxSkip >= 0 else {
            throw AscentError.invalid("gram lengths \(minGram)...\(maxGram) or skip count \(maxSkip) are invalid")
        }
        mode = try a.choice("mode", ["TF", "IDF", "TFIDF"])
        guard !a.given("pool_strings") else { throw AscentError.invalid("string pools are not supported") }
        pool = try a.ints("pool_int64s") ?? []
        ngramCounts = try a.ints("ngram_counts") ?? []
        ngramIndexes = try a.ints("ngram_indexes") ?? []
        weights = try a.floats("weights")
    }
}
