import AscentIR

/// Keras activation names → IR ops. Used by the `Activation` layer and by the
/// `activation` argument fused into Dense, Conv and friends.
enum KerasActivations {
    /// Every activation name understood (for the README table and error messages).
    static let names = ["linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax", "log_softmax",
                        "softplus", "softsign", "elu", "selu", "swish", "silu", "gelu", "exponential",
                        "leaky_relu", "hard_swish", "hard_silu", "mish"]

    /// Applies activation `name` to `input`; returns the output value (the input itself for linear).
    static func apply(_ name: String, to input: String, call: LayerCall, output: String,
                      builder b: inout GraphBuilder) throws -> String {
        let node = call.name
        func unary(_ op: String, _ attrs: [String: Attribute] = [:]) throws -> String {
            try b.node(op, name: node, inputs: [input], output: output, attributes: attrs)
        }
        switch name {
        case "linear": return input
        case "relu": return try unary("Relu")
        case "relu6":
            let lo = b.constant("\(node)/min", Tensor(scalar: Float(0)))
            let hi = b.constant("\(node)/max", Tensor(scalar: Float(6)))
            return try b.node("Clip", name: node, inputs: [input, lo, hi], output: output)
        case "sigmoid": return try unary("Sigmoid")
        case "hard_sigmoid":
            // Keras 3: relu6(x + 3) / 6; Keras 2: clip(0.2 x + 0.5, 0, 1).
            let alpha = call.kerasMajor >= 3 ? 1.0 / 6.0 : 0.2
            return try unary("HardSigmoid", ["alpha": .float(alpha), "beta": .float(0.5)])
        case "tanh": return try unary("Tanh")
        case "softmax": return try unary("Softmax", ["axis": .int(-1)])
        case "log_softmax": return try unary("LogSoftmax", ["axis": .int(-1)])
        case "softplus": return try unary("Softplus")
        case "softsign": return try unary("Softsign")
        case "elu": return try unary("Elu", ["alpha": .float(1)])
        case "selu": return try unary("Selu")
        case "swish", "silu": return try unary("Swish", ["alpha": .float(1)])
        case "gelu": return try unary("Gelu", ["approximate": .string("none")])
        case "exponential": return try unary("Exp")
        case "leaky_relu": return try unary("LeakyRelu", ["alpha": .float(0.2)])
        case "hard_swish", "hard_silu": return try unary("HardSwish")
        case "mish": return try unary("Mish")
        default:
            throw call.error("activation '\(name)' is not supported")
        }
    }

    /// The activation name from a config value: a string, or a serialized object
    /// `{"class_name": "function", "config": "relu"}` / `{"module": ..., "config": {"name": ...}}`.
    static func name(_ v: JSONValue) -> String? {
        if v.isNull { return nil }
        if let s = v.string { return s }
        return v["config"].string ?? v["config"]["name"].string ?? v["class_name"].string
    }

    /// Applies the layer's fused `activation` (if any) to `core`, naming the result after the call.
    static func fused(_ call: LayerCall, core: String, builder b: inout GraphBuilder) throws -> String {
        guard let act = name(call.config["activation"]), act != "linear" else { return core }
        return try apply(act, to: core, call: call, output: call.outputName, builder: &b)
    }
}

extension LayerCall {
    /// The name for a layer's core op output: the layer's own name when no activation
    /// follows, else `<name>/preact` so the activation's output carries the layer name.
    var coreOutputName: String {
        guard let act = KerasActivations.name(config["activation"]), act != "linear" else { return outputName }
        return outputName + "/preact"
    }
}
