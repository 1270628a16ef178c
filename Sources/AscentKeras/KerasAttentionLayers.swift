import AscentIR

/// Attention layers (`MultiHeadAttention`, `Attention`, `AdditiveAttention`), the
/// normalizations `GroupNormalization` and `UnitNormalization`, `Dot`, and the image
/// preprocessing layers as they run at inference (`CenterCrop`; the random augmentations are
/// identities there).
extension KerasLayers {
    /// Helpers shared by these converters: one node with the layer's name, output `suffix`.
    private static func op(_ b: inout GraphBuilder, _ call: LayerCall, _ op: String, _ inputs: [String], _ suffix: String,
                           _ attributes: [String: Attribute] = [:]) throws -> String {
        try b.node(op, name: call.name, inputs: inputs, output: suffix.isEmpty ? call.outputName : call.outputName + "/" + suffix,
                   attributes: attributes)
    }

    private static func scalar(_ b: inout GraphBuilder, _ call: LayerCall, _ label: String, _ v: Float) -> String {
        b.constant("\(call.name)/\(label)", Tensor(scalar: v))
    }

    /// `x · min(1/√Σx², 1e12)` over `axis` (Keras's `ops.normalize` with order 2).
    static func l2Normalized(_ b: inout GraphBuilder, _ call: LayerCall, _ x: String, axes: [Int], _ label: String) throws -> String {
        let squares = try op(&b, call, "Mul", [x, x], label + "/squares")
        let sum = try op(&b, call, "ReduceSum", [squares], label + "/sum", ["axes": .ints(axes), "keepdims": .int(1)])
        let inverse = try op(&b, call, "Reciprocal", [try op(&b, call, "Sqrt", [sum], label + "/norm")], label + "/inverse")
        let capped = try op(&b, call, "Min", [inverse, scalar(&b, call, "max_inverse_norm", 1e12)], label + "/capped")
        return try op(&b, call, "Mul", [x, capped], label)
    }

    static let unitNormalization: LayerConverter = { call, b in
        let axes = call.config["axis"].int.map { [$0] } ?? call.config["axis"].array?.compactMap(\.int) ?? [-1]
        let y = try l2Normalized(&b, call, try call.input(), axes: axes, "normalized")
        return [try op(&b, call, "Identity", [y], "")]
    }

    /// `Dot(axes, normalize)` of two rank-2 or rank-3 values (batch dimension first).
    static let dot: LayerConverter = { call, b in
        guard call.inputs.count == 2 else { throw call.error("expects 2 inputs, got \(call.inputs.count)") }
        guard let ra = b.type(call.inputs[0])?.shape?.rank, let rb = b.type(call.inputs[1])?.shape?.rank, ra == rb,
              ra == 2 || ra == 3 else { throw call.error("only two rank-2 or two rank-3 inputs are supported") }
        guard let given = call.config["axes"].ints(count: 2) else { throw call.error("bad axes") }
        let axes = given.map { $0 < 0 ? $0 + ra : $0 }
        var (x, y) = (call.inputs[0], call.inputs[1])
        if call.config["normalize"].bool == true {
            x = try l2Normalized(&b, call, x, axes: [axes[0]], "x_normalized")
            y = try l2Normalized(&b, call, y, axes: [axes[1]], "y_normalized")
        }
        if ra == 2 {
            let product = try op(&b, call, "Mul", [x, y], "product")
            return [try op(&b, call, "ReduceSum", [product], "", ["axes": .ints([1]), "keepdims": .int(1)])]
        }
        // [N, a, b]: contract x's axis axes[0] with y's axes[1]; the result's free axes in order.
        let left = axes[0] == 2 ? x : try op(&b, call, "Transpose", [x], "x_moved", ["perm": .ints([0, 2, 1])])
        let right = axes[1] == 1 ? y : try op(&b, call, "Transpose", [y], "y_moved", ["perm": .ints([0, 2, 1])])
        return [try op(&b, call, "MatMul", [left, right], "")]
    }

    /// `CenterCrop(height, width)` of a larger image: the centre window (Keras: offset (H − h) / 2,
    /// rounded down). A smaller input (which Keras resizes) is refused.
    static let centerCrop: LayerConverter = { call, b in
        let x = try call.input()
        guard let h = call.config["height"].int, let w = call.config["width"].int else { throw call.error("config has no height/width") }
        guard let dims = b.type(x)?.shape?.dims, dims.count == 4 else { throw call.error("expects an image batch") }
        let (hAxis, wAxis) = call.channelsFirst ? (2, 3) : (1, 2)
        guard let H = dims[hAxis].value, let W = dims[wAxis].value else { throw call.error("input height and width must be known") }
        guard H >= h, W >= w else { throw call.error("input \(H)×\(W) is smaller than the crop \(h)×\(w) (Keras resizes it; not supported)") }
        let top = (H - h) / 2, left = (W - w) / 2
        return [try op(&b, call, "Slice", [
            x, b.constant("\(call.name)/starts", Tensor(shape: [2], scalars: [Int64(top), Int64(left)])),
            b.constant("\(call.name)/ends", Tensor(shape: [2], scalars: [Int64(top + h), Int64(left + w)])),
            b.constant("\(call.name)/axes", Tensor(shape: [2], scalars: [Int64(hAxis), Int64(wAxis)])),
        ], "")]
    }

    /// `GroupNormalization(groups, axis -1, epsilon)`: the channels split in `groups`, each group
    /// normalized over its channels and every non-batch axis, then `gamma`, `beta` per channel.
    static let groupNormalization: LayerConverter = { call, b in
        let x = try call.input()
        guard let dims = b.type(x)?.shape?.dims, dims.count >= 3, dims.dropFirst().allSatisfy({ $0.value != nil }) else {
            throw call.error("input sizes (beyond the batch) must be known")
        }
        let rank = dims.count
        let axis = (call.config["axis"].int ?? -1) < 0 ? (call.config["axis"].int ?? -1) + rank : call.config["axis"].int!
        guard axis == rank - 1 else { throw call.error("only axis -1 (channels last) is supported") }
        let channels = dims[axis].value!, groups = call.config["groups"].int ?? 32
        guard groups > 0, channels % groups == 0 else { throw call.error("\(channels) channels do not split in \(groups) groups") }
        let inner = dims.dropFirst().dropLast().map { $0.value! }.reduce(1, *)
        let grouped = try op(&b, call, "Reshape", [x, b.constant("\(call.name)/grouped_shape",
            Tensor(shape: [4], scalars: [Int64(-1), Int64(inner), Int64(groups), Int64(channels / groups)]))], "grouped")
        let reduce: [String: Attribute] = ["axes": .ints([1, 3]), "keepdims": .int(1)]
        let mean = try op(&b, call, "ReduceMean", [grouped], "mean", reduce)
        let centered = try op(&b, call, "Sub", [grouped, mean], "centered")
        let variance = try op(&b, call, "ReduceMean", [try op(&b, call, "Mul", [centered, centered], "squares")], "variance", reduce)
        let epsilon = scalar(&b, call, "epsilon", Float(call.config["epsilon"].double ?? 1e-3))
        let std = try op(&b, call, "Sqrt", [try op(&b, call, "Add", [variance, epsilon], "variance_eps")], "std")
        let normalized = try op(&b, call, "Div", [centered, std], "normalized_groups")
        var y = try op(&b, call, "Reshape", [normalized, b.constant("\(call.name)/shape",
            Tensor(shape: [rank], scalars: [Int64(-1)] + dims.dropFirst().map { Int64($0.value!) }))], "normalized")
        var index = 0
        if call.config["scale"].bool != false {
            y = try op(&b, call, "Mul", [y, b.constant("\(call.name)/gamma", try call.weight(index, "gamma", shape: [channels]))], "scaled")
            index += 1
        }
        if call.config["center"].bool != false {
            y = try op(&b, call, "Add", [y, b.constant("\(call.name)/beta", try call.weight(index, "beta", shape: [channels]))], "centered_out")
        }
        return [try op(&b, call, "Identity", [y], "")]
    }

    /// The query, value and key of an attention call: positional `[query, value, key?]`, or keywords.
    private static func attentionOperands(_ call: LayerCall) throws -> (String, String, String) {
        let positional = call.inputs
        let query = positional.first ?? call.keywordInputs["query"]?.first
        let value = positional.count > 1 ? positional[1] : call.keywordInputs["value"]?.first
        guard let query, let value else { throw call.error("expects a query and a value") }
        let key = positional.count > 2 ? positional[2] : call.keywordInputs["key"]?.first ?? value
        if call.keywordInputs.keys.contains(where: { $0.hasSuffix("mask") }) {
            throw call.error("attention masks are not supported")
        }
        for flag in ["use_causal_mask", "return_attention_scores"] where call.keywordArguments[flag].bool == true {
            throw call.error("\(flag)=True is not supported")
        }
        return (query, value, key)
    }

    /// `softmax(scores) · value` over the last axis of the scores.
    private static func attend(_ b: inout GraphBuilder, _ call: LayerCall, scores: String, value: String, output: String) throws -> String {
        let weights = try op(&b, call, "Softmax", [scores], "weights", ["axis": .int(-1)])
        return try op(&b, call, "MatMul", [weights, value], output)
    }

    /// Luong-style `Attention(use_scale, score_mode)`: dot scores `q·kᵀ` (times the `scale` weight),
    /// or "concat" scores `concat_score_weight · Σ tanh(scale · (q + k))`.
    static let attention: LayerConverter = { call, b in
        let (q, v, k) = try attentionOperands(call)
        let useScale = call.config["use_scale"].bool == true
        let scale = useScale ? try call.weight(0, "scale") : nil
        let scores: String
        if (call.config["score_mode"].string ?? "dot") == "dot" {
            let kt = try op(&b, call, "Transpose", [k], "key_t", ["perm": .ints([0, 2, 1])])
            let raw = try op(&b, call, "MatMul", [q, kt], useScale ? "raw_scores" : "scores")
            scores = useScale ? try op(&b, call, "Mul", [raw, b.constant("\(call.name)/scale", scale!)], "scores") : raw
        } else {
            var sum = try op(&b, call, "Add", [try op(&b, call, "Unsqueeze", [q], "q4", ["axes": .ints([2])]),
                                               try op(&b, call, "Unsqueeze", [k], "k4", ["axes": .ints([1])])], "sum")
            if useScale { sum = try op(&b, call, "Mul", [sum, b.constant("\(call.name)/scale", scale!)], "scaled_sum") }
            let reduced = try op(&b, call, "ReduceSum", [try op(&b, call, "Tanh", [sum], "tanh")], "tanh_sum",
                                 ["axes": .ints([-1]), "keepdims": .int(0)])
            let weight = try call.weight(useScale ? 1 : 0, "concat_score_weight")
            scores = try op(&b, call, "Mul", [reduced, b.constant("\(call.name)/concat_score_weight", weight)], "scores")
        }
        return [try attend(&b, call, scores: scores, value: v, output: "")]
    }

    /// Bahdanau-style `AdditiveAttention(use_scale)`: scores `Σ scale · tanh(q + k)` over the features.
    static let additiveAttention: LayerConverter = { call, b in
        let (q, v, k) = try attentionOperands(call)
        var t = try op(&b, call, "Tanh", [try op(&b, call, "Add", [try op(&b, call, "Unsqueeze", [q], "q4", ["axes": .ints([2])]),
                                                                   try op(&b, call, "Unsqueeze", [k], "k4", ["axes": .ints([1])])], "sum")], "tanh")
        if call.config["use_scale"].bool != false {
            t = try op(&b, call, "Mul", [t, b.constant("\(call.name)/scale", try call.weight(0, "scale"))], "scaled")
        }
        let scores = try op(&b, call, "ReduceSum", [t], "scores", ["axes": .ints([-1]), "keepdims": .int(0)])
        return [try attend(&b, call, scores: scores, value: v, output: "")]
    }

    /// `MultiHeadAttention(num_heads, key_dim, value_dim, output_shape)` over the last axis
    /// (`attention_axes` None), no mask: per head `softmax(q·kᵀ / √key_dim) · v`, its
    /// `EinsumDense` projections as matrix products (weights: query, key, value, output, each
    /// kernel then bias).
    static let multiHeadAttention: LayerConverter = { call, b in
        let (query, value, key) = try attentionOperands(call)
        // Keras saves the resolved axes: [1] for [batch, time, features] inputs.
        let axes = call.config["attention_axes"]
        guard axes.isNull || axes.array?.compactMap(\.int) == [1], b.type(query)?.shape?.rank == 3 else {
            throw call.error("only [batch, time, features] inputs attending over time are supported (attention_axes \(axes.jsonText))")
        }
        if call.config["use_gate"].bool == true { throw call.error("use_gate is not supported") }
        if !call.config["sliding_window"].isNull { throw call.error("sliding_window is not supported") }
        guard let heads = call.config["num_heads"].int, let keyDim = call.config["key_dim"].int else {
            throw call.error("config has no num_heads/key_dim")
        }
        let valueDim = call.config["value_dim"].int ?? keyDim
        let bias = call.config["use_bias"].bool != false
        var index = 0
        func next(_ what: String) throws -> Tensor {
            defer { index += 1 }
            return try call.weight(index, what)
        }
        /// x [N, T, d] · kernel [d, H, D] (+ bias [H, D]) → [N, H, T, D].
        func project(_ x: String, _ label: String, _ depth: Int) throws -> String {
            let kernel = try next("\(label)/kernel")
            guard kernel.shape.count == 3, kernel.shape[1] == heads, kernel.shape[2] == depth else {
                throw call.error("weight '\(label)/kernel' has shape \(Shape(kernel.shape)), expected [?,\(heads),\(depth)]")
            }
            var y = try op(&b, call, "MatMul", [x, b.constant("\(call.name)/\(label)/kernel", try kernel.reshaped([kernel.shape[0], heads * depth]))],
                           label + "/matmul")
            if bias {
                y = try op(&b, call, "Add", [y, b.constant("\(call.name)/\(label)/bias", try next("\(label)/bias").reshaped([heads * depth]))],
                           label + "/biased")
            }
            let split = try op(&b, call, "Reshape", [y, b.constant("\(call.name)/\(label)/heads",
                Tensor(shape: [4], scalars: [Int64(0), Int64(0), Int64(heads), Int64(depth)]))], label + "/heads")
            return try op(&b, call, "Transpose", [split], label, ["perm": .ints([0, 2, 1, 3])])
        }
        let q = try project(query, "query", keyDim), k = try project(key, "key", keyDim), v = try project(value, "value", valueDim)
        let scaledQ = try op(&b, call, "Mul", [q, scalar(&b, call, "inverse_sqrt_key_dim", Float(1 / Double(keyDim).squareRoot()))], "query_scaled")
        let scores = try op(&b, call, "MatMul", [scaledQ, try op(&b, call, "Transpose", [k], "key_t", ["perm": .ints([0, 1, 3, 2])])], "scores")
        let context = try attend(&b, call, scores: scores, value: v, output: "context")
        let merged = try op(&b, call, "Reshape", [try op(&b, call, "Transpose", [context], "context_t", ["perm": .ints([0, 2, 1, 3])]),
                                                  b.constant("\(call.name)/merge", Tensor(shape: [3], scalars: [Int64(0), Int64(0), Int64(heads * valueDim)]))],
                            "merged")
        let outKernel = try next("attention_output/kernel")
        guard outKernel.shape.count >= 3, outKernel.shape[0] == heads, outKernel.shape[1] == valueDim else {
            throw call.error("weight 'attention_output/kernel' has shape \(Shape(outKernel.shape)), expected [\(heads),\(valueDim),...]")
        }
        let outDims = Array(outKernel.shape.dropFirst(2))
        let outSize = outDims.reduce(1, *)
        var y = try op(&b, call, "MatMul", [merged, b.constant("\(call.name)/attention_output/kernel",
                                                               try outKernel.reshaped([heads * valueDim, outSize]))], bias ? "output_matmul" : "output")
        if bias {
            y = try op(&b, call, "Add", [y, b.constant("\(call.name)/attention_output/bias", try next("attention_output/bias").reshaped([outSize]))],
                       "output")
        }
        return [try op(&b, call, "Identity", [y], "")]
    }
}

extension KerasLayers {
    /// `Resizing(height, width, interpolation)` as TensorFlow's `tf.image.resize` without
    /// antialiasing: `bilinear` is ONNX's linear mode with half-pixel centres, `nearest` picks
    /// `floor((x + 0.5) / scale)` (half-pixel, ties up). Cropping or padding to the aspect ratio is refused.
    static let resizing: LayerConverter = { call, b in
        let x = try call.input()
        guard let h = call.config["height"].int, let w = call.config["width"].int else { throw call.error("config has no height/width") }
        for flag in ["crop_to_aspect_ratio", "pad_to_aspect_ratio"] where call.config[flag].bool == true {
            throw call.error("\(flag)=True is not supported")
        }
        if call.config["antialias"].bool == true { throw call.error("antialias=True is not supported") }
        var attributes: [String: Attribute] = [:]
        switch call.config["interpolation"].string ?? "bilinear" {
        case "bilinear":
            attributes["mode"] = .string("linear")
            attributes["coordinate_transformation_mode"] = .string("half_pixel")
        case "nearest":
            attributes["mode"] = .string("nearest")
            // TensorFlow's floor((x + 0.5) / scale): half_pixel's (x + 0.5) / scale − 0.5, ties rounded up.
            attributes["coordinate_transformation_mode"] = .string("half_pixel")
            attributes["nearest_mode"] = .string("round_prefer_ceil")
        case let other: throw call.error("interpolation '\(other)' is not supported (bilinear, nearest)")
        }
        // Sizes for every axis (no `axes` attribute, so it exports below opset 18): the batch and
        // channel sizes from the input's shape around the new height and width.
        let shape = try b.node("Shape", name: call.name, inputs: [x], output: call.outputName + "/shape")
        func part(_ start: Int, _ end: Int) throws -> String {
            try b.node("Slice", name: call.name, inputs: [
                shape, b.constant("\(call.name)/from\(start)", Tensor(shape: [1], scalars: [Int64(start)])),
                b.constant("\(call.name)/to\(end)", Tensor(shape: [1], scalars: [Int64(end)])),
            ], output: call.outputName + "/shape\(start)")
        }
        let hw = b.constant("\(call.name)/size", Tensor(shape: [2], scalars: [Int64(h), Int64(w)]))
        let pieces = call.channelsFirst ? [try part(0, 2), hw] : [try part(0, 1), hw, try part(3, 4)]
        let sizes = try b.node("Concat", name: call.name, inputs: pieces, output: call.outputName + "/sizes", attributes: ["axis": .int(0)])
        return [try b.node("Resize", name: call.name, inputs: [x, "", "", sizes], output: call.outputName, attributes: attributes)]
    }
}
