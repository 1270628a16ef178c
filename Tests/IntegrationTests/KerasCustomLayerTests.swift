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
        DigitsModelTests.expectClose(try #require(out[graph.outputs[0].name]), try NumPy.read(path: Self.path("outputs_0.npy")), file)
    }
}

/// ReLU with every argument and an adapted Normalization layer, against Keras.
@Suite struct KerasLayerOptionTests {
    @Test(arguments: ["extras.h5", "extras.keras"])
    func matchKeras(file: String) throws {
        let graph = try KerasImporter.load(path: KerasCustomLayerTests.path(file))
        #expect(graph.unsupportedNodes.isEmpty)
        let out = try Session(graph: graph).run(["x": try NumPy.read(path: KerasCustomLayerTests.path("extras_inputs_0.npy"))])
        DigitsModelTests.expectClose(try #require(out[graph.outputs[0].name]),
                                     try NumPy.read(path: KerasCustomLayerTests.path("extras_outputs_0.npy")), file)
    }
}
