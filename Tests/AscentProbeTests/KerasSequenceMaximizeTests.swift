import AscentIR
import AscentImage
import AscentTestSupport
import Foundation
import Testing

/// `ascent maximize` on Keras sequence models' intermediate units: the importer tags every Keras
/// layer output `[batch, time, features]` channels-last (NWC), so `layer:` targets on recurrent,
/// TimeDistributed and Bidirectional outputs find their channel axis; a token model is probed
/// through its embedding (`--wrt embedding` cuts the model there, the tokens feeding the padding
/// mask held fixed from `--input`).
@Suite struct KerasSequenceMaximizeTests {
    struct Trace: Decodable {
        var objectives: [[Double]]
        var finalObjective: [Double]
    }

    static func trace(_ path: String) throws -> Trace {
        try JSONDecoder().decode(Trace.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The GRU time-series model (`recurrent_series`, `.keras` and `.h5`): intermediate units of the
    /// GRU, the backward SimpleRNN, the TimeDistributed Dense, the LSTM and a Bidirectional layer
    /// (merge mode `mul`) rise, and the optimized signal is written as a plot and its values. The
    /// keras-example preset's step of 10 overshoots on a 27-value signal: lr 1, 60 steps.
    @Test(arguments: ["model.keras", "model.h5"])
    func recurrentUnitsOfATimeSeriesModel(file: String) throws {
        let model = TestPaths.fixture("keras/recurrent_series/\(file)").path
        let dir = try TestPaths.temporaryDirectory("keras-sequence-maximize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("series.png").path, npy = dir.appendingPathComponent("series.npy").path
        let log = dir.appendingPathComponent("trace.json").path
        for (layer, channel) in [("gru_v1", 0), ("rnn_back", 4), ("td", 4), ("lstm_state", 3), ("bi_mul", 0)] {
            let target = "layer:\(layer):\(channel)"
            let r = try CLI.run(["maximize", model, "--target", target, "--learning-rate", "1", "--steps", "60", "--output", png, "--log", log])
            try #require(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("preset: keras-example"), "\(r.stderr)")
            #expect(r.stdout.contains("\(target) (value '\(layer)', channel axis 2, border 2)"), "\(r.stdout)")
            #expect(r.stdout.contains("wrote \(png) (a plot of 1 signal) and \(npy) [1,9,3]"), "\(r.stdout)")
            let trace = try Self.trace(log)
            let first = try #require(trace.objectives.first?.first), final = try #require(trace.finalObjective.first)
            #expect(final > first + 0.03, "\(target): \(first) → \(final)")
            let values = try NumPy.read(path: npy)
            #expect(values.shape == [1, 9, 3] && values.floats().allSatisfy(\.isFinite))
            let image = try PNG.read(path: png)
            #expect(image.width == 512 && image.pixels.count(where: { $0 < 150 }) > 300, "\(target): no curve drawn")
        }
    }

    /// The text classifier (Embedding with mask_zero, Bidirectional LSTM and GRU, Dense) through its
    /// embedding: started from Keras's own embedding of the fixture's sentences and 0 steps, the
    /// objectives are Keras's logits and the nearest tokens are the sentences; optimized, a unit of
    /// the Bidirectional LSTM and a logit rise, with the tokens (and so the padding mask) held fixed.
    @Test(arguments: ["model.keras", "model.h5"])
    func textModelThroughItsEmbedding(file: String) throws {
        let fixture = TestPaths.fixture("keras/text_bilstm")
        let model = fixture.appendingPathComponent(file).path
        let tokensFile = fixture.appendingPathComponent("inputs_0.npy").path
        let dir = try TestPaths.temporaryDirectory("keras-text-maximize")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokens = try NumPy.read(path: tokensFile), logits = try NumPy.read(path: fixture.appendingPathComponent("outputs_0.npy").path)
        let npy = dir.appendingPathComponent("embedding.npy").path, log = dir.appendingPathComponent("trace.json").path

        let start = try CLI.run(["maximize", model, "--wrt", "embedding", "--input", "tokens=\(tokensFile)",
                                 "--init", fixture.appendingPathComponent("embedding_output.npy").path,
                                 "--target", "logit:1", "--target", "logit:3", "--steps", "0", "--output", npy, "--log", log])
        try #require(start.status == 0, "\(start.stderr)")
        let at = try Self.trace(log).finalObjective
        let l = logits.floats()
        expectClose(at.map(Float.init), [l[1], l[4 + 3]], scaledTolerance: 1e-4, "the objectives at Keras's embedding are Keras's logits")
        let sentences = tokens.int64s().map(Int.init)
        for (k, target) in ["logit:1", "logit:3"].enumerated() {
            let expected = sentences[(k * 10)..<((k + 1) * 10)].map(String.init).joined(separator: " ")
            #expect(start.stdout.contains("\(target): nearest tokens \(expected)\n"), "\(start.stdout)")
        }

        let r = try CLI.run(["maximize", model, "--wrt", "embedding", "--input", "tokens=\(tokensFile)",
                             "--target", "layer:bilstm:0", "--target", "logit:1", "--output", npy, "--log", log])
        try #require(r.status == 0, "\(r.stderr)")
        let trace = try Self.trace(log)
        let first = try #require(trace.objectives.first)
        for k in 0..<2 { #expect(trace.finalObjective[k] > first[k] + 0.1, "target \(k): \(first[k]) → \(trace.finalObjective[k])") }
        #expect(try NumPy.read(path: npy).shape == [2, 10, 8])
        #expect(try NumPy.read(path: tokensFile).bitwiseEqual(tokens), "the tokens file is untouched")
    }

    /// The refusals are one line: tokens not given (the mask still reads them), a batch that does
    /// not match the targets', a name that is no value.
    @Test func embeddingRefusals() throws {
        let fixture = TestPaths.fixture("keras/text_bilstm")
        let model = fixture.appendingPathComponent("model.keras").path
        let missing = try CLI.run(["maximize", model, "--wrt", "embedding", "--target", "logit:1"])
        #expect(missing.status == 65 && missing.stderr.contains("input 'tokens'") && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        let dir = try TestPaths.temporaryDirectory("keras-text-refusals")
        defer { try? FileManager.default.removeItem(at: dir) }
        let one = dir.appendingPathComponent("one.npy").path
        let tokens = try NumPy.read(path: fixture.appendingPathComponent("inputs_0.npy").path)
        try NumPy.write(Tensor(shape: [1, 10], scalars: Array(tokens.int64s().prefix(10)).map(Int32.init)), to: one)
        let batch = try CLI.run(["maximize", model, "--wrt", "embedding", "--input", "tokens=\(one)", "--target", "logit:1", "--target", "logit:2"])
        #expect(batch.status == 65 && batch.stderr.contains("holds a batch of 1") && batch.stderr.contains("--batch-size 1")
                && batch.stderr.split(separator: "\n").count == 1, "\(batch.stderr)")
        let unknown = try CLI.run(["maximize", model, "--wrt", "bilstmm", "--input", "tokens=\(one)", "--target", "logit:1"])
        #expect(unknown.status == 65 && unknown.stderr.contains("no input or value 'bilstmm'") && unknown.stderr.contains("'bilstm'"), "\(unknown.stderr)")
    }
}
