import AscentIR

/// One call of one Keras layer, as a converter sees it.
struct LayerCall {
    var layer: KerasLayerSpec
    /// IR values passed to this call, in order.
    var inputs: [String]
    /// The layer's weights in file order (trainable, then non-trainable).
    var weights: [Tensor]
    /// 0 for the first call site of a shared layer.
    var callIndex: Int
    /// The Keras major version that wrote the file (2 or 3); semantics differ in places.
    var kerasMajor: Int
    /// `outer/` for layers of a nested model (empty at the top level).
    var prefix: String = ""
    /// IR values passed as keyword arguments (`mask`, `initial_state`), by keyword.
    var keywordInputs: [String: [String]] = [:]
    /// The call's positional arguments as saved (Keras 3), constants included; `.null` in Keras 2.
    var arguments: JSONValue = .null
    /// The call's keyword arguments as saved (Keras 3: `{"mask": <tensor>, "use_causal_mask": true}`); `.null` in Keras 2.
    var keywordArguments: JSONValue = .null

    /// The layer's name in the graph: its Keras name, behind its nested models' names.
    var name: String { prefix + layer.name }
    var config: JSONValue { layer.config }

    /// The base name for this call's output value: the layer name, suffixed for later calls.
    var outputName: String { callIndex == 0 ? name : "\(name)_call\(callIndex)" }

    func error(_ message: String) -> AscentError {
        AscentError.invalid(message).within("layer '\(name)' (\(layer.className))")
    }

    /// The single input of a one-input layer.
    func input() throws -> String {
        guard inputs.count == 1 else { throw error("expects 1 input, got \(inputs.count)") }
        return inputs[0]
    }

    /// Weight `index`, checked against `shape` when given (nil entries match anything).
    func weight(_ index: Int, _ what: String, shape: [Int?]? = nil) throws -> Tensor {
        guard index < weights.count else {
            throw error("missing weight '\(what)' (the file has \(weights.count) weights for this layer)")
        }
        let t = weights[index]
        if let shape {
            let ok = t.shape.count == shape.count && zip(t.shape, shape).allSatisfy { $1 == nil || $0 == $1! }
            guard ok else {
                let expected = "[" + shape.map { $0.map(String.init) ?? "?" }.joined(separator: ",") + "]"
                throw error("weight '\(what)' has shape \(Shape(t.shape)), expected \(expected)")
            }
        }
        return t.dtype == .float32 ? t : t.converted(to: .float32)
    }

    /// A required config key.
    func require(_ key: String) throws -> JSONValue {
        let v = config[key]
        guard !v.isNull else { throw error("config has no '\(key)'") }
        return v
    }

    /// `channels_last` (default) or `channels_first`.
    var channelsFirst: Bool { config["data_format"].string == "channels_first" }
}
