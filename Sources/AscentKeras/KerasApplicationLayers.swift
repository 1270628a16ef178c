import AscentIR

/// Layer classes that keras.applications defines for its own architectures.
extension KerasLayers {
    /// InceptionResNetV2's `CustomScaleLayer(scale)`: `inputs[0] + inputs[1] · scale`.
    static let customScale: LayerConverter = { call, b in
        guard call.inputs.count == 2 else { throw call.error("expects 2 inputs, got \(call.inputs.count)") }
        guard let scale = call.config["scale"].double else { throw call.error("config has no 'scale'") }
        let scaled = try b.node("Mul", name: call.name, inputs: [
            call.inputs[1], b.constant("\(call.name)/scale", Tensor(scalar: Float(scale))),
        ], output: call.outputName + "/scaled")
        return [try b.node("Add", name: call.name, inputs: [call.inputs[0], scaled], output: call.outputName)]
    }

    /// ConvNeXt's `LayerScale(init_values, projection_dim)`: `x · gamma`, gamma of
    /// `projection_dim` values along the last axis.
    static let layerScale: LayerConverter = { call, b in
        let gamma = try call.weight(0, "gamma", shape: [call.config["projection_dim"].int])
        return [try b.node("Mul", name: call.name, inputs: [try call.input(), b.constant("\(call.name)/gamma", gamma)],
                           output: call.outputName)]
    }
}
