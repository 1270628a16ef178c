import AscentIR

/// The lowering rules of the spatial, normalization and activation op families (the driver and the
/// generic rules are in ONNXExporterLowering.swift).
extension ONNXExportLowering {
    // MARK: Convolution and pooling

    /// Conv and pooling: `data_format` goes; channels-last becomes Transpose → ONNX op → Transpose
    /// (kernel transposed to `[out, in/group, k...]`); `SAME` padding becomes explicit pads where the
    /// sizes are known, `VALID` no padding.
    static let window: Rule = { l, node in
        var attributes = node.attributes
        let format = attributes.removeValue(forKey: "data_format")?.string ?? "NCHW"
        guard format == "NCHW" || format == "NHWC" else { throw ONNXExportRefusal("data_format '\(format)'") }
        let channelsLast = format == "NHWC"
        let x = node.inputs[0]
        let kernelRank = node.op == "Conv" ? l.types[node.inputs[1]]?.shape?.rank : nil
        guard let rank = l.rank(x) ?? kernelRank else {
            if channelsLast { throw ONNXExportRefusal("channels-last input of unknown rank") }
            return l.add(Node(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attributes: attributes))
        }
        if node.op == "AveragePool", let d = attributes["dilations"]?.ints {
            if d.allSatisfy({ $0 == 1 }) {
                attributes["dilations"] = nil
            } else if l.opset < 19 {
                throw ONNXExportRefusal("dilations need opset 19")
            }
        }
        if !node.op.hasPrefix("Global") {
            let spatial = channelsLast ? Array(1..<(rank - 1)) : Array(2..<rank)
            var kernel = attributes["kernel_shape"]?.ints
            if kernel == nil, node.op == "Conv", let ws = l.types[node.inputs[1]]?.shape {
                let dims = channelsLast ? Array(ws.dims.prefix(rank - 2)) : Array(ws.dims.dropFirst(2))
                kernel = dims.allSatisfy { $0.value != nil } ? dims.map { $0.value! } : nil
            }
            let sizes = l.types[x]?.shape.map { s in spatial.map { s.dims[$0] } }
            explicitPads(&attributes, kernel: kernel, sizes: sizes)
        }
        guard channelsLast else {
            return l.add(Node(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attributes: attributes))
        }
        guard node.outputs.count == 1 else { throw ONNXExportRefusal("the indices output of a channels-last MaxPool") }
        let toFirst = [0, rank - 1] + Array(1..<(rank - 1)), toLast = [0] + Array(2..<rank) + [1]
        var inputs = node.inputs
        inputs[0] = l.emit("Transpose", name: "\(node.name)/to_channels_first", [x], ["perm": .ints(toFirst)],
                           base: "\(x)/channels_first")
        if node.op == "Conv" {
            inputs[1] = try l.transposedWeight(node.inputs[1], perm: [rank - 1, rank - 2] + Array(0..<(rank - 2)), node: node.name)
        }
        let y = node.outputs[0]
        let inner = l.emit(node.op, name: node.name, inputs, attributes, base: "\(y)/channels_first")
        l.emit("Transpose", name: "\(node.name)/to_channels_last", [inner], ["perm": .ints(toLast)], output: y, base: "")
    }

    /// `auto_pad` SAME_UPPER / SAME_LOWER → explicit `pads` when the kernel and the input's spatial
    /// sizes are known (kept otherwise); VALID → no padding.
    static func explicitPads(_ attributes: inout [String: Attribute], kernel: [Int]?, sizes: [Dim]?) {
        switch attributes["auto_pad"]?.string ?? "NOTSET" {
        case "VALID":
            attributes["auto_pad"] = nil
            attributes["pads"] = nil
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            guard let kernel, let sizes = sizes?.map(\.value), sizes.allSatisfy({ $0 != nil }), kernel.count == sizes.count else { return }
            let n = kernel.count
            let strides = attributes["strides"]?.ints ?? Array(repeating: 1, count: n)
            let dilations = attributes["dilations"]?.ints ?? Array(repeating: 1, count: n)
            guard strides.count == n, dilations.count == n else { return }
            var begin: [Int] = [], end: [Int] = []
            for i in 0..<n {
                let size = sizes[i]!
                let out = (size + strides[i] - 1) / strides[i]
                let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size)
                let head = mode == "SAME_UPPER" ? total / 2 : total - total / 2
                begin.append(head)
                end.append(total - head)
            }
            attributes["auto_pad"] = nil
            attributes["pads"] = .ints(begin + end)
        default:
            break
        }
    }

    // MARK: Normalization

    /// BatchNormalization: ONNX's own op on axis 1; on another axis `x·scale + shift` with folded
    /// per-channel constants (or, for computed parameters, transposes around the ONNX op).
    static let batchNormalization: Rule = { l, node in
        if node.outputs.dropFirst().contains(where: { !$0.isEmpty && l.read.contains($0) }) {
            throw ONNXExportRefusal("its running-statistics outputs are read (training mode)")
        }
        let x = node.inputs[0], y = node.outputs[0]
        let rank = l.rank(x)
        let epsilon = node.attributes["epsilon"]?.float ?? 1e-5
        var attributes: [String: Attribute] = ["epsilon": .float(epsilon)]
        if let momentum = node.attributes["momentum"] { attributes["momentum"] = momentum }
        var axis = node.attributes["axis"]?.int ?? 1
        if axis < 0, let rank { axis += rank }
        if axis == 1 {
            l.emit("BatchNormalization", name: node.name, Array(node.inputs.prefix(5)), attributes, output: y, base: "")
            return
        }
        let params = node.inputs[1...4].map { l.constantValue($0) }
        if params.allSatisfy({ $0 != nil }) {
            let (gamma, beta, mean, variance) = (params[0]!.doubles(), params[1]!.doubles(), params[2]!.doubles(), params[3]!.doubles())
            let c = gamma.count
            guard beta.count == c, mean.count == c, variance.count == c else { throw ONNXExportRefusal("parameter sizes differ") }
            let trailing: Int
            if axis < 0 {
                guard axis == -1 else { throw ONNXExportRefusal("axis \(axis) on an input of unknown rank") }
                trailing = 0
            } else {
                guard let rank else { throw ONNXExportRefusal("axis \(axis) on an input of unknown rank") }
                trailing = rank - 1 - axis
            }
            var scale = [Double](repeating: 0, count: c), shift = [Double](repeating: 0, count: c)
            for i in 0..<c {
                scale[i] = gamma[i] / (variance[i] + epsilon).squareRoot()
                shift[i] = beta[i] - mean[i] * scale[i]
            }
            let shape = [c] + Array(repeating: 1, count: trailing)
            let dtype = l.dtype(x) ?? .float32
            let s = l.constant("\(node.name)/scale", Tensor(shape: shape, scalars: scale).converted(to: dtype))
            let b = l.constant("\(node.name)/shift", Tensor(shape: shape, scalars: shift).converted(to: dtype))
            let scaled = l.emit("Mul", name: node.name, [x, s], base: "\(y)/scaled")
            l.emit("Add", name: "\(node.name)/shift", [scaled, b], output: y, base: "")
            return
        }
        guard let rank, axis >= 0, axis < rank else { throw ONNXExportRefusal("computed parameters on an input of unknown rank") }
        let toFirst = [0, axis] + (1..<rank).filter { $0 != axis }
        var back = [Int](repeating: 0, count: rank)
        for (i, p) in toFirst.enumerated() { back[p] = i }
        let xt = l.emit("Transpose", name: "\(node.name)/to_channels_first", [x], ["perm": .ints(toFirst)], base: "\(x)/channels_first")
        let inner = l.emit("BatchNormalization", name: node.name, [xt] + Array(node.inputs[1...4]), attributes, base: "\(y)/channels_first")
        l.emit("Transpose", name: "\(node.name)/to_input_layout", [inner], ["perm": .ints(back)], output: y, base: "")
    }

    /// LayerNormalization: ONNX's op from opset 17; before, the mean and variance over the trailing
    /// axes with ReduceMean (the Mean and InvStdDev outputs included).
    static let layerNormalization: Rule = { l, node in
        let x = node.inputs[0], y = node.outputs[0], name = node.name
        let axis = node.attributes["axis"]?.int ?? -1
        // The Mean and InvStdDev outputs: the input's shape with the normalized axes of size 1.
        if let t = l.types[x], let s = t.shape, let a = try? ShapeRules.axis(axis, rank: s.rank) {
            let reduced = ValueType(t.dtype, Shape(Array(s.dims.prefix(a)) + Array(repeating: Dim.known(1), count: s.rank - a)))
            for o in node.outputs.dropFirst() where !o.isEmpty { l.types[o] = reduced }
        }
        if l.opset >= 17 { return l.add(node) }
        let axes: [Int]
        if axis < 0 {
            axes = Array(axis..<0)
        } else {
            guard let rank = l.rank(x) else { throw ONNXExportRefusal("axis \(axis) on an input of unknown rank") }
            axes = Array(axis..<rank)
        }
        let extra = node.outputs.dropFirst().map { $0.isEmpty || !l.read.contains($0) ? nil : $0 }
        let epsilon = node.attributes["epsilon"]?.float ?? 1e-5
        let mean = l.reduce("ReduceMean", name: "\(name)/mean", x, axes: axes, keepdims: true,
                            output: extra.first ?? nil, base: "\(y)/mean")
        let centered = l.emit("Sub", name: "\(name)/center", [x, mean], base: "\(y)/centered")
        let squares = l.emit("Mul", name: "\(name)/square", [centered, centered], base: "\(y)/squares")
        let variance = l.reduce("ReduceMean", name: "\(name)/variance", squares, axes: axes, keepdims: true, base: "\(y)/variance")
        let padded = l.emit("Add", name: "\(name)/add_epsilon", [variance, l.scalar("\(name)/epsilon", epsilon, like: x)],
                            base: "\(y)/variance_epsilon")
        let deviation = l.emit("Sqrt", name: "\(name)/sqrt", [padded], base: "\(y)/deviation")
        if extra.count > 1, let inverse = extra[1] {
            l.emit("Reciprocal", name: "\(name)/inverse_deviation", [deviation], output: inverse, base: "")
        }
        let normalized = l.emit("Div", name: name, [centered, deviation], base: "\(y)/normalized")
        let hasBias = node.inputs.count > 2 && !node.inputs[2].isEmpty
        let scaled = l.emit("Mul", name: "\(name)/scale", [normalized, node.inputs[1]], output: hasBias ? nil : y, base: "\(y)/scaled")
        if hasBias { l.emit("Add", name: "\(name)/bias", [scaled, node.inputs[2]], output: y, base: "") }
    }

    // MARK: Activations newer than some opsets

    /// Gelu: ONNX's op from opset 20; before, `0.5·x·(1 + Erf(x/√2))`, or with `approximate = tanh`
    /// `0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))`.
    static let gelu: Rule = { l, node in
        if l.opset >= 20 { return l.add(node) }
        let x = node.inputs[0], y = node.outputs[0], name = node.name
        let approximate = node.attributes["approximate"]?.string ?? "none"
        let inner: String
        switch approximate {
        case "none":
            let scaled = l.emit("Mul", name: "\(name)/scale", [x, l.scalar("\(name)/inv_sqrt2", 1 / 2.0.squareRoot(), like: x)],
                                base: "\(y)/scaled")
            inner = l.emit("Erf", name: "\(name)/erf", [scaled], base: "\(y)/erf")
        case "tanh":
            let square = l.emit("Mul", name: "\(name)/square", [x, x], base: "\(y)/square")
            let cube = l.emit("Mul", name: "\(name)/cube", [square, x], base: "\(y)/cube")
            let term = l.emit("Mul", name: "\(name)/cube_scale", [cube, l.scalar("\(name)/coefficient", 0.044715, like: x)],
                              base: "\(y)/cube_scaled")
            let sum = l.emit("Add", name: "\(name)/sum", [x, term], base: "\(y)/sum")
            let scaled = l.emit("Mul", name: "\(name)/scale", [sum, l.scalar("\(name)/sqrt_2_over_pi", (2 / Double.pi).squareRoot(), like: x)],
                                base: "\(y)/scaled")
            inner = l.emit("Tanh", name: "\(name)/tanh", [scaled], base: "\(y)/tanh")
        default:
            throw ONNXExportRefusal("approximate '\(approximate)'")
        }
        let onePlus = l.emit("Add", name: "\(name)/one_plus", [inner, l.scalar("\(name)/one", 1, like: x)], base: "\(y)/one_plus")
        let product = l.emit("Mul", name: name, [x, onePlus], base: "\(y)/product")
        l.emit("Mul", name: "\(name)/half", [product, l.scalar("\(name)/half", 0.5, like: x)], output: y, base: "")
    }

    /// Swish (no ONNX op up to opset 21): `x·Sigmoid(αx)`.
    static let swish: Rule = { l, node in
        let x = node.inputs[0], y = node.outputs[0], name = node.name
        let alpha = node.attributes["alpha"]?.float ?? 1
        var argument = x
        if alpha != 1 {
            argument = l.emit("Mul", name: "\(name)/alpha", [x, l.scalar("\(name)/alpha", alpha, like: x)], base: "\(y)/scaled")
        }
        let gate = l.emit("Sigmoid", name: "\(name)/sigmoid", [argument], base: "\(y)/sigmoid")
        l.emit("Mul", name: name, [x, gate], output: y, base: "")
    }

    /// Mish: ONNX's op from opset 18; before, `x·Tanh(Softplus(x))`.
    static let mish: Rule = { l, node in
        if l.opset >= 18 { return l.add(node) }
        let x = node.inputs[0], y = node.outputs[0], name = node.name
        let softplus = l.emit("Softplus", name: "\(name)/softplus", [x], base: "\(y)/softplus")
        let gate = l.emit("Tanh", name: "\(name)/tanh", [softplus], base: "\(y)/tanh")
        l.emit("Mul", name: name, [x, gate], output: y, base: "")
    }

    /// HardSwish: ONNX's op from opset 14; before, `x·HardSigmoid(x, 1/6, 0.5)`.
    static let hardSwish: Rule = { l, node in
        if l.opset >= 14 { return l.add(node) }
        let x = node.inputs[0], y = node.outputs[0], name = node.name
        let gate = l.emit("HardSigmoid", name: "\(name)/hard_sigmoid", [x], ["alpha": .float(1.0 / 6.0), "beta": .float(0.5)],
                          base: "\(y)/gate")
        l.emit("Mul", name: name, [x, gate], output: y, base: "")
    }
}
