import AscentIR
import AscentKeras
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// The tf-keras (Keras 2) recurrent models of `Fixtures/keras2-recurrent` (written by
/// Tools/fixtures/keras2_recurrent.py with tf-keras 2.21 as legacy `.h5`: LSTM, GRU with
/// reset_after true and false, SimpleRNN with go_backwards and return_state, Bidirectional with
/// every merge mode, Embedding(mask_zero)/Masking before recurrent layers, TimeDistributed(Dense),
/// and the legacy CuDNNLSTM/CuDNNGRU), imported and run by Ascent and compared with tf-keras's
/// outputs: max |ours − Keras| ≤ 1e-4 × max(1, max |Keras|), and Keras's `count_params()`.
@Suite struct Keras2RecurrentTests {
    static let models = TestPaths.list("keras2-recurrent")

    @Test func everyModelIsThere() {
        #expect(Self.models.sorted() == ["bidirectional", "cudnn", "lstm_gru", "masked", "simple_rnn", "time_distributed"])
    }

    @Test(arguments: models)
    func matchesTFKeras(_ model: String) throws {
        let dir = TestPaths.fixture("keras2-recurrent/\(model)")
        let data = try Data(contentsOf: dir.appendingPathComponent("meta.json"))
        let meta = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let graph = try KerasImporter.load(path: dir.appendingPathComponent("model.h5").path)
        #expect(graph.metadata["keras_version"]?.hasPrefix("2.") == true, "written by tf-keras: \(graph.metadata)")
        #expect(graph.parameterCount == meta["count_params"] as? Int, "parameters")
        let inputs = try #require(meta["inputs"] as? [[String: Any]])
        try #require(graph.inputs.count == inputs.count)
        var feeds: [String: Tensor] = [:]
        for (i, input) in graph.inputs.enumerated() {
            #expect(input.name == inputs[i]["name"] as? String)
            feeds[input.name] = try NumPy.read(path: dir.appendingPathComponent("inputs_\(i).npy").path)
        }
        let out = try Session(graph: graph).run(feeds)
        let outputs = try #require(meta["outputs"] as? [[String: Any]])
        try #require(graph.outputs.count == outputs.count)
        for (j, output) in graph.outputs.enumerated() {
            let reference = try NumPy.read(path: dir.appendingPathComponent("outputs_\(j).npy").path)
            expectClose(out[output.name], reference, scaledTolerance: DigitsModelTests.kerasTolerance, "\(model) output \(j) '\(output.name)'")
        }
    }
}
