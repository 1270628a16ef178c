import AscentIR

/// Convolution, pooling and normalization layers.
extension KerasLayers {
    /// Spatial rank from the class name: `Conv1D` → 1, `Conv2D` → 2, `Conv3D` → 3.
    static func spatialRank(_ className: String) -> Int {
        if className.contains("1D") { return 1 }
        if className.contains("3D") { return 3 }
        return 2
    }

    /// Window attributes shared by convolutions and pooling.
    static func windowAttributes(_ call: LayerCall, rank: Int, kernel: [Int], strides: [Int], dilations: [Int]) throws -> [String: Attribute] {
        var attrs: [String: Attribute] = [
            "data_format": .string(call.channelsFirst ? "NCHW" : "NHWC"),
            "kernel_shape": .ints(kernel), "strides": .ints(strides), "dilations": .ints(dilations),
        ]
        switch call.config["padding"].string ?? "valid" {
        case "valid": attrs["auto_pad"] = .string("VALID")
        case "same": attrs["auto_pad"] = .string("SAME_UPPER")  // TensorFlow: the extra pixel at the end
        case "causal" where rank == 1:
            attrs["pads"] = .ints([dilations[0] * (kernel[0] - 1), 0])
        case let other: throw call.error("padding '\(other)' is not supported")
        }
        return attrs
    }

    /// A `[k..., in, out]` Keras kernel in the layout the Conv node wants: unchanged for
    /// channels_last, `[out, in, k...]` for channels_first.
    static func kernelValue(_ call: LayerCall, _ kernel: Tensor, _ label: String, builder b: inout GraphBuilder) throws -> String {
        guard call.channelsFirst else { return b.constant("\(call.name)/\(label)", kernel) }
        let r = kernel.shape.count
        return b.constant("\(call.name)/\(label)", try kernel.transposed([r - 1, r - 2] + Array(0..<(r - 2))))
    }

    static let conv: LayerConverter = { call, b in
        let rank = spatialRank(call.layer.className)
        let x = try call.input()
        let filters = try call.require("filters").int ?? -1
        guard let k = call.config["kernel_size"].ints(count: rank), k.count == rank else { throw call.error("bad kernel_size") }
        let strides = call.config["strides"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let dilations = call.config["dilation_rate"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let groups = call.config["groups"].int ?? 1
        let kernel = try call.weight(0, "kernel", shape: k.map { $0 } + [nil, filters])
        var inputs = [x, try kernelValue(call, kernel, "kernel", builder: &b)]
        if call.config["use_bias"].bool != false {
            inputs.append(b.constant("\(call.name)/bias", try call.weight(1, "bias", shape: [filters])))
        }
        var attrs = try windowAttributes(call, rank: rank, kernel: k, strides: strides, dilations: dilations)
        attrs["group"] = .int(groups)
        let y = try b.node("Conv", name: call.name, inputs: inputs, output: call.coreOutputName, attributes: attrs)
        return [try KerasActivations.fused(call, core: y, builder: &b)]
    }

    /// Depthwise convolution as a grouped Conv with one group per input channel:
    /// the `[k..., in, multiplier]` kernel reshaped to `[k..., 1, in·multiplier]`
    /// (output channel `c·multiplier + m`, as TensorFlow orders them).
    static func depthwiseNode(_ call: LayerCall, input x: String, kernel: Tensor, bias: String?, output: String,
                              builder b: inout GraphBuilder) throws -> String {
        let rank = kernel.shape.count - 2
        let k = Array(kernel.shape[0..<rank])
        let channels = kernel.shape[rank], multiplier = kernel.shape[rank + 1]
        let grouped = try kernel.reshaped(k + [1, channels * multiplier])
        let strides = call.config["strides"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let dilations = call.config["dilation_rate"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        var attrs = try windowAttributes(call, rank: rank, kernel: k, strides: strides, dilations: dilations)
        attrs["group"] = .int(channels)
        var inputs = [x, try kernelValue(call, grouped, "depthwise_kernel", builder: &b)]
        if let bias { inputs.append(bias) }
        return try b.node("Conv", name: call.name, inputs: inputs, output: output, attributes: attrs)
    }

    static let depthwise: LayerConverter = { call, b in
        let rank = spatialRank(call.layer.className)
        guard let k = call.config["kernel_size"].ints(count: rank) else { throw call.error("bad kernel_size") }
        let multiplier = call.config["depth_multiplier"].int ?? 1
        let kernel = try call.weight(0, "depthwise_kernel", shape: k.map { $0 } + [nil, multiplier])
        var bias: String? = nil
        if call.config["use_bias"].bool != false {
            bias = b.constant("\(call.name)/bias", try call.weight(1, "bias", shape: [kernel.shape[rank] * multiplier]))
        }
        let y = try depthwiseNode(call, input: try call.input(), kernel: kernel, bias: bias, output: call.coreOutputName, builder: &b)
        return [try KerasActivations.fused(call, core: y, builder: &b)]
    }

    static let separable: LayerConverter = { call, b in
        let rank = spatialRank(call.layer.className)
        guard let k = call.config["kernel_size"].ints(count: rank) else { throw call.error("bad kernel_size") }
        let multiplier = call.config["depth_multiplier"].int ?? 1
        let filters = try call.require("filters").int ?? -1
        let depthKernel = try call.weight(0, "depthwise_kernel", shape: k.map { $0 } + [nil, multiplier])
        let mid = depthKernel.shape[rank] * multiplier
        let pointKernel = try call.weight(1, "pointwise_kernel", shape: Array(repeating: 1, count: rank) + [mid, filters])
        let depth = try depthwiseNode(call, input: try call.input(), kernel: depthKernel, bias: nil,
                                      output: call.outputName + "/depthwise", builder: &b)
        var inputs = [depth, try kernelValue(call, pointKernel, "pointwise_kernel", builder: &b)]
        if call.config["use_bias"].bool != false {
            inputs.append(b.constant("\(call.name)/bias", try call.weight(2, "bias", shape: [filters])))
        }
        let ones = Array(repeating: 1, count: rank)
        var attrs: [String: Attribute] = ["data_format": .string(call.channelsFirst ? "NCHW" : "NHWC"),
                                          "kernel_shape": .ints(ones), "strides": .ints(ones), "dilations": .ints(ones)]
        attrs["auto_pad"] = .string("VALID")
        let y = try b.node("Conv", name: call.name, inputs: inputs, output: call.coreOutputName, attributes: attrs)
        return [try KerasActivations.fused(call, core: y, builder: &b)]
    }

    static func pool(_ op: String) -> LayerConverter {
        return { call, b in
            let rank = spatialRank(call.layer.className)
            guard let size = (call.config["pool_size"].isNull ? JSONValue.number(2) : call.config["pool_size"]).ints(count: rank) else {
                throw call.error("bad pool_size")
            }
            let strides = call.config["strides"].ints(count: rank) ?? size
            var attrs = try windowAttributes(call, rank: rank, kernel: size, strides: strides, dilations: Array(repeating: 1, count: rank))
            attrs["dilations"] = nil
            if op == "AveragePool" { attrs["count_include_pad"] = .int(0) }  // TensorFlow averages real pixels only
            return [try b.node(op, name: call.name, inputs: [try call.input()], output: call.outputName, attributes: attrs)]
        }
    }

    static func globalPool(_ op: String) -> LayerConverter {
        return { call, b in
            let format = Attribute.string(call.channelsFirst ? "NCHW" : "NHWC")
            let keep = call.config["keepdims"].bool ?? false
            let pooled = try b.node(op, name: call.name, inputs: [try call.input()],
                                    output: keep ? call.outputName : call.outputName + "/pooled", attributes: ["data_format": format])
            if keep { return [pooled] }
            return [try b.node("Flatten", name: call.name, inputs: [pooled], output: call.outputName, attributes: ["axis": .int(1)])]
        }
    }

    static let batchNorm: LayerConverter = { call, b in
        let x = try call.input()
        let rank = b.type(x)?.shape?.rank
        var axis = call.config["axis"].int ?? call.config["axis"][0].int ?? -1
        if axis < 0, let rank { axis += rank }
        let scale = call.config["scale"].bool != false, center = call.config["center"].bool != false
        var index = 0
        func next(_ what: String) throws -> Tensor {
            defer { index += 1 }
            return try call.weight(index, what)
        }
        let gamma = scale ? try next("gamma") : nil
        let beta = center ? try next("beta") : nil
        let mean = try next("moving_mean"), variance = try next("moving_variance")
        let n = mean.count
        for (t, what) in [(gamma, "gamma"), (beta, "beta"), (variance, "moving_variance")] {
            if let t, t.count != n { throw call.error("weight '\(what)' has \(t.count) values, moving_mean has \(n)") }
        }
        let inputs = [
            x,
            b.constant("\(call.name)/gamma", gamma ?? Tensor(shape: [n], scalars: [Float](repeating: 1, count: n))),
            b.constant("\(call.name)/beta", beta ?? Tensor(shape: [n], scalars: [Float](repeating: 0, count: n))),
            b.constant("\(call.name)/moving_mean", mean),
            b.constant("\(call.name)/moving_variance", variance),
        ]
        return [try b.node("BatchNormalization", name: call.name, inputs: inputs, output: call.outputName, attributes: [
            "epsilon": .float(call.config["epsilon"].double ?? 1e-3), "axis": .int(axis),
        ])]
    }

    /// Conv2DTranspose / Conv1DTranspose as ONNX ConvTranspose (channels-first): the Keras
    /// `[k..., out, in]` kernel becomes `[in, out, k...]` once at import, channels-last values
    /// are transposed in and out. TensorFlow's "same" pads `max(k − s, 0)` in total, the extra
    /// pixel at the end, so the output is `input · stride`.
    static let convTranspose: LayerConverter = { call, b in
        let rank = spatialRank(call.layer.className)
        let x = try call.input()
        let filters = try call.require("filters").int ?? -1
        guard let k = call.config["kernel_size"].ints(count: rank) else { throw call.error("bad kernel_size") }
        let strides = call.config["strides"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let dilations = call.config["dilation_rate"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        if (call.config["groups"].int ?? 1) != 1 { throw call.error("groups > 1 is not supported for transposed convolutions") }
        let kernel = try call.weight(0, "kernel", shape: k.map { $0 } + [filters, nil])
        let onnxKernel = try kernel.transposed([rank + 1, rank] + Array(0..<rank))
        var pads = [Int](repeating: 0, count: 2 * rank)
        switch call.config["padding"].string ?? "valid" {
        case "valid": break
        case "same":
            for i in 0..<rank {
                let total = max(dilations[i] * (k[i] - 1) + 1 - strides[i], 0)
                pads[i] = total / 2
                pads[i + rank] = total - total / 2
            }
        case let other: throw call.error("padding '\(other)' is not supported")
        }
        var attrs: [String: Attribute] = ["kernel_shape": .ints(k), "strides": .ints(strides),
                                          "dilations": .ints(dilations), "pads": .ints(pads)]
        if let op = call.config["output_padding"].ints(count: rank) { attrs["output_padding"] = .ints(op) }
        let toFirst = Array([0, rank + 1]) + Array(1...rank), toLast = [0] + Array(2..<(rank + 2)) + [1]
        var input = x
        if !call.channelsFirst {
            input = try b.node("Transpose", name: call.name, inputs: [x], output: call.outputName + "/nchw", attributes: ["perm": .ints(toFirst)])
        }
        var inputs = [input, b.constant("\(call.name)/kernel", onnxKernel)]
        if call.config["use_bias"].bool != false {
            inputs.append(b.constant("\(call.name)/bias", try call.weight(1, "bias", shape: [filters])))
        }
        var y = try b.node("ConvTranspose", name: call.name, inputs: inputs,
                           output: call.channelsFirst ? call.coreOutputName : call.outputName + "/deconv", attributes: attrs)
        if !call.channelsFirst {
            y = try b.node("Transpose", name: call.name, inputs: [y], output: call.coreOutputName, attributes: ["perm": .ints(toLast)])
        }
        return [try KerasActivations.fused(call, core: y, builder: &b)]
    }
}
