/// Normalizations and the softmax family.
///
/// `BatchNormalization` is inference-mode (moving statistics): `y = (x − mean)/√(var + ε)·scale + B`
/// along the channel `axis` (1 for ONNX, −1 for Keras channels-last). The standardizations
/// (Layer, Group, Instance) share the gradient of x̂ = (x − μ)·r over a group, with g the cotangent
/// of x̂: `dx = r·(g − mean(g) − x̂·mean(g·x̂))`.
extension OpDefinition {
    public static let batchNormalization: OpDefinition = OpDefinition(
        "BatchNormalization", inputs: 5...5, outputs: 1...3, attributes: BatchNormalizationAttributes.self,
        onnx: ONNXHistory([1, 6, 7, 9, 14, 15], changes: [.conversion(.batchNormalizationLegacy, until: 9)]),
        shape: { ctx in
            if let s = ctx.shape(0) {
                let axis = try ShapeRules.axis(try ctx.attributes(BatchNormalizationAttributes.self).axis, rank: s.rank)
                for i in 1...4 {
                    if let p = ctx.shape(i), p.rank != 1 || (p.dims[0].value != nil && s.dims[axis].value != nil
                                                             && p.dims[0] != s.dims[axis]) {
                        throw ctx.error("parameter \(i) has shape \(p), expected [\(s.dims[axis])]")
                    }
                }
            }
            return [ctx.input(0)]
        },
        vjp: { g in
            // Inference form: y = (x − mean)·s + B with s = scale/√(var + ε).
            let x = g.x, scale = g.input(1), mean = g.input(3), variance = g.input(4)
            guard let rank = x.rank else { throw g.error("gradient of BatchNormalization needs the input rank") }
            let a = try g.attributes(BatchNormalizationAttributes.self)
            let axis = try ShapeRules.axis(a.axis, rank: rank)
            let others = (0..<rank).filter { $0 != axis }
            /// A per-channel vector shaped to broadcast against x.
            func channel(_ v: ValueRef) -> ValueRef { axis == rank - 1 ? v : v.unsqueezed(Array((axis + 1)..<rank).map { $0 - axis }) }
            func sum(_ v: ValueRef) -> ValueRef { v.sum(axes: others, keepDims: false) }
            let varEps = variance + a.epsilon
            let invStd = varEps.sqrt().reciprocal()
            let s = scale * invStd
            let centered = g.needs(1) || g.needs(4) ? x - channel(mean) : nil
            let dbias = g.needs(2) || g.needs(3) ? sum(g.dy) : nil
            return [g.when(0) { g.dy * channel(s) },
                    g.when(1) { sum(g.dy * centered!) * invStd },
                    g.needs(2) ? dbias : nil,
                    g.when(3) { -(dbias! * s) },
                    g.when(4) { sum(g.dy * centered!) * ((s * -0.5) / varEps) }]
        })

    public static let layerNormalization: OpDefinition = OpDefinition(
        "LayerNormalization", inputs: 2...3, outputs: 1...3, attributes: LayerNormalizationAttributes.self,
        onnx: ONNXHistory([17]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return ctx.unknownOutputs(nil) }
            guard let s = x.shape else { return [x, ValueType(.float32, nil), ValueType(.float32, nil)].prefix(ctx.outputCount).map { $0 } }
            let axis = try ShapeRules.axis(try ctx.attributes(LayerNormalizationAttributes.self).axis, rank: s.rank)
            let stats = ValueType(.float32, Shape(Array(s.dims[..<axis]) + Array(repeating: Dim.known(1), count: s.rank - axis)))
            return Array([x, stats, stats].prefix(ctx.outputCount))
        },
        vjp: { g in
            // y = x̂·scale + B, x̂ = (x − μ)·r, r = 1/√(σ² + ε) over the axes from `axis` on.
            guard g.cotangents.dropFirst().allSatisfy({ $0 == nil }) else {
                throw g.error("gradient through LayerNormalization's Mean/InvStdDev outputs is not supported")
            }
            let x = g.x, scale = g.input(1)
            guard let rank = x.rank else { throw g.error("gradient of LayerNormalization needs the input rank") }
            let a = try g.attributes(LayerNormalizationAttributes.self)
            let axes = Array(try ShapeRules.axis(a.axis, rank: rank)..<rank)
            func mean(_ v: ValueRef) -> ValueRef { v.mean(axes: axes) }
            let centered = x - mean(x)
            let r = (mean(centered * centered) + a.epsilon).sqrt().reciprocal()
            let xhat = centered * r
            return [g.when(0) {
                        let d = g.dy * scale
                        return r * ((d - mean(d)) - xhat * mean(d * xhat))
                    },
                    g.when(1) { (g.dy * xhat).summed(to: scale) },
                    g.has(2) ? g.when(2) { g.dy.summed(to: g.input(2)) } : nil]
        },
        decomposition: { c in
            let a = try c.attributes(LayerNormalizationAttributes.self)
            let axes: [Int]
            if a.axis < 0 { axes = Array(a.axis..<0) } else {
                guard let rank = c.rank(0) else { throw c.error("decomposing LayerNormalization needs the input rank") }
                axes = Array(a.axis..<rank)
            }
            let mean = c.x.mean(axes: axes)
            let centered = c.x - mean
            let deviation = (centered.squared().mean(axes: axes) + a.epsilon).sqrt()
            var y = centered / deviation * c.input(1)
            if c.has(2) { y = y + c.input(2) }
            // The optional Mean and InvStdDev outputs.
            let wantsInverse = c.node.outputs.count > 2 && !c.node.outputs[2].isEmpty
            return [y, mean, wantsInverse ? deviation.reciprocal() : nil]
        })

    public static let instanceNormalization: OpDefinition = OpDefinition(
        "InstanceNormalization", inputs: 3...3, attributes: EpsilonAttributes.self, onnx: ONNXHistory([1, 6, 22]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in try groupNormalizationVJP(g, groups: nil, epsilon: try g.attributes(EpsilonAttributes.self).epsilon) })

    public static let groupNormalization: OpDefinition = OpDefinition(
        "GroupNormalization", inputs: 3...3, attributes: GroupNormalizationAttributes.self, onnx: ONNXHistory([18, 21]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in
            let a = try g.attributes(GroupNormalizationAttributes.self)
            return try groupNormalizationVJP(g, groups: a.groups, epsilon: a.epsilon)
        })

    public static let rmsNormalization: OpDefinition = OpDefinition(
        "RMSNormalization", inputs: 2...2, attributes: RMSNormalizationAttributes.self, onnx: ONNXHistory([23]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in  // y = x·r·scale, r = 1/√(mean(x²) + ε): dx = r·d − x·r³·mean(d·x), d = dy·scale
            let x = g.x, scale = g.input(1)
            guard let rank = x.rank else { throw g.error("gradient of RMSNormalization needs the input rank") }
            let a = try g.attributes(RMSNormalizationAttributes.self)
            let axes = Array(try ShapeRules.axis(a.axis, rank: rank)..<rank)
            let r = ((x * x).mean(axes: axes) + a.epsilon).sqrt().reciprocal()
            return [g.when(0) {
                        let d = g.dy * scale
                        return d * r - (x * (r * (r * r))) * (d * x).mean(axes: axes)
                    },
                    g.when(1) { g.dy * (x * r) }]
        },
        decomposition: { c in  // x / √(mean(x²) + ε) · scale, for export before opset 23
            let a = try c.attributes(RMSNormalizationAttributes.self)
            let axes: [Int]
            if a.axis < 0 { axes = Array(a.axis..<0) } else {
                guard let rank = c.rank(0) else { throw c.error("decomposing RMSNormalization needs the input rank") }
                axes = Array(a.axis..<rank)
            }
            return [c.x / (c.x.squared().mean(axes: axes) + a.epsilon).sqrt() * c.input(1)]
        })

    public static let meanVarianceNormalization: OpDefinition = OpDefinition(
        "MeanVarianceNormalization", inputs: 1...1, attributes: MeanVarianceNormalizationAttributes.self,
        onnx: ONNXHistory([9, 13]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in
            // y = c/(σ + 1e-9), c = x − μ, σ = √mean(c²): dx = r·(dy − mean(dy)) − c·r²·mean(dy·c)/σ, r = 1/(σ + 1e-9)
            let x = g.x
            guard let rank = x.rank else { throw g.error("gradient of MeanVarianceNormalization needs the input rank") }
            let axes = try ShapeRules.normalizedAxes(try g.attributes(MeanVarianceNormalizationAttributes.self).axes, rank: rank)
            func mean(_ v: ValueRef) -> ValueRef { v.mean(axes: axes) }
            let c = x - mean(x)
            let sigma = mean(c * c).sqrt()
            let r = (sigma + 1e-9).reciprocal()
            let spread = (r * mean(g.dy * c)) / sigma
            return [r * ((g.dy - mean(g.dy)) - c * spread)]
        })

    public static let lpNormalization: OpDefinition = OpDefinition(
        "LpNormalization", inputs: 1...1, attributes: LpNormalizationAttributes.self, onnx: ONNXHistory([1, 22]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in
            // y = x/n: p 2: dx = (dy − y·Σ dy·y)/n; p 1: dx = (dy − sign(x)·Σ dy·y)/n; 0 where n = 0.
            let a = try g.attributes(LpNormalizationAttributes.self)
            func sum(_ v: ValueRef) -> ValueRef { v.sum(axes: [a.axis]) }
            let norm = a.p == 1 ? sum(g.x.abs()) : sum(g.x * g.x).sqrt()
            let inverse = select(norm.apply(.equal, [g.scalar(0)]), 0, norm.reciprocal())
            let direction = a.p == 1 ? g.x.sign() : g.y
            return [(g.dy - direction * sum(g.dy * g.y)) * inverse]
        })

    public static let lrn: OpDefinition = OpDefinition(
        "LRN", inputs: 1...1, attributes: LRNAttributes.self, onnx: ONNXHistory([1, 13]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in
            // y = x·d^(−β), d = bias + α/size · Σ_window x² over channels [c − lo, c + hi]:
            // dx = dy·d^(−β) − 2αβ/size · x · Σ_window'(dy·x·d^(−β−1)), window' the transposed window.
            let a = try g.attributes(LRNAttributes.self)
            let x = g.x
            let lo = (a.size - 1) / 2, hi = a.size - 1 - lo
            let squares = channelWindowSum(x * x, before: lo, after: hi)
            let d = squares * (a.alpha / Float(a.size)) + a.bias
            let scale = d.apply(.pow, [g.scalar(-a.beta)])
            let back = channelWindowSum(g.dy * x * scale / d, before: hi, after: lo)
            return [g.dy * scale - x * back * (2 * a.alpha * a.beta / Float(a.size))]
        })

    public static let softmax: OpDefinition = softmaxFamily("Softmax") { g in  // y·(dy − Σ dy·y)
        let axis = try g.attributes(SoftmaxAttributes.self).axis
        return [g.y * (g.dy - (g.dy * g.y).sum(axes: [axis]))]
    }
    public static let logSoftmax: OpDefinition = softmaxFamily("LogSoftmax") { g in  // dy − exp(y)·Σ dy
        let axis = try g.attributes(SoftmaxAttributes.self).axis
        return [g.dy - g.y.exp() * g.dy.sum(axes: [axis])]
    }
    /// One-hot of the arg-max along `axis`: piecewise constant.
    public static let hardmax: OpDefinition = softmaxFamily("Hardmax", vjp: zeroGradient)

    static func softmaxFamily(_ name: String, vjp: @escaping VJPRule) -> OpDefinition {
        OpDefinition(name, inputs: 1...1, attributes: SoftmaxAttributes.self,
                     onnx: ONNXHistory([1, 11, 13], changes: [.conversion(.flattenedSoftmax, until: 13)]),
                     shape: { ctx in
                         if let s = ctx.shape(0) { _ = try ShapeRules.axis(try ctx.attributes(SoftmaxAttributes.self).axis, rank: s.rank) }
                         return [ctx.input(0)]
                     },
                     vjp: vjp)
    }

    /// Σ_{k = c − before}^{c + after} v[:, k] for each channel c of `[N, C, ...]` (zeros past the
    /// ends): `v` padded along axis 1, then `before + after + 1` shifted slices added.
    static func channelWindowSum(_ v: ValueRef, before: Int, after: Int) -> ValueRef {
        let width = before + after
        guard width > 0 else { return v }
        let axes = v.ints([1])
        let padded = v.builder.value(v.builder.emit(.pad, [v.name, v.ints([before, after]).name, "", axes.name]))
        let slices = (0...width).map { k in padded.sliced(starts: [k], ends: [k < width ? k - width : Int(Int64.max)], axes: [1]) }
        return slices[0].apply(.sum, Array(slices.dropFirst()))
    }

    /// Group (or, with `groups` nil, instance) normalization of `[N, C, ...]` with per-channel
    /// scale and bias (per group for GroupNormalization-18's `[num_groups]` parameters).
    static func groupNormalizationVJP(_ g: VJPContext, groups: Int?, epsilon: Float) throws -> [ValueRef?] {
        let x = g.x, scale = g.input(1)
        guard let rank = x.rank, rank >= 2 else { throw g.error("gradient of \(g.node.op) needs an input of known rank ≥ 2") }
        let channels = x.shape?.dims[1].value
        let perGroup = groups.map { n in scale.shape?.elementCount == n && channels != n } ?? false
        // [N, G, M]: one row per sample and group.
        let grouped = g.ints([0, groups ?? 0, -1])
        func rows(_ v: ValueRef) -> ValueRef { v.reshaped(grouped) }
        /// A per-channel (or per-group) vector shaped to broadcast against x (or its rows).
        func broadcast(_ v: ValueRef) -> ValueRef {
            if perGroup { return v.unsqueezed([1]) }
            return rank > 2 ? v.unsqueezed(Array(1..<(rank - 1))) : v
        }
        func mean(_ v: ValueRef) -> ValueRef { v.mean(axes: [2]) }
        let xr = rows(x)
        let c = xr - mean(xr)
        let r = (mean(c * c) + epsilon).sqrt().reciprocal()
        let xhat = c * r
        let dyRows = rows(g.dy)
        /// Σ over everything but the channel (or group) axis.
        func perParameter(_ v: ValueRef, inRows: Bool) -> ValueRef {
            let axes = perGroup ? [0, 2] : [0] + Array(2..<rank)
            let source = perGroup == inRows ? v : (inRows ? v.reshaped(like: x) : rows(v))
            return source.sum(axes: axes, keepDims: false)
        }
        return [g.when(0) {
                    let d = perGroup ? dyRows * broadcast(scale) : rows(g.dy * broadcast(scale))
                    return (r * ((d - mean(d)) - xhat * mean(d * xhat))).reshaped(like: x)
                },
                g.when(1) { perParameter(dyRows * xhat, inRows: true) },
                g.when(2) { perParameter(g.dy, inRows: false) }]
    }
}

public struct BatchNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .float("epsilon", 1e-5), .float("momentum", 0.9), .int("axis", 1), .int("training_mode", 0),
    ]
    public let epsilon: Float, momentum: Float
    /// BatchNormalization-14's training mode (batch statistics, running-statistics outputs).
    public let trainingMode: Bool
    /// The channel axis: 1 in ONNX files; an Ascent extension lets Keras's channels-last use −1.
    public let axis: Int
    public init(_ a: AttributeReader) throws {
        epsilon = try a.float("epsilon")
        momentum = try a.float("momentum")
        axis = try a.int("axis")
        trainingMode = try a.bool("training_mode")
    }
}

public struct LayerNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1), .float("epsilon", 1e-5), .int("stash_type", 1)]
    public let axis: Int, epsilon: Float
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        epsilon = try a.float("epsilon")
    }
}

public struct EpsilonAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("epsilon", 1e-5)]
    public let epsilon: Float
    public init(_ a: AttributeReader) throws { epsilon = try a.float("epsilon") }
}

public struct GroupNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .float("epsilon", 1e-5), .required("num_groups", kind: "int"), .int("stash_type", 1),
    ]
    public let epsilon: Float, groups: Int
    public init(_ a: AttributeReader) throws {
        epsilon = try a.float("epsilon")
        groups = try a.int("num_groups")
        guard groups > 0 else { throw AscentError.invalid("num_groups must be positive") }
    }
}

public struct RMSNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1), .float("epsilon", 1e-5), .int("stash_type", 1)]
    public let axis: Int, epsilon: Float
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        epsilon = try a.float("epsilon")
    }
}

public struct MeanVarianceNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.ints("axes", [0, 2, 3])]
    public let axes: [Int]
    public init(_ a: AttributeReader) throws { axes = try a.ints("axes") ?? [0, 2, 3] }
}

public struct LpNormalizationAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1), .int("p", 2)]
    public let axis: Int, p: Int
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        p = try a.int("p")
        guard p == 1 || p == 2 else { throw AscentError.invalid("p \(p) is not 1 or 2") }
    }
}

public struct LRNAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .float("alpha", 0.0001), .float("beta", 0.75), .float("bias", 1), .required("size", kind: "int"),
    ]
    public let alpha: Float, beta: Float, bias: Float, size: Int
    public init(_ a: AttributeReader) throws {
        alpha = try a.float("alpha")
        beta = try a.float("beta")
        bias = try a.float("bias")
        size = try a.int("size")
        guard size > 0 else { throw AscentError.invalid("size \(size) is not positive") }
    }
}

public struct SoftmaxAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1)]
    public let axis: Int
    public init(_ a: AttributeReader) throws { axis = try a.int("axis") }
}
