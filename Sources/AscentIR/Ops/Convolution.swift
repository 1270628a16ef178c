/// Convolution and pooling: sliding-window ops over the spatial axes of a value laid out
/// as `NCHW` (ONNX, the default) or `NHWC` (Keras), chosen by the `data_format` attribute.
///
/// Weights: `NCHW` convolutions take ONNX's `[out, in/group, k...]` kernel; `NHWC`
/// convolutions take Keras/TensorFlow's `[k..., in/group, out]`.
/// `pads` is `[begin..., end...]`; `auto_pad` is `NOTSET`, `VALID`, `SAME_UPPER`
/// (TensorFlow's "same": the extra pixel at the end) or `SAME_LOWER`.
enum ConvolutionOps {
    static let windowAttributes: [AttributeSpec] = [
        .optional("data_format", .string("NCHW")),
        .optional("auto_pad", .string("NOTSET")),
        .optional("kernel_shape", kind: "ints"),
        .optional("strides", kind: "ints"),
        .optional("dilations", kind: "ints"),
        .optional("pads", kind: "ints"),
    ]

    static var schemas: [OpSchema] {
        [
            OpSchema("Conv", inputs: 2...3, attributes: windowAttributes + [.optional("group", .int(1))], infer: conv),
            OpSchema("MaxPool", inputs: 1...1, outputs: 1...2,
                     attributes: windowAttributes + [.optional("ceil_mode", .int(0)), .optional("storage_order", .int(0))],
                     infer: pool),
            OpSchema("AveragePool", inputs: 1...1,
                     attributes: windowAttributes + [.optional("ceil_mode", .int(0)), .optional("count_include_pad", .int(0))],
                     infer: pool),
            OpSchema("GlobalAveragePool", inputs: 1...1, attributes: [.optional("data_format", .string("NCHW"))], infer: globalPool),
            OpSchema("GlobalMaxPool", inputs: 1...1, attributes: [.optional("data_format", .string("NCHW"))], infer: globalPool),
        ]
    }

    /// Where the channel and spatial axes are for a value of `rank` in `format`.
    struct Axes {
        let channel: Int
        let spatial: [Int]
        let layout: Layout?
    }

    static func axes(_ ctx: InferenceContext, rank: Int) throws -> Axes {
        let format = try ctx.string("data_format", default: "NCHW")
        guard rank >= 3 else { throw ctx.error("input has rank \(rank), needs at least 3") }
        switch format {
        case "NCHW":
            let layout: Layout? = [3: .ncw, 4: .nchw, 5: .ncdhw][rank]
            return Axes(channel: 1, spatial: Array(2..<rank), layout: layout)
        case "NHWC":
            let layout: Layout? = [3: .nwc, 4: .nhwc, 5: .ndhwc][rank]
            return Axes(channel: rank - 1, spatial: Array(1..<(rank - 1)), layout: layout)
        default:
            throw ctx.error("data_format '\(format)' is not NCHW or NHWC")
        }
    }

    /// The output spatial sizes of a window op.
    static func spatialOutput(_ ctx: InferenceContext, input: Shape, axes: Axes, kernel: [Int],
                              ceilMode: Bool) throws -> [Dim] {
        let n = axes.spatial.count
        let strides = try ctx.ints("strides") ?? Array(repeating: 1, count: n)
        let dilations = try ctx.ints("dilations") ?? Array(repeating: 1, count: n)
        let pads = try ctx.ints("pads") ?? Array(repeating: 0, count: 2 * n)
        guard kernel.count == n, strides.count == n, dilations.count == n, pads.count == 2 * n else {
            throw ctx.error("kernel_shape/strides/dilations/pads do not match \(n) spatial axes")
        }
        guard strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }), kernel.allSatisfy({ $0 > 0 }),
              pads.allSatisfy({ $0 >= 0 }) else {
            throw ctx.error("kernel_shape, strides and dilations must be positive, pads non-negative")
        }
        let autoPad = try ctx.string("auto_pad", default: "NOTSET")
        return try (0..<n).map { i in
            let size = input.dims[axes.spatial[i]]
            switch autoPad {
            case "NOTSET":
                return try ShapeRules.windowOutput(size, kernel: kernel[i], stride: strides[i], dilation: dilations[i],
                                               padBegin: pads[i], padEnd: pads[i + n], ceilMode: ceilMode)
            case "VALID":
                return try ShapeRules.windowOutput(size, kernel: kernel[i], stride: strides[i], dilation: dilations[i],
                                               padBegin: 0, padEnd: 0, ceilMode: ceilMode)
            case "SAME_UPPER", "SAME_LOWER":
                return ShapeRules.sameOutput(size, stride: strides[i])
            default:
                throw ctx.error("auto_pad '\(autoPad)' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
            }
        }
    }

    @Sendable static func conv(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0), let xs = x.shape, let ws = ctx.shape(1) else {
            return [ctx.input(0).map { ValueType($0.dtype, nil) }]
        }
        let axes = try axes(ctx, rank: xs.rank)
        guard ws.rank == xs.rank else { throw ctx.error("kernel rank \(ws.rank) differs from input rank \(xs.rank)") }
        let channelsLast = axes.channel != 1
        // Kernel axes: NCHW → [O, I/g, k...]; NHWC → [k..., I/g, O].
        let kernelSpatial = channelsLast ? Array(ws.dims[0..<(ws.rank - 2)]) : Array(ws.dims[2...])
        let outChannels = channelsLast ? ws.dims[ws.rank - 1] : ws.dims[0]
        let inPerGroup = channelsLast ? ws.dims[ws.rank - 2] : ws.dims[1]
        let kernel = try ctx.ints("kernel_shape") ?? kernelSpatial.map {
            guard let v = $0.value else { throw ctx.error("kernel has unknown spatial size") }
            return v
        }
        let group = try ctx.int("group", default: 1)
        guard group >= 1 else { throw ctx.error("group must be positive") }
        if case .known(let c) = xs.dims[axes.channel], case .known(let k) = inPerGroup, c != k * group {
            throw ctx.error("input has \(c) channels, kernel expects \(k) × group \(group)")
        }
        let spatial = try spatialOutput(ctx, input: xs, axes: axes, kernel: kernel, ceilMode: false)
        var dims = xs.dims
        dims[axes.channel] = outChannels
        for (i, a) in axes.spatial.enumerated() { dims[a] = spatial[i] }
        return [ValueType(x.dtype, Shape(dims), layout: axes.layout)]
    }

    @Sendable static func pool(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0), let xs = x.shape else { return [ctx.input(0), nil] }
        let axes = try axes(ctx, rank: xs.rank)
        guard let kernel = try ctx.ints("kernel_shape") else { throw ctx.error("missing attribute 'kernel_shape'") }
        let spatial = try spatialOutput(ctx, input: xs, axes: axes, kernel: kernel,
                                        ceilMode: try ctx.int("ceil_mode", default: 0) != 0)
        var dims = xs.dims
        for (i, a) in axes.spatial.enumerated() { dims[a] = spatial[i] }
        let out = ValueType(x.dtype, Shape(dims), layout: axes.layout)
        return ctx.node.outputs.count > 1 ? [out, ValueType(.int64, Shape(dims))] : [out]
    }

    @Sendable static func globalPool(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0), let xs = x.shape else { return [ctx.input(0)] }
        let axes = try axes(ctx, rank: xs.rank)
        var dims = xs.dims
        for a in axes.spatial { dims[a] = .known(1) }
        return [ValueType(x.dtype, Shape(dims), layout: axes.layout)]
    }
}

// MARK: - Gradients

extension ConvolutionOps {
    static let vjps: [String: VJPRule] = [
        "Conv": { ctx in
            let attrs = ctx.node.attributes
            let dx = ctx.needs(0) ? ctx.emit("ConvGradInput", [ctx.dy, ctx.input(1), ctx.input(0)], attrs) : nil
            let dw = ctx.needs(1) ? ctx.emit("ConvGradFilter", [ctx.input(0), ctx.dy, ctx.input(1)], attrs) : nil
            var db: String? = nil
            if ctx.node.inputs.count > 2, ctx.needs(2) {
                guard let rank = ctx.rank(ctx.output(0)) else { throw ctx.error("bias gradient needs the output rank") }
                let channel = attrs["data_format"]?.string == "NHWC" ? rank - 1 : 1
                db = ctx.emit("ReduceSum", [ctx.dy], ["axes": .ints((0..<rank).filter { $0 != channel }), "keepdims": .int(0)])
            }
            return [dx, dw, db]
        },
        "MaxPool": { ctx in
            var attrs = ctx.node.attributes
            attrs["storage_order"] = nil
            return [ctx.emit("MaxPoolGrad", [ctx.dy, ctx.input(0)], attrs)]
        },
        "AveragePool": { ctx in [ctx.emit("AveragePoolGrad", [ctx.dy, ctx.input(0)], ctx.node.attributes)] },
        "GlobalAveragePool": { ctx in [ctx.emit("GlobalAveragePoolGrad", [ctx.dy, ctx.input(0)], ctx.node.attributes)] },
        "GlobalMaxPool": { ctx in [ctx.emit("GlobalMaxPoolGrad", [ctx.dy, ctx.input(0)], ctx.node.attributes)] },
    ]
}
