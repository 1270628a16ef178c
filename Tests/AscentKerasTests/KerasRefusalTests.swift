import AscentIR
import AscentKeras
import AscentTestSupport
import Foundation
import Testing

/// What the Keras importer refuses, and how it says so: real Keras 3 configs
/// (`Fixtures/keras/<model>/model.json`) edited in one place, with the model's real weights.
@Suite struct KerasRefusalTests {
    /// `model.json` of a fixture with `edit` applied to the layer named `layer`; returns the
    /// weights file and the edited architecture's path.
    static func edited(_ model: String, layer: String, _ edit: (inout [String: Any]) -> Void) throws -> (weights: String, config: String, dir: URL) {
        let dir = TestPaths.fixture("keras/\(model)")
        var root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("model.json"))) as? [String: Any])
        var config = try #require(root["config"] as? [String: Any])
        var layers = try #require(config["layers"] as? [[String: Any]])
        let i = try #require(layers.firstIndex { $0["name"] as? String == layer })
        edit(&layers[i])
        config["layers"] = layers
        root["config"] = config
        let out = try TestPaths.temporaryDirectory("keras-refusal")
        let path = out.appendingPathComponent("model.json")
        try JSONSerialization.data(withJSONObject: root).write(to: path)
        return (dir.appendingPathComponent("model.weights.h5").path, path.path, out)
    }

    static func setKeyword(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        return { layer in
            var nodes = layer["inbound_nodes"] as! [[String: Any]]
            var kwargs = nodes[0]["kwargs"] as? [String: Any] ?? [:]
            kwargs[key] = value
            nodes[0]["kwargs"] = kwargs
            layer["inbound_nodes"] = nodes
        }
    }

    @Test(arguments: ["use_causal_mask", "return_attention_scores"])
    func attentionFlagsAreRefusedByName(_ flag: String) throws {
        let (weights, config, dir) = try Self.edited("attention_layers", layer: "mha", Self.setKeyword(flag, true))
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = try #require(throws: AscentError.self) { try KerasImporter.load(path: weights, configPath: config) }
        #expect("\(error)".contains("layer 'mha' (MultiHeadAttention): \(flag)=True is not supported"), "\(error)")
    }

    /// A Keras op node Ascent has no converter for imports as an unsupported node named
    /// `ops.<Class>`, and running refuses it in one line (exit 65).
    @Test func unknownOpNodeIsNamedAndRefused() throws {
        let (weights, config, dir) = try Self.edited("masked_lstm", layer: "any") { $0["class_name"] = "Cumsum" }
        defer { try? FileManager.default.removeItem(at: dir) }
        let graph = try KerasImporter.load(path: weights, configPath: config)
        #expect(graph.nodes.contains { $0.isUnsupported && $0.attributes["source_op"] == .string("ops.Cumsum") })
        let r = try CLI.run(["run", weights, "--config", config, "--input", "Fixtures/keras/masked_lstm/inputs_0.npy"])
        #expect(r.status == 65 && r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("ops.Cumsum"), "\(r.stderr)")
    }

    /// A Bidirectional over a non-recurrent layer is refused by name.
    @Test func bidirectionalOverADenseIsRefused() throws {
        let (weights, config, dir) = try Self.edited("text_bilstm", layer: "bilstm") { layer in
            var c = layer["config"] as! [String: Any]
            var inner = c["layer"] as! [String: Any]
            inner["class_name"] = "Dense"
            c["layer"] = inner
            layer["config"] = c
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = try #require(throws: AscentError.self) { try KerasImporter.load(path: weights, configPath: config) }
        #expect("\(error)".contains("layer 'bilstm' (Bidirectional): wrapping 'Dense' is not supported"), "\(error)")
    }
}
