import AscentIR

/// Converts one call of a Keras layer into IR nodes; returns the call's output values.
typealias LayerConverter = @Sendable (LayerCall, inout GraphBuilder) throws -> [String]

/// The registration table: Keras class name → converter. One line per layer class.
enum KerasLayers {
    static let table: [String: LayerConverter] = [
        "Dense": dense,
        "Conv1D": conv, "Conv2D": conv, "Conv3D": conv,
        "DepthwiseConv2D": depthwise,
        "Conv1DTranspose": convTranspose, "Conv2DTranspose": convTranspose,
        "SeparableConv2D": separable, "SeparableConv1D": separable,
        "MaxPooling1D": pool("MaxPool"), "MaxPooling2D": pool("MaxPool"), "MaxPool2D": pool("MaxPool"),
        "AveragePooling1D": pool("AveragePool"), "AveragePooling2D": pool("AveragePool"), "AvgPool2D": pool("AveragePool"),
        "GlobalAveragePooling1D": globalPool("GlobalAveragePool"), "GlobalAveragePooling2D": globalPool("GlobalAveragePool"),
        "GlobalMaxPooling1D": globalPool("GlobalMaxPool"), "GlobalMaxPooling2D": globalPool("GlobalMaxPool"),
        "BatchNormalization": batchNorm,
        "Activation": activation,
        "ReLU": relu, "LeakyReLU": leakyRelu, "ELU": elu, "Softmax": softmax, "PReLU": prelu,
        "Dropout": identity, "SpatialDropout1D": identity, "SpatialDropout2D": identity, "SpatialDropout3D": identity,
        "GaussianNoise": identity, "GaussianDropout": identity, "AlphaDropout": identity,
        "ActivityRegularization": identity,
        "Flatten": flatten, "Reshape": reshape, "Permute": permute,
        "Add": merge("Add"), "Subtract": merge("Sub"), "Multiply": merge("Mul"),
        "Maximum": merge("Max"), "Minimum": merge("Min"), "Average": merge("Mean"),
        "Concatenate": concatenate,
        "Rescaling": rescaling, "Normalization": normalization,
        "ZeroPadding1D": zeroPadding, "ZeroPadding2D": zeroPadding, "ZeroPadding3D": zeroPadding,
        "Cropping1D": cropping, "Cropping2D": cropping, "Cropping3D": cropping,
        "UpSampling1D": upSampling, "UpSampling2D": upSampling, "UpSampling3D": upSampling,
        "RepeatVector": repeatVector,
        "Embedding": embedding,
        "LayerNormalization": layerNorm,
        "CustomScaleLayer": customScale, "LayerScale": layerScale,
        "LSTM": recurrent(.lstm), "GRU": recurrent(.gru), "SimpleRNN": recurrent(.simple),
        "CuDNNLSTM": cudnn(.lstm), "CuDNNGRU": cudnn(.gru),
        "Bidirectional": bidirectional, "TimeDistributed": timeDistributed, "Masking": masking,
        "ConvLSTM1D": convLSTM, "ConvLSTM2D": convLSTM, "ConvLSTM3D": convLSTM,
        "MaxPooling3D": pool("MaxPool"), "MaxPool3D": pool("MaxPool"),
        "AveragePooling3D": pool("AveragePool"), "AvgPool3D": pool("AveragePool"),
        "GlobalAveragePooling3D": globalPool("GlobalAveragePool"), "GlobalMaxPooling3D": globalPool("GlobalMaxPool"),
        "UnitNormalization": unitNormalization, "GroupNormalization": groupNormalization, "Dot": dot,
        "Attention": attention, "AdditiveAttention": additiveAttention, "MultiHeadAttention": multiHeadAttention,
        "CenterCrop": centerCrop, "Resizing": resizing,
        // Random augmentations are identities at inference.
        "RandomFlip": identity, "RandomRotation": identity, "RandomZoom": identity, "RandomTranslation": identity,
        "RandomContrast": identity, "RandomBrightness": identity,
    ]

    // MARK: - Core layers

    static let dense: LayerConverter = { call, b in
        let x = try call.input()
        let units = try call.require("units").int ?? -1
        let kernel = try call.weight(0, "kernel", shape: [nil, units])
        var y = try b.node("MatMul", name: call.name, inputs: [x, b.constant("\(call.name)/kernel", kernel)],
                           output: call.config["use_bias"].bool == false ? call.coreOutputName : call.outputName + "/matmul")
        if call.config["use_bias"].bool != false {
            let bias = try call.weight(1, "bias", shape: [units])
            y = try b.node("Add", name: call.name, inputs: [y, b.constant("\(call.name)/bias", bias)], output: call.coreOutputName)
        }
        return [try KerasActivations.fused(call, core: y, builder: &b)]
    }

    static let identity: LayerConverter = { call, b in
        [try b.node("Identity", name: call.name, inputs: [try call.input()], output: call.outputName)]
    }

    static let activation: LayerConverter = { call, b in
        guard let name = KerasActivations.name(call.config["activation"]) else { throw call.error("config has no 'activation'") }
        let x = try call.input()
        if name == "linear" { return [try b.node("Identity", name: call.name, inputs: [x], output: call.outputName)] }
        return [try KerasActivations.apply(name, to: x, call: call, output: call.outputName, builder: &b)]
    }

    static let relu: LayerConverter = { call, b in
        let x = try call.input()
        let maxValue = call.config["max_value"].double
        let slope = call.config["negative_slope"].double ?? 0
        let threshold = call.config["threshold"].double ?? 0
        if maxValue == nil, slope == 0, threshold == 0 {
            return [try b.node("Relu", name: call.name, inputs: [x], output: call.outputName)]
        }
        if slope == 0, threshold == 0, let m = maxValue {
            let lo = b.constant("\(call.name)/min", Tensor(scalar: Float(0)))
            let hi = b.constant("\(call.name)/max", Tensor(scalar: Float(m)))
            return [try b.node("Clip", name: call.name, inputs: [x, lo, hi], output: call.outputName)]
        }
        // Keras: max_value where x ≥ max_value; x where threshold ≤ x; else negative_slope · (x − threshold).
        let t = b.constant("\(call.name)/threshold", Tensor(scalar: Float(threshold)))
        let below = try b.node("Mul", name: call.name, inputs: [
            try b.node("Sub", name: call.name, inputs: [x, t], output: call.outputName + "/shifted"),
            b.constant("\(call.name)/negative_slope", Tensor(scalar: Float(slope))),
        ], output: call.outputName + "/below")
        let mask = try b.node("GreaterOrEqual", name: call.name, inputs: [x, t], output: call.outputName + "/active")
        guard let m = maxValue else {
            return [try b.node("Where", name: call.name, inputs: [mask, x, below], output: call.outputName)]
        }
        let y = try b.node("Where", name: call.name, inputs: [mask, x, below], output: call.outputName + "/unclipped")
        return [try b.node("Min", name: call.name, inputs: [y, b.constant("\(call.name)/max", Tensor(scalar: Float(m)))],
                           output: call.outputName)]
    }

    /// Keras's `Normalization`: `(x − mean) / max(√variance, ε)` (ε = 1e-7), or with `invert`
    /// `mean + x · max(√variance, ε)`. The statistics are the layer's weights when it was adapted
    /// (`mean`, `variance`, `count`), or its config's `mean`/`variance` when it was built with
    /// them (keras.applications' EfficientNetV2 and ConvNeXt: no weights in the file). They are
    /// laid along the kept `axis` (default -1) and broadcast over the others.
    static let normalization: LayerConverter = { call, b in
        let x = try call.input()
        guard let rank = b.type(x)?.shape?.rank else { throw call.error("input rank unknown") }
        let axisJSON = call.config["axis"]
        let kept = (axisJSON.int.map { [$0] } ?? axisJSON.array?.compactMap(\.int) ?? []).map { $0 < 0 ? $0 + rank : $0 }.sorted()
        var mean: Tensor, variance: Tensor
        if call.weights.isEmpty, let m = KerasOperations.numbers(call.config["mean"]),
           let v = KerasOperations.numbers(call.config["variance"]) {
            mean = Tensor(shape: m.0, scalars: m.1.map(Float.init))
            variance = Tensor(shape: v.0, scalars: v.1.map(Float.init))
        } else {
            mean = try call.weight(0, "mean")
            variance = try call.weight(1, "variance")
        }
        guard mean.shape == variance.shape else { throw call.error("mean and variance differ in shape") }
        // Keras aligns the statistics' axes with the kept axes from the right.
        guard mean.shape.count <= kept.count else { throw call.error("mean has more axes than 'axis' keeps") }
        var broadcast = [Int](repeating: 1, count: rank)
        for (i, n) in mean.shape.reversed().enumerated() { broadcast[kept[kept.count - 1 - i]] = n }
        mean = try mean.reshaped(broadcast)
        let std = try Tensor(shape: variance.shape, scalars: variance.floats().map { max($0.squareRoot(), 1e-7) }).reshaped(broadcast)
        let meanValue = b.constant("\(call.name)/mean", mean), stdValue = b.constant("\(call.name)/std", std)
        if call.config["invert"].bool == true {
            let scaled = try b.node("Mul", name: call.name, inputs: [x, stdValue], output: call.outputName + "/scaled")
            return [try b.node("Add", name: call.name, inputs: [scaled, meanValue], output: call.outputName)]
        }
        let centered = try b.node("Sub", name: call.name, inputs: [x, meanValue], output: call.outputName + "/centered")
        return [try b.node("Div", name: call.name, inputs: [centered, stdValue], output: call.outputName)]
    }

    static let leakyRelu: LayerConverter = { call, b in
        // Keras 2: alpha (default 0.3); Keras 3: negative_slope (default 0.3).
        let alpha = call.config["negative_slope"].double ?? call.config["alpha"].double ?? 0.3
        return [try b.node("LeakyRelu", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: ["alpha": .float(alpha)])]
    }

    static let elu: LayerConverter = { call, b in
        [try b.node("Elu", name: call.name, inputs: [try call.input()], output: call.outputName,
                    attributes: ["alpha": .float(call.config["alpha"].double ?? 1)])]
    }

    static let softmax: LayerConverter = { call, b in
        let axis = call.config["axis"].int ?? call.config["axis"][0].int ?? -1
        return [try b.node("Softmax", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: ["axis": .int(axis)])]
    }

    static let prelu: LayerConverter = { call, b in
        let alpha = try call.weight(0, "alpha")
        return [try b.node("PRelu", name: call.name, inputs: [try call.input(), b.constant("\(call.name)/alpha", alpha)],
                           output: call.outputName)]
    }

    static let rescaling: LayerConverter = { call, b in
        let scale = try call.require("scale").double ?? 1
        let offset = call.config["offset"].double ?? 0
        var y = try b.node("Mul", name: call.name, inputs: [try call.input(), b.constant("\(call.name)/scale", Tensor(scalar: Float(scale)))],
                           output: offset == 0 ? call.outputName : call.outputName + "/scaled")
        if offset != 0 {
            y = try b.node("Add", name: call.name, inputs: [y, b.constant("\(call.name)/offset", Tensor(scalar: Float(offset)))],
                           output: call.outputName)
        }
        return [y]
    }

    // MARK: - Merging

    static func merge(_ op: String) -> LayerConverter {
        return { call, b in
            guard call.inputs.count >= 2 else { throw call.error("expects at least 2 inputs, got \(call.inputs.count)") }
            if op == "Sub" && call.inputs.count != 2 { throw call.error("Subtract expects exactly 2 inputs") }
            return [try b.node(op, name: call.name, inputs: call.inputs, output: call.outputName)]
        }
    }

    static let concatenate: LayerConverter = { call, b in
        let axis = call.config["axis"].int ?? -1
        return [try b.node("Concat", name: call.name, inputs: call.inputs, output: call.outputName,
                           attributes: ["axis": .int(axis)])]
    }

    // MARK: - Reshaping

    static let flatten: LayerConverter = { call, b in
        let x = try call.input()
        var input = x
        if call.channelsFirst, let rank = b.type(x)?.shape?.rank, rank > 2 {
            // Keras flattens channels_first data in its own (N, C, ...) order: nothing to move.
            input = x
        }
        return [try b.node("Flatten", name: call.name, inputs: [input], output: call.outputName,
                           attributes: ["axis": .int(1)])]
    }

    static let reshape: LayerConverter = { call, b in
        guard let target = call.config["target_shape"].array?.compactMap(\.int) else { throw call.error("config has no 'target_shape'") }
        let shape = b.constant("\(call.name)/shape", Tensor(shape: [target.count + 1], scalars: [Int64(0)] + target.map(Int64.init)))
        return [try b.node("Reshape", name: call.name, inputs: [try call.input(), shape], output: call.outputName)]
    }

    static let permute: LayerConverter = { call, b in
        guard let dims = call.config["dims"].array?.compactMap(\.int) else { throw call.error("config has no 'dims'") }
        return [try b.node("Transpose", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: ["perm": .ints([0] + dims)])]
    }
}
