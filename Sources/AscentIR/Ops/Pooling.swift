/// Pools: `MaxPool` (optionally with flat indices), `AveragePool`, `LpPool`, the global pools,
/// `MaxUnpool`, and the backward primitives — `MaxPoolGrad(dy, x)` routes each dy element to the
/// first maximum of its window (TensorFlow's and PyTorch's convention for ties),
/// `AveragePoolGrad(dy, x)` spreads it over its window divided by the forward count,
/// `LpPoolGrad(dy, x, y)`, `GlobalAveragePoolGrad(dy, x)`, `GlobalMaxPoolGrad(dy, x)`; each shaped like x.
extension OpDefinition {
    public static let maxPool: OpDefinition = OpDefinition(
        "MaxPool", inputs: 1...1, outputs: 1...2, attributes: PoolAttributes.self,
        traits: .spatial, onnx: ONNXHistory([1, 8, 10, 11, 12, 22], changes: [
            .attributeAdded("storage_order", since: 8), .attributeAdded("ceil_mode", since: 10),
            .attributeAdded("dilations", since: 10),
        ]),
        shape: { ctx in
            let a = try ctx.attributes(PoolAttributes.self)
            guard let out = try windowShape(ctx, a.window, kernel: try a.kernel(), channels: nil) else { return [nil, nil] }
            return ctx.outputCount > 1 ? [out, ValueType(.int64, out.shape)] : [out]
        },
        vjp: { g in
            var attributes = g.node.attributes
            attributes["storage_order"] = nil
            return [g.emit(.maxPoolGrad, [g.dy, g.x], attributes)]
        })

    public static let averagePool: OpDefinition = OpDefinition(
        "AveragePool", inputs: 1...1, attributes: PoolAttributes.self,
        traits: .spatial, onnx: ONNXHistory([1, 7, 10, 11, 19, 22], changes: [
            .attributeAdded("count_include_pad", since: 7), .attributeAdded("ceil_mode", since: 10),
            .attributeAdded("dilations", since: 19),
        ]),
        shape: poolShape,
        vjp: { g in [g.emit(.averagePoolGrad, [g.dy, g.x], g.node.attributes)] })

    public static let lpPool: OpDefinition = OpDefinition(
        "LpPool", inputs: 1...1, attributes: PoolAttributes.self,
        traits: .spatial, onnx: ONNXHistory([1, 2, 11, 18, 22], changes: [.attributeAdded("ceil_mode", since: 18), .attributeAdded("dilations", since: 18)]),
        shape: poolShape,
        vjp: { g in [g.emit(.lpPoolGrad, [g.dy, g.x, g.y], g.node.attributes)] })

    public static let globalAveragePool: OpDefinition = OpDefinition(
        "GlobalAveragePool", inputs: 1...1, attributes: GlobalPoolAttributes.self, traits: .spatial, onnx: ONNXHistory([1, 22]),
        shape: globalPoolShape,
        vjp: { g in [g.emit(.globalAveragePoolGrad, [g.dy, g.x], g.node.attributes)] })

    public static let globalMaxPool: OpDefinition = OpDefinition(
        "GlobalMaxPool", inputs: 1...1, attributes: GlobalPoolAttributes.self, traits: .spatial, onnx: ONNXHistory([1, 22]),
        shape: globalPoolShape,
        vjp: { g in [g.emit(.globalMaxPoolGrad, [g.dy, g.x], g.node.attributes)] })

    /// `MaxUnpool(x, indices[, output_shape])`: x's values placed at their flat indices in zeros of
    /// `(in − 1)·stride + kernel − pads` (or `output_shape`).
    public static let maxUnpool: OpDefinition = OpDefinition(
        "MaxUnpool", inputs: 2...3, attributes: MaxUnpoolAttributes.self, onnx: ONNXHistory([9, 11, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
            if ctx.has(2) {
                guard let given = ctx.dims(2), given.count == s.rank else { return ctx.unknownOutputs(x.dtype, rank: s.rank) }
                return [ValueType(x.dtype, Shape(given))]
            }
            return [ValueType(x.dtype, Shape(try ctx.attributes(MaxUnpoolAttributes.self).output(s.dims)))]
        },
        vjp: { g in  // y[I[j]] = x[j] (flat indices): dx = dy read at I
            guard !g.has(2) else { throw g.error("gradient of MaxUnpool with output_shape is not supported") }
            return [g.dy.reshaped(g.ints([-1])).apply(.gather, [g.input(1)]), nil, nil]
        })

    public static let maxPoolGrad: OpDefinition = backward("MaxPoolGrad", inputs: 2...2, attributes: PoolAttributes.self, like: 1)
    public static let averagePoolGrad: OpDefinition = backward("AveragePoolGrad", inputs: 2...2, attributes: PoolAttributes.self, like: 1)
    public static let lpPoolGrad: OpDefinition = backward("LpPoolGrad", inputs: 3...3, attributes: PoolAttributes.self, like: 1)
    public static let globalAveragePoolGrad: OpDefinition = backward("GlobalAveragePoolGrad", inputs: 2...2,
                                                       attributes: GlobalPoolAttributes.self, like: 1)
    public static let globalMaxPoolGrad: OpDefinition = backward("GlobalMaxPoolGrad", inputs: 2...2, attributes: GlobalPoolAttributes.self, like: 1)

    static let poolShape: ShapeRule = { ctx in
        let a = try ctx.attributes(PoolAttributes.self)
        return [try windowShape(ctx, a.window, kernel: try a.kernel(), channels: nil)]
    }

    static let globalPoolShape: ShapeRule = { ctx in
        guard let x = ctx.input(0), let xs = x.shape else { return [ctx.input(0)] }
        let axes = try ctx.windowAxes(try ctx.attributes(GlobalPoolAttributes.self).format, rank: xs.rank)
        var dims = xs.dims
        for a in axes.spatial { dims[a] = .known(1) }
        return [ValueType(x.dtype, Shape(dims), layout: axes.layout)]
    }
}

public struct MaxUnpoolAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .required("kernel_shape", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
    ]
    public let kernelShape: [Int], pads: [Int]?, strides: [Int]?
    public init(_ a: AttributeReader) throws {
        kernelShape = try a.ints("kernel_shape") ?? []
        pads = try a.ints("pads")
        strides = try a.ints("strides")
    }

    /// `[N, C, (in − 1)·stride + kernel − pads...]` for input sizes `dims`.
    public func output(_ dims: [Dim]) throws -> [Dim] {
        let r = dims.count - 2
        guard r == kernelShape.count else { throw AscentError.invalid("kernel_shape \(kernelShape) does not fit rank \(dims.count)") }
        let s = strides ?? Array(repeating: 1, count: r), p = pads ?? Array(repeating: 0, count: 2 * r)
        guard s.count == r, p.count == 2 * r else { throw AscentError.invalid("strides or pads do not have \(r) axes") }
        return Array(dims[..<2]) + (0..<r).map { i in
            dims[i + 2] * .known(s[i]) + .known(kernelShape[i] - s[i] - p[i] - p[i + r])
        }
    }
}
