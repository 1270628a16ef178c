import AscentIR

/// Keras 2 (tf-keras) masks. Keras 3 saves the masks of `Embedding(mask_zero=True)` and `Masking`
/// as op nodes passed to the layers as `mask` arguments; Keras 2 keeps them implicit: a layer's
/// output carries a mask Keras computes from the layer, and the next layers receive it. Followed
/// here for Keras 2 files: `Embedding(mask_zero=True)` and `Masking` make a `[batch, time]` mask,
/// recurrent layers and `Bidirectional` take it as their `mask` (and pass it on with
/// `return_sequences`), layers that keep the batch and time axes pass it on, merge layers combine
/// their inputs' masks with a logical and. A mask reaching a layer that Keras would apply it in
/// another way (masked pooling, attention) is refused by name.
enum KerasImplicitMasks {
    /// Layers that use a mask in ways not followed.
    static let refused: Set<String> = ["GlobalAveragePooling1D", "Attention", "AdditiveAttention", "MultiHeadAttention"]
    static let recurrent: Set<String> = ["LSTM", "GRU", "SimpleRNN", "Bidirectional"]

    /// The `mask` keyword for a call of `layer` on `inputs`, where one applies.
    static func keywords(_ layer: KerasLayerSpec, inputs: [String], masks: [String: String]) throws -> [String: [String]] {
        guard let mask = inputs.lazy.compactMap({ masks[$0] }).first else { return [:] }
        if refused.contains(layer.className) {
            throw AscentError.invalid("a Keras 2 mask reaches this layer, which applies it in a way Ascent does not follow")
                .within("layer '\(layer.name)' (\(layer.className))")
        }
        return recurrent.contains(layer.className) ? ["mask": [mask]] : [:]
    }

    /// Records the masks of `outputs` after a call of `layer` on `inputs`.
    static func propagate(_ layer: KerasLayerSpec, name: String, inputs: [String], outputs: [String],
                          masks: inout [String: String], builder b: inout GraphBuilder) throws {
        let config = layer.config
        switch layer.className {
        case "Embedding" where config["mask_zero"].bool == true:
            guard let x = inputs.first, let out = outputs.first, let t = b.type(x) else { return }
            let zero = b.constant("\(name)/mask_zero", Tensor(shape: [], scalars: [Int64(0)]).converted(to: t.dtype))
            let equal = try b.node("Equal", name: name, inputs: [x, zero], output: name + "/is_padding")
            masks[out] = try b.node("Not", name: name, inputs: [equal], output: name + "/mask")
        case "Masking":
            guard let x = inputs.first, let out = outputs.first else { return }
            let keep = try KerasLayers.maskingKeep(name: name, input: x, value: config["mask_value"].double ?? 0, builder: &b)
            masks[out] = try b.node("Squeeze", name: name, inputs: [keep], output: name + "/mask", attributes: ["axes": .ints([-1])])
        default:
            let given = inputs.compactMap { masks[$0] }
            guard !given.isEmpty else { return }
            if recurrent.contains(layer.className) {
                let wrapped = layer.className == "Bidirectional" ? config["layer"]["config"] : config
                guard wrapped["return_sequences"].bool == true else { return }
                let count = layer.className == "Bidirectional" && config.object?["merge_mode"] != nil && config["merge_mode"].isNull ? 2 : 1
                for o in outputs.prefix(count) { masks[o] = given[0] }
                return
            }
            // Every input's mask (an unmasked input counts as all true), combined.
            var mask = given[0]
            if inputs.count > 1, given.count > 1 {
                for (i, m) in given.dropFirst().enumerated() {
                    mask = try b.node("And", name: name, inputs: [mask, m], output: name + "/mask_\(i)")
                }
            }
            let types = b
            guard let leading = inputs.lazy.compactMap({ types.type($0)?.shape?.dims.prefix(2) }).first else { return }
            for o in outputs {
                guard let dims = b.type(o)?.shape?.dims, dims.count >= 3, dims.prefix(2) == leading else { continue }
                masks[o] = mask
            }
        }
    }
}
