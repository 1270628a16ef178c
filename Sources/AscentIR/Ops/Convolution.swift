/// Convolutions: `Conv` (channels-first ONNX weights `[out, in/group, k...]`, or channels-last
/// Keras/TensorFlow weights `[k..., in/group, out]` with `data_format` NHWC), `ConvTranspose`,
/// `DeformConv`, `Col2Im`, and the backward primitives `ConvGradInput(dy, w, x)` (the gradient of
/// Conv with respect to x applied to dy, a transposed convolution; shaped like x) and
/// `ConvGradFilter(x, dy, w)` (with respect to w; shaped like w).
extension OpDefinition {
    public static let conv: OpDefinition = OpDefinition(
        "Conv", inputs: 2...3, attributes: ConvAttributes.self, traits: .spatial, onnx: ONNXHistory([1, 11, 22]),
        shape: convShape,
        vjp: { g in
            let attributes = g.node.attributes
            var db: ValueRef? = nil
            if g.has(2), g.needs(2) {
                guard let rank = g.y.rank else { throw g.error("bias gradient needs the output rank") }
                let channel = try g.attributes(ConvAttributes.self).window.format.channelAxis(rank: rank)
                db = g.dy.sum(axes: (0..<rank).filter { $0 != channel }, keepDims: false)
            }
            return [g.when(0) { g.emit(.convGradInput, [g.dy, g.input(1), g.x], attributes) },
                    g.when(1) { g.emit(.convGradFilter, [g.x, g.dy, g.input(1)], attributes) }, db]
        },
        cost: convolutionCost(weights: 1))

    /// Multiply-accumulates of a convolution whose weights are input `weights` (Conv, ConvInteger,
    /// QLinearConv, FusedConv): per output element, kernel spatial size × input channels per group.
    static func convolutionCost(weights: Int) -> CostRule {
        { node, types in
            guard node.inputs.count > weights, let w = types[node.inputs[weights]]?.shape?.concrete, w.count >= 3,
                  let out = node.outputs.first.flatMap({ types[$0]?.shape }).flatMap(perItemCount) else { return nil }
            let channelsLast = node.attributes["data_format"]?.string == DataFormat.channelsLast.rawValue
            let perOutput = channelsLast ? w.dropLast().reduce(1, *) : w.dropFirst().reduce(1, *)
            return out.multipliedReportingOverflow(by: perOutput).overflow ? nil : out * perOutput
        }
    }

    public static let convGradInput: OpDefinition = backward("ConvGradInput", inputs: 3...3, attributes: ConvAttributes.self, like: 2)
    public static let convGradFilter: OpDefinition = backward("ConvGradFilter", inputs: 3...3, attributes: ConvAttributes.self, like: 2)

    public static let convTranspose: OpDefinition = OpDefinition(
        "ConvTranspose", inputs: 2...3, attributes: ConvTransposeAttributes.self, traits: .spatial, onnx: ONNXHistory([1, 11, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape, let w = ctx.shape(1), s.rank >= 3, w.rank == s.rank else { return [ValueType(x.dtype, nil)] }
            let a = try ctx.attributes(ConvTransposeAttributes.self)
            let n = s.rank - 2
            let m = w.dims[1] * .known(a.group)
            let kernel = try a.kernelShape ?? w.dims.dropFirst(2).map {
                guard let v = $0.value else { throw ctx.error("kernel has unknown spatial size") }
                return v
            }
            let spatial = try a.output(input: Array(s.dims.dropFirst(2)), kernel: kernel)
            guard spatial.count == n else { throw ctx.error("output has \(spatial.count) spatial axes, expected \(n)") }
            return [ValueType(x.dtype, Shape([s.dims[0], m] + spatial), layout: DataFormat.channelsFirst.layout(rank: s.rank))]
        },
        vjp: { g in
            // y = Cᵀ(w)·x for the convolution C of y-shaped inputs with the same kernel, strides,
            // dilations, group and begin pads: dx = Conv(dy, w), dw = ConvGradFilter(dy, x, w).
            let a = try g.attributes(ConvTransposeAttributes.self)
            guard let rank = g.rank(0), rank >= 3 else { throw g.error("gradient of ConvTranspose needs the input rank") }
            let kernel = a.kernelShape ?? (g.shape(1).map { $0.dims.dropFirst(2).compactMap(\.value) } ?? [])
            var attributes: [String: Attribute] = [
                "pads": .ints(try a.adjointPads(input: g.shape(0).map { Array($0.dims.dropFirst(2)) }, kernel: kernel)),
                "group": .int(a.group),
            ]
            if let s = a.strides { attributes["strides"] = .ints(s) }
            if let d = a.dilations { attributes["dilations"] = .ints(d) }
            let w = g.input(1)
            return [g.when(0) { g.emit(.conv, [g.dy, w], attributes) },
                    g.when(1) { g.emit(.convGradFilter, [g.dy, g.x, w], attributes) },
                    g.has(2) ? g.when(2) { g.dy.sum(axes: [0] + Array(2..<rank), keepDims: false) } : nil]
        })

    public static let deformConv: OpDefinition = OpDefinition(
        "DeformConv", inputs: 3...5, attributes: DeformConvAttributes.self, traits: .spatial, onnx: ONNXHistory([19, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape, let w = ctx.shape(1), let o = ctx.shape(2), s.rank == 4, o.rank == 4, w.rank == 4 else {
                return [ValueType(x.dtype, nil)]
            }
            return [ValueType(x.dtype, Shape([s.dims[0], w.dims[0], o.dims[2], o.dims[3]]))]
        })

    public static let col2Im: OpDefinition = OpDefinition(
        "Col2Im", inputs: 3...3, attributes: Col2ImAttributes.self, onnx: ONNXHistory([18]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape, s.rank == 3, let image = ctx.dims(1), let block = ctx.ints(2) else {
                return [ValueType(x.dtype, nil)]
            }
            let blockSize = Dim.known(block.reduce(1, *))
            return [ValueType(x.dtype, Shape([s.dims[0], s.dims[1].dividedExactly(by: blockSize)] + image))]
        })

    /// A backward primitive: an Ascent op shaped like input `like`.
    static func backward(_ name: String, inputs: ClosedRange<Int>, attributes: (any OpAttributes.Type)? = nil,
                         like: Int) -> OpDefinition {
        OpDefinition(name, domain: ascentDomain, inputs: inputs, attributes: attributes, traits: .backward,
                     shape: { ctx in [ctx.input(like)] })
    }

    /// `[N, C, out...]` or `[N, out..., C]` of a window op over input 0 with `channels` output
    /// channels (input 0's when nil) and a `kernel` of spatial sizes.
    static func windowShape(_ ctx: ShapeContext, _ window: Window, kernel: [Int], channels: Dim?) throws -> ValueType? {
        guard let x = ctx.input(0) else { return nil }
        guard let xs = x.shape else { return ValueType(x.dtype, nil) }
        let axes = try ctx.windowAxes(window.format, rank: xs.rank)
        let spatial: [Window.Axis]
        do { spatial = try window.axes(input: axes.spatial.map { xs.dims[$0] }, kernel: kernel) } catch let e as AscentError {
            throw e.within("node \(ctx.node.label)")
        }
        var dims = xs.dims
        if let channels { dims[axes.channel] = channels }
        for (i, a) in axes.spatial.enumerated() { dims[a] = spatial[i].output }
        return ValueType(x.dtype, Shape(dims), layout: axes.layout)
    }

    static let convShape: ShapeRule = { ctx in
        guard let x = ctx.input(0), let xs = x.shape, let ws = ctx.shape(1) else {
            return [ctx.input(0).map { ValueType($0.dtype, nil) }]
        }
        let a = try ctx.attributes(ConvAttributes.self)
        let axes = try ctx.windowAxes(a.window.format, rank: xs.rank)
        guard ws.rank == xs.rank else { throw ctx.error("kernel rank \(ws.rank) differs from input rank \(xs.rank)") }
        let channelsLast = a.window.format == .channelsLast
        // Kernel axes: NCHW → [O, I/g, k...]; NHWC → [k..., I/g, O].
        let kernelSpatial = channelsLast ? Array(ws.dims[0..<(ws.rank - 2)]) : Array(ws.dims[2...])
        let outChannels = channelsLast ? ws.dims[ws.rank - 1] : ws.dims[0]
        let inPerGroup = channelsLast ? ws.dims[ws.rank - 2] : ws.dims[1]
        let kernel = try a.window.kernelShape ?? kernelSpatial.map {
            guard let v = $0.value else { throw ctx.error("kernel has unknown spatial size") }
            return v
        }
        if case .known(let c) = xs.dims[axes.channel], case .known(let k) = inPerGroup, c != k * a.group {
            throw ctx.error("input has \(c) channels, kernel expects \(k) × group \(a.group)")
        }
        return [try windowShape(ctx, a.window, kernel: kernel, channels: outChannels)]
    }

    /// Elements per batch item: the product of the sizes, with a symbolic or unknown leading
    /// dimension counted as 1; nil when another size is unknown.
    static func perItemCount(_ shape: Shape) -> Int? {
        var dims = shape.dims
        if let first = dims.first, first.value == nil { dims[0] = .known(1) }
        return Shape(dims).elementCount
    }
}

/// `ConvTranspose`'s attributes, with the output geometry the ONNX reference defines.
public struct ConvTransposeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .string("auto_pad", "NOTSET"), .optional("dilations", kind: "ints"), .int("group", 1),
        .optional("kernel_shape", kind: "ints"), .optional("output_padding", kind: "ints"),
        .optional("output_shape", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
    ]
    public let autoPad: AutoPad
    public let group: Int
    public let dilations: [Int]?, kernelShape: [Int]?, outputPadding: [Int]?, outputShape: [Int]?, pads: [Int]?, strides: [Int]?

    public init(_ a: AttributeReader) throws {
        guard let p = AutoPad(rawValue: try a.string("auto_pad")) else {
            throw AscentError.invalid("auto_pad '\(try a.string("auto_pad"))' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        autoPad = p
        group = try a.int("group")
        guard group >= 1 else { throw AscentError.invalid("group \(group) is not positive") }
        dilations = try a.ints("dilations")
        kernelShape = try a.ints("kernel_shape")
        outputPadding = try a.ints("output_padding")
        outputShape = try a.ints("output_shape")
        pads = try a.ints("pads")
        strides = try a.ints("strides")
    }

    /// Output sizes, begin pads, strides and dilations for spatial input sizes `input` and a
    /// kernel of `kernel` sizes: `stride·(in − 1) + output_padding + (k − 1)·dilation + 1 − pads`,
    /// or `output_shape`, or with SAME padding `in · stride`.
    public func geometry(input: [Int], kernel: [Int]) throws -> (output: [Int], padBegin: [Int], strides: [Int], dilations: [Int]) {
        let n = input.count
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        let op = outputPadding ?? Array(repeating: 0, count: n)
        guard kernel.count == n, s.count == n, d.count == n, op.count >= n else {
            throw AscentError.invalid("strides, dilations or output_padding do not have \(n) values")
        }
        func full(_ i: Int) -> Int { s[i] * (input[i] - 1) + op[i] + (kernel[i] - 1) * d[i] + 1 }
        var p = pads
        var out = outputShape
        if p == nil && autoPad.isSame {
            let target = out ?? (0..<n).map { input[$0] * s[$0] }
            var begin: [Int] = [], end: [Int] = []
            for i in 0..<n {
                let total = full(i) - target[i]
                if autoPad == .sameUpper { begin.append(total / 2); end.append(total - total / 2) } else {
                    begin.append(total - total / 2); end.append(total / 2)
                }
            }
            p = begin + end
            out = target
        }
        let pp = p ?? Array(repeating: 0, count: 2 * n)
        guard pp.count == 2 * n else { throw AscentError.invalid("pads has \(pp.count) values, expected \(2 * n)") }
        let output = out ?? (0..<n).map { full($0) - pp[$0] - pp[$0 + n] }
        guard output.count == n, output.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("output shape \(output) is invalid") }
        return (output, Array(pp.prefix(n)), s, d)
    }

    /// The output's spatial sizes for possibly symbolic input sizes.
    public func output(input: [Dim], kernel: [Int]) throws -> [Dim] {
        let n = input.count
        if let concrete = Shape(input).concrete { return try geometry(input: concrete, kernel: kernel).output.map(Dim.known) }
        if let o = outputShape, o.count == n { return o.map(Dim.known) }
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        let op = outputPadding ?? Array(repeating: 0, count: n)
        guard kernel.count == n, s.count == n, d.count == n, op.count >= n else { return input.map { _ in .unknown } }
        return (0..<n).map { i in
            if pads == nil && autoPad.isSame { return input[i] * .known(s[i]) }
            let p = pads.map { $0.count == 2 * n ? $0[i] + $0[i + n] : 0 } ?? 0
            return input[i] * .known(s[i]) + .known(-s[i] + op[i] + (kernel[i] - 1) * d[i] + 1 - p)
        }
    }

    /// The Conv pads whose adjoint is this ConvTranspose (as the runtime sizes it): its begin pads
    /// (given, or worked out from `auto_pad`), and end pads making the convolution of a y-shaped
    /// value x-shaped: `stride·(in − 1) + extent − out − begin`, rounded up to 0 (by less than a
    /// stride, which Conv's floor division absorbs).
    public func adjointPads(input: [Dim]?, kernel: [Int]) throws -> [Int] {
        let n = kernel.count
        let strides = self.strides ?? Array(repeating: 1, count: n)
        let dilations = self.dilations ?? Array(repeating: 1, count: n)
        let outputPadding = self.outputPadding ?? Array(repeating: 0, count: n)
        let outputShape = self.outputShape.flatMap { $0.count == n ? $0 : nil }
        let pads = self.pads.flatMap { $0.count == 2 * n ? $0 : nil }
        let same = pads == nil && autoPad.isSame
        var begin: [Int] = [], end: [Int] = []
        for i in 0..<n {
            let s = strides[i], extent = (kernel[i] - 1) * dilations[i] + 1, op = outputPadding[i]
            let b: Int, shortfall: Int
            if let outputShape {
                guard let size = input?[i].value else {
                    throw AscentError.invalid("gradient of ConvTranspose with output_shape needs the input size")
                }
                shortfall = s * (size - 1) + extent - outputShape[i]
                let total = shortfall + op
                b = same ? (autoPad == .sameUpper ? total / 2 : total - total / 2) : (pads?[i] ?? 0)
            } else if same {
                let total = op + extent - s
                b = autoPad == .sameUpper ? total / 2 : total - total / 2
                shortfall = extent - s
            } else {
                b = pads?[i] ?? 0
                shortfall = b + (pads?[i + n] ?? 0) - op
            }
            let e = shortfall - b
            guard e > -s else { throw AscentError.invalid("gradient of ConvTranspose: the output is wider than its convolution reads") }
            begin.append(b)
            end.append(Swift.max(e, 0))
        }
        return begin + end
    }
}

public struct DeformConvAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .optional("dilations", kind: "ints"), .int("group", 1), .optional("kernel_shape", kind: "ints"),
        .int("offset_group", 1), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
    ]
    public let dilations: [Int]?, kernelShape: [Int]?, pads: [Int]?, strides: [Int]?
    public let group: Int, offsetGroup: Int
    public init(_ a: AttributeReader) throws {
        dilations = try a.ints("dilations")
        kernelShape = try a.ints("kernel_shape")
        pads = try a.ints("pads")
        strides = try a.ints("strides")
        group = try a.int("group")
        offsetGroup = try a.int("offset_group")
        guard group >= 1, offsetGroup >= 1 else { throw AscentError.invalid("group \(group) and offset_group \(offsetGroup) must be positive") }
    }
}

public struct Col2ImAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .optional("dilations", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
    ]
    public let dilations: [Int]?, pads: [Int]?, strides: [Int]?
    public init(_ a: AttributeReader) throws {
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
        strides = try a.ints("strides")
    }
}
