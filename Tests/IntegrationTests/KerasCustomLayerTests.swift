import AscentIR
import AscentKeras
import AscentRuntime
import AscentTestSupport
import Testing

/// Custom layer classes and Lambda layers (Fixtures/keras-custom, written by
/// Tools/fixtures/keras_custom.py): reported as unsupported, and convertible by the caller.
@Suite struct KerasCustomLayerTests {
    static func path(_ file: String) -> String { TestPaths.fixture("keras-custom/\(file)").path }

    @Test(arguments: ["model.h5", "model.keras"])
    func customClassesImportAsUnsupportedAndRefuseToRun(file: String) throws {
        let graph = try KerasImporter.load(path: Self.path(file))
        // The legacy writer records the registered name, `package>Class`.
        let label = file.hasSuffix(".h5") ? "'scaled_tanh' (Ascent>ScaledTanh, Keras)" : "'scaled_tanh' (ScaledTanh, Keras)"
        #expect(graph.unsupportedNodes.map(\.label) == [label])
        do {
            _ = try Session(graph: graph)
            Issue.record("a graph with an unsupported layer must not run")
        } catch let e as AscentError {
            #expect(e.kind == .invalidData)
            #expect(e.description.contains(label), "\(e)")
        }
        let lambda = try KerasImporter.load(path: Self.path("lambda.h5"))
        #expect(lambda.unsupportedNodes.map(\.label) == ["'double' (Lambda, Keras)"])
    }

    /// A converter registered for the class (by its short name) makes the model run with Keras's numbers.
    @Test(arguments: ["model.h5", "model.keras"])
    func registeredConverterMatchesKeras(file: String) throws {
        let converters: [String: KerasLayerConverter] = ["ScaledTanh": { layer in
            #expect(layer.configJSON.contains("\"name\":\"scaled_tanh\""))
            let scale = layer.constant(try layer.weight(0), name: "scale")
            let t = try layer.add("Tanh", [layer.inputs[0]])
            return [try layer.add("Mul", [t, scale])]
        }]
        let graph = try KerasImporter.load(path: Self.path(file), customLayers: converters)
        #expect(graph.unsupportedNodes.isEmpty)
        let out = try Session(graph: graph).run(["x": try NumPy.read(path: Self.path("inputs_0.npy"))])
        expectClose(out[graph.outputs[0].name], try NumPy.read(path: Self.path("outputs_0.npy")), scaledTolerance: DigitsModelTests.kerasTolerance, file)
    }
}

/// ReLU with every argument, an adapted Normalization layer, Conv2DTranspose and a Sequential
/// model (also as weights + architecture JSON), against Keras.
@Suite struct KerasLayerOptionTests {
    @Test(arguments: ["extras.h5", "extras.keras", "transpose.h5", "transpose.keras", "sequential.h5", "sequential.keras"])
    func matchKeras(file: String) throws {
        let stem = file.split(separator: ".")[0]
        let graph = try KerasImporter.load(path: KerasCustomLayerTests.path(file))
        #expect(graph.unsupportedNodes.isEmpty)
        let out = try Session(graph: graph).run(["x": try NumPy.read(path: KerasCustomLayerTests.path("\(stem)_inputs_0.npy"))])
        expectClose(out[graph.outputs[0].name], try NumPy.read(path: KerasCustomLayerTests.path("\(stem)_outputs_0.npy")),
                    scaledTolerance: DigitsModelTests.kerasTolerance, file)
    }
}

extension KerasLayerOptionTests {
    @Test func sequentialWeightsOnlyWithConfig() throws {
        let graph = try KerasImporter.load(path: KerasCustomLayerTests.path("sequential.weights.h5"),
                                           configPath: KerasCustomLayerTests.path("sequential.json"))
        let out = try Session(graph: graph).run(["x": try NumPy.read(path: KerasCustomLayerTests.path("sequential_inputs_0.npy"))])
        expectClose(out[graph.outputs[0].name], try NumPy.read(path: KerasCustomLayerTests.path("sequential_outputs_0.npy")),
                    scaledTolerance: DigitsModelTests.kerasTolerance, "weights + json")
    }

    /// An architecture that does not fit the weights: exit 65, naming the file, layer and weight.
    @Test func wrongWeightShapeNamesTheLayer() throws {
        let dir = try TestPaths.temporaryDirectory()
        let json = try String(contentsOfFile: KerasCustomLayerTests.path("sequential.json"), encoding: .utf8)
        let bad = dir.appendingPathComponent("bad.json")
        try json.replacingOccurrences(of: "\"units\": 6", with: "\"units\": 5").write(to: bad, atomically: true, encoding: .utf8)
        let r = try CLI.run(["inspect", KerasCustomLayerTests.path("sequential.weights.h5"), "--config", bad.path])
        #expect(r.status == 65)
        #expect(r.stderr.contains("sequential.weights.h5: layer 's1' (Dense): weight 'kernel' has shape [8,6], expected [?,5]"), "\(r.stderr)")
    }
}
