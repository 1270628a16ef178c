import AscentIR

/// The IR's own forms and the older ONNX forms: the rules for ops whose IR node is not ONNX's
/// latest form as it is (channels-last convolutions and pools, BatchNormalization on any axis,
/// Constant nodes, the axes of reductions), and the named conversions to older opsets.
extension ONNXExportLowering {
    /// Rules for IR forms, by op name (derived from the definitions they are keyed by).
    static let irForms: [String: Rule] = {
        var table: [String: Rule] = [:]
        for op in [OpDefinition.conv, .maxPool, .averagePool, .lpPool, .globalAveragePool, .globalMaxPool] { table[op.name] = window }
        for op in OpRegistry.all where op.traits.contains(.reduction) { table[op.name] = reduction }
        table[OpDefinition.constant.name] = constant
        table[OpDefinition.batchNormalization.name] = batchNormalization
        table[OpDefinition.layerNormalization.name] = layerNormalization
        table[OpDefinition.reshape.name] = reshape
        table[OpDefinition.shape.name] = shape
        table[OpDefinition.split.name] = split
        table[OpDefinition.pad.name] = pad
        return table
    }()

    // MARK: Constants

    /// Constant nodes become initializers (a constant the graph returns stays a node).
    static let constant: Rule = { l, node in
        guard let t = node.attributes["value"]?.tensor, let out = node.outputs.first else {
            throw ONNXExportRefusal("no tensor value")
        }
        if l.builder.graph.outputs.contains(where: { $0.name == out }) { return try l.write(node) }
        l.builder.graph.initializers[out] = t
        l.builder.refreshConstant(out)
    }

    // MARK: Convolution and pooling

    /// Conv and pooling: `data_format` goes; channels-last becomes Transpose → ONNX op → Transpose
    /// (kernel transposed to `[out, in/group, k...]`); `SAME` padding becomes explicit pads where the
    /// sizes are known, `VALID` no padding.
    static let window: Rule = { l, node in
        var attributes = node.attributes
        let format = attributes.removeValue(forKey: "data_format")?.string ?? DataFormat.channelsFirst.rawValue
        guard let dataFormat = DataFormat(rawValue: format) else { throw ONNXExportRefusal("data_format '\(format)'") }
        let channelsLast = dataFormat == .channelsLast
        let x = node.inputs[0]
        let kernelRank = node.is(.conv) ? l.builder.type(node.inputs[1])?.shape?.rank : nil
        let global = node.is(.globalAveragePool) || node.is(.globalMaxPool)
        for key in attributes.keys where key.hasPrefix("_") { attributes[key] = nil }
        guard let rank = l.rank(x) ?? kernelRank else {
            if channelsLast { throw ONNXExportRefusal("channels-last input of unknown rank") }
            return try l.write(Node(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attributes: attributes))
        }
        if let d = attributes["dilations"]?.ints, d.allSatisfy({ $0 == 1 }) { attributes["dilations"] = nil }
        if !global {
            if !node.is(.maxPool) { attributes["storage_order"] = nil }
            if !node.is(.averagePool) { attributes["count_include_pad"] = nil }
            if !node.is(.lpPool) { attributes["p"] = nil }
            if node.is(.conv) { attributes["ceil_mode"] = nil }
            let spatial = dataFormat.spatialAxes(rank: rank)
            var kernel = attributes["kernel_shape"]?.ints
            if kernel == nil, node.is(.conv), let ws = l.builder.type(node.inputs[1])?.shape {
                let dims = channelsLast ? Array(ws.dims.prefix(rank - 2)) : Array(ws.dims.dropFirst(2))
                kernel = dims.allSatisfy { $0.value != nil } ? dims.map { $0.value! } : nil
            }
            let sizes = l.builder.type(x)?.shape.map { s in spatial.map { s.dims[$0] } }
            explicitPads(&attributes, kernel: kernel, sizes: sizes)
        }
        guard channelsLast else {
            return try l.write(Node(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attributes: attributes))
        }
        guard node.outputs.count == 1 else { throw ONNXExportRefusal("the indices output of a channels-last MaxPool") }
        let toFirst = [0, rank - 1] + Array(1..<(rank - 1)), toLast = [0] + Array(2..<rank) + [1]
        var inputs = node.inputs
        inputs[0] = try l.emit(.transpose, name: "\(node.name)/to_channels_first", [x], ["perm": .ints(toFirst)],
                               base: "\(x)/channels_first")
        if node.is(.conv) {
            inputs[1] = try l.transposedWeight(node.inputs[1], perm: [rank - 1, rank - 2] + Array(0..<(rank - 2)), node: node.name)
        }
        let y = node.outputs[0]
        let inner = l.builder.fresh("\(y)/channels_first")
        try l.write(Node(name: node.name, op: node.op, inputs: inputs, outputs: [inner], attributes: attributes))
        try l.emit(.transpose, name: "\(node.name)/to_channels_last", [inner], ["perm": .ints(toLast)], output: y, base: "")
    }

    /// `auto_pad` SAME_UPPER / SAME_LOWER → explicit `pads` when the kernel and the input's spatial
    /// sizes are known (kept otherwise); VALID → no padding.
    static func explicitPads(_ attributes: inout [String: Attribute], kernel: [Int]?, sizes: [Dim]?) {
        let autoPad = AutoPad(rawValue: attributes["auto_pad"]?.string ?? AutoPad.notSet.rawValue) ?? .notSet
        switch autoPad {
        case .valid:
            attributes["auto_pad"] = nil
            attributes["pads"] = nil
        case .sameUpper, .sameLower:
            guard let kernel, let sizes, let window = try? Window(AttributeReader(Node(name: "", op: "", inputs: [], outputs: [],
                                                                                       attributes: attributes), specs: Window.specs)),
                  let axes = try? window.axes(input: sizes, kernel: kernel), axes.allSatisfy({ $0.output.value != nil }) else { return }
            attributes["auto_pad"] = nil
            attributes["pads"] = .ints(axes.map(\.padBegin) + axes.map(\.padEnd))
        case .notSet:
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
        let a = try BatchNormalizationAttributes(node)
        let x = node.inputs[0], y = node.outputs[0]
        let rank = l.rank(x)
        var attributes: [String: Attribute] = ["epsilon": .float(Double(a.epsilon))]
        if let momentum = node.attributes["momentum"] { attributes["momentum"] = momentum }
        var axis = a.axis
        if axis < 0, let rank { axis += rank }
        if axis == 1 {
            try l.emit(.batchNormalization, name: node.name, Array(node.inputs.prefix(5)), attributes, output: y, base: "")
            return
        }
        let epsilon = Double(a.epsilon)
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
            let scaled = try l.emit(.mul, name: node.name, [x, s], base: "\(y)/scaled")
            try l.emit(.add, name: "\(node.name)/shift", [scaled, b], output: y, base: "")
            return
        }
        guard let rank, axis >= 0, axis < rank else { throw ONNXExportRefusal("computed parameters on an input of unknown rank") }
        let toFirst = [0, axis] + (1..<rank).filter { $0 != axis }
        let xt = try l.emit(.transpose, name: "\(node.name)/to_channels_first", [x], ["perm": .ints(toFirst)], base: "\(x)/channels_first")
        let inner = try l.emit(.batchNormalization, name: node.name, [xt] + Array(node.inputs[1...4]), attributes,
                               base: "\(y)/channels_first")
        try l.emit(.transpose, name: "\(node.name)/to_input_layout", [inner], ["perm": .ints(ShapeRules.inverse(toFirst))],
                   output: y, base: "")
    }

    /// LayerNormalization: ONNX's op from opset 17; before, its decomposition (with the Mean and
    /// InvStdDev outputs where they are read).
    static let layerNormalization: Rule = { l, node in
        var node = node
        if l.opset < 17 {
            node.outputs = node.outputs.map { l.read.contains($0) ? $0 : "" }
            while node.outputs.count > 1, node.outputs.last == "" { node.outputs.removeLast() }
        }
        try l.write(node)
    }

    // MARK: Shapes

    /// Reshape: `allowzero` = 1 before opset 14 keeps its meaning only for shapes without a 0.
    static let reshape: Rule = { l, node in
        var node = node
        if l.opset < 14, node.attributes["allowzero"]?.int == 1, let target = l.constantValue(node.inputs[1]),
           !target.int64s().contains(0) {
            node.attributes["allowzero"] = nil
        }
        try l.write(node)
    }

    /// Shape: `start` and `end` exist from opset 15; before, Shape then Slice.
    static let shape: Rule = { l, node in
        let start = node.attributes["start"]?.int ?? 0, end = node.attributes["end"]?.int
        guard l.opset < 15, start != 0 || end != nil else { return try l.write(node) }
        let whole = try l.emit(.shape, name: "\(node.name)/shape", [node.inputs[0]], base: "\(node.outputs[0])/whole")
        try l.emit(.slice, name: node.name, [whole, l.int64s("\(node.name)/starts", [start]),
                                             l.int64s("\(node.name)/ends", [end ?? Int(Int64.max)]),
                                             l.int64s("\(node.name)/axes", [0])], output: node.outputs[0], base: "")
    }

    /// Reduce*: axes as the opset wants (the history's input/attribute change); no axes with
    /// `noop_with_empty_axes` is an Identity; axes computed at run time need the input form.
    static let reduction: Rule = { l, node in
        let a = try ReduceAttributes(node)
        var axes = a.axes
        if node.inputs.count > 1, !node.inputs[1].isEmpty {
            guard let t = l.constantValue(node.inputs[1]) else { return try l.write(node) }
            axes = t.int64s().map { Int($0) }
        }
        if axes?.isEmpty ?? true, a.noopWithEmptyAxes {
            return try l.write(Node(name: node.name, op: OpDefinition.identity.name, inputs: [node.inputs[0]], outputs: node.outputs))
        }
        var attributes = node.attributes
        attributes["axes"] = nil
        attributes["noop_with_empty_axes"] = nil
        var inputs = [node.inputs[0]]
        if let axes, !axes.isEmpty { inputs.append(l.int64s("\(node.name)/axes", axes)) }
        try l.write(Node(name: node.name, op: node.op, inputs: inputs, outputs: node.outputs, attributes: attributes))
    }

    /// Split: `num_outputs` from opset 18; before, equal parts (or explicit sizes when the axis does
    /// not divide evenly); before 13, the sizes as an attribute.
    static let split: Rule = { l, node in
        var node = node
        let count = node.attributes.removeValue(forKey: "num_outputs")
        let given = node.inputs.count > 1 && !node.inputs[1].isEmpty
        if !given {
            if l.opset >= 18 {
                node.attributes["num_outputs"] = count ?? .int(node.outputs.count)
            } else if let rank = l.rank(node.inputs[0]),
                      let axis = try? ShapeRules.axis(node.attributes["axis"]?.int ?? 0, rank: rank),
                      let size = l.builder.type(node.inputs[0])?.shape?.dims[axis].value {
                let sizes = ShapeRules.equalSplit(size: size, parts: node.outputs.count)
                if Set(sizes).count > 1 { node.inputs = [node.inputs[0], l.int64s("\(node.name)/split", sizes)] }
            }
        }
        if l.opset < 13, node.inputs.count > 1, !node.inputs[1].isEmpty {
            guard let sizes = l.constantValue(node.inputs[1]) else { throw ONNXExportRefusal("split sizes computed at run time need opset 13") }
            node.attributes["split"] = .ints(sizes.int64s().map { Int($0) })
            node.inputs = [node.inputs[0]]
        }
        try l.write(node)
    }

    /// Pad: the `axes` input exists from opset 18 (before, pads for every axis); `wrap` from 19.
    static let pad: Rule = { l, node in
        if node.attributes["mode"]?.string == "wrap", l.opset < 19 { throw ONNXExportRefusal("mode 'wrap' needs opset 19") }
        guard node.inputs.count > 3, !node.inputs[3].isEmpty, l.opset < 18 else { return try l.write(node) }
        guard let axesTensor = l.constantValue(node.inputs[3]), let padsTensor = l.constantValue(node.inputs[1]),
              let rank = l.rank(node.inputs[0]) else {
            throw ONNXExportRefusal("pads for some axes only, not all constant, need opset 18")
        }
        let axes = try ShapeRules.normalizedAxes(axesTensor.int64s().map { Int($0) }, rank: rank)
        let pads = padsTensor.int64s().map { Int($0) }
        var full = [Int](repeating: 0, count: 2 * rank)
        for (i, a) in axes.enumerated() {
            full[a] = pads[i]
            full[rank + a] = pads[axes.count + i]
        }
        var node = node
        node.inputs = [node.inputs[0], l.int64s("\(node.name)/pads", full), node.inputs[2]]
        while node.inputs.last == "" { node.inputs.removeLast() }
        try l.write(node)
    }

    // MARK: Older opsets

    /// Rewrites `node` into the form ONNX had before `conversion`'s opset (the reverse of the
    /// importer's conversion of the same name), or refuses.
    mutating func downgrade(_ conversion: ONNXConversion, _ node: inout Node) throws {
        func constant(_ i: Int) -> Tensor? { i < node.inputs.count && !node.inputs[i].isEmpty ? constantValue(node.inputs[i]) : nil }
        func given(_ i: Int) -> Bool { i < node.inputs.count && !node.inputs[i].isEmpty }
        switch conversion {
        case .legacyBroadcast:
            // Before opset 7 a binary op broadcast only with `broadcast` = 1, the second input
            // aligned at the end (the default `axis`), which NumPy broadcasting of a lower-rank B is.
            guard let a = builder.type(node.inputs[0])?.shape, let b = builder.type(node.inputs[1])?.shape else {
                throw ONNXExportRefusal("inputs of unknown shape need opset 7 (NumPy broadcasting)")
            }
            if a == b { return }
            let scalar = b.elementCount == 1
            guard scalar || (b.rank <= a.rank && Array(a.dims.suffix(b.rank)) == b.dims) else {
                throw ONNXExportRefusal("broadcasting \(a) with \(b) needs opset 7")
            }
            node.attributes["broadcast"] = .int(1)
        case .flattenedSoftmax:
            // Before 13, the input coerced to 2-D at `axis`: the same for the last axis only.
            guard let rank = rank(node.inputs[0]) else { throw ONNXExportRefusal("an input of unknown rank needs opset 13") }
            let axis = try ShapeRules.axis(node.attributes["axis"]?.int ?? -1, rank: rank)
            guard axis == rank - 1 else { throw ONNXExportRefusal("axis \(axis) of a rank-\(rank) input needs opset 13") }
            node.attributes["axis"] = .int(axis)
        case .sliceAttributes:
            guard let starts = constant(1), let ends = constant(2) else {
                throw ONNXExportRefusal("starts and ends computed at run time need opset 10")
            }
            if given(4) {
                guard let steps = constant(4), steps.int64s().allSatisfy({ $0 == 1 }) else { throw ONNXExportRefusal("steps need opset 10") }
            }
            node.attributes["starts"] = .ints(starts.int64s().map { Int($0) })
            node.attributes["ends"] = .ints(ends.int64s().map { Int($0) })
            if given(3) {
                guard let axes = constant(3) else { throw ONNXExportRefusal("axes computed at run time need opset 10") }
                node.attributes["axes"] = .ints(axes.int64s().map { Int($0) })
            }
            node.inputs = [node.inputs[0]]
        case .clipAttributes:
            for (i, name) in [(1, "min"), (2, "max")] where given(i) {
                guard let v = constant(i), v.count == 1 else { throw ONNXExportRefusal("\(name) computed at run time needs opset 11") }
                node.attributes[name] = .float(v.doubles()[0])
            }
            node.inputs = [node.inputs[0]]
        case .padAttributes:
            guard opset >= 2 else { throw ONNXExportRefusal("Pad-1's 'paddings' form is not written") }
            guard let pads = constant(1) else { throw ONNXExportRefusal("pads computed at run time need opset 11") }
            node.attributes["pads"] = .ints(pads.int64s().map { Int($0) })
            if given(2) {
                guard let v = constant(2), v.count == 1 else { throw ONNXExportRefusal("a computed pad value needs opset 11") }
                node.attributes["value"] = .float(v.doubles()[0])
            }
            node.inputs = [node.inputs[0]]
        case .topKAttribute:
            guard let k = constant(1), k.count == 1 else { throw ONNXExportRefusal("k computed at run time needs opset 10") }
            node.attributes["k"] = .int(Int(k.int64s()[0]))
            node.inputs = [node.inputs[0]]
        case .gemmBroadcast:
            if given(2) { node.attributes["broadcast"] = .int(1) }
        case .batchNormalizationLegacy:
            guard opset >= 6 else { throw ONNXExportRefusal("BatchNormalization before opset 6 is not written") }
            if opset < 7 { node.attributes["is_test"] = .int(1) }
        case .concatDefaultAxis, .splitForms, .dropout:
            break  // the axis is always written; Split's forms have their own rule
        case .resize10:
            throw ONNXExportRefusal("Resize needs opset 11 (opset 10's form takes scales only)")
        case .tile1:
            throw ONNXExportRefusal("Tile needs opset 6")
        case .scan8:
            throw ONNXExportRefusal("Scan needs opset 9 (opset 8's form has a batch axis and sequence lengths)")
        }
    }
}
