/// More ONNX ops (latest-opset semantics and names), one schema each with its shape rule:
/// - type, size and bit ops: `CastLike`, `Size`, `BitCast`, `Mod`, `BitShift`, `Bitwise*`;
/// - math maps: `Acos`... `Cosh`, `IsNaN`, `IsInf`, `Shrink`, `Hardmax`, `SwiGLU`;
/// - index selection and scatter: `ArgMax`, `ArgMin`, `GatherElements`, `GatherND`, `ScatterElements`,
///   `ScatterND`, `TensorScatter`, `TopK`, `Trilu`, `OneHot`, `EyeLike`, `CumSum`, `CumProd`,
///   `Compress`, `NonZero`, `Unique`, `ReverseSequence`, `CenterCropPad`, `NonMaxSuppression`;
/// - spatial: `Resize`, `GridSample`, `AffineGrid`, `DepthToSpace`, `SpaceToDepth`, `ConvTranspose`,
///   `DeformConv`, `ConvInteger`, `LpPool`, `MaxUnpool`, `Col2Im`, `RoiAlign`;
/// - normalizations and losses: `LpNormalization`, `InstanceNormalization`, `GroupNormalization`,
///   `RMSNormalization`, `MeanVarianceNormalization`, `LRN`, `NegativeLogLikelihoodLoss`,
///   `SoftmaxCrossEntropyLoss`;
/// - reductions `ReduceL1`, `ReduceL2`, `ReduceLogSum`, `ReduceLogSumExp`, `ReduceSumSquare`;
/// - sequence models: `RNN`, `GRU`, `LSTM`, `LinearAttention`, `CausalConvWithState`, `RotaryEmbedding`;
/// - signal: `DFT`, `STFT`, `HannWindow`, `HammingWindow`, `BlackmanWindow`, `MelWeightMatrix`;
/// - quantization: `QuantizeLinear`, `DequantizeLinear`, `DynamicQuantizeLinear`, `QLinearMatMul`,
///   `MatMulInteger`; and `Einsum`, `Det`, `TfIdfVectorizer` (integer pools).
///
/// Where a size depends on an input's value (TopK's k, OneHot's depth, Resize's sizes...), the rule
/// is exact when that input is a constant and otherwise keeps the rank and the known dimensions.
public enum MoreOps {
    public static let mathUnary = ["Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Tan", "Sinh", "Cosh"]
    public static let moreReductions = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]

    static var schemas: [OpSchema] {
        var out = mathUnary.map { OpSchema($0, inputs: 1...1, infer: ElementwiseOps.sameAsFirst) }
        out += moreReductions.map {
            OpSchema($0, inputs: 1...2, attributes: [
                .optional("keepdims", .int(1)), .optional("noop_with_empty_axes", .int(0)),
                .optional("axes", kind: "ints"),
            ], infer: ReduceOps.reduce)
        }
        out += [
            OpSchema("CastLike", inputs: 2...2, attributes: [.optional("saturate", .int(1))], infer: { ctx in
                guard let x = ctx.input(0), let like = ctx.input(1) else { return [nil] }
                return [ValueType(like.dtype, x.shape, layout: x.layout)]
            }),
            OpSchema("Size", inputs: 1...1, infer: { _ in [ValueType(.int64, Shape([Dim]()))] }),
            OpSchema("Mod", inputs: 2...2, attributes: [.optional("fmod", .int(0))],
                     infer: { try ElementwiseOps.broadcastInputs($0, dtype: nil) }),
            OpSchema("BitShift", inputs: 2...2, attributes: [.required("direction", kind: "string")],
                     infer: { try ElementwiseOps.broadcastInputs($0, dtype: nil) }),
            OpSchema("BitwiseAnd", inputs: 2...2, infer: { try ElementwiseOps.broadcastInputs($0, dtype: nil) }),
            OpSchema("BitwiseOr", inputs: 2...2, infer: { try ElementwiseOps.broadcastInputs($0, dtype: nil) }),
            OpSchema("BitwiseXor", inputs: 2...2, infer: { try ElementwiseOps.broadcastInputs($0, dtype: nil) }),
            OpSchema("BitwiseNot", inputs: 1...1, infer: ElementwiseOps.sameAsFirst),
            OpSchema("IsNaN", inputs: 1...1, infer: { ctx in [ctx.input(0).map { ValueType(.bool, $0.shape) }] }),
            OpSchema("IsInf", inputs: 1...1, attributes: [
                .optional("detect_negative", .int(1)), .optional("detect_positive", .int(1)),
            ], infer: { ctx in [ctx.input(0).map { ValueType(.bool, $0.shape) }] }),
            OpSchema("Shrink", inputs: 1...1, attributes: [.optional("bias", .float(0)), .optional("lambd", .float(0.5))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("Hardmax", inputs: 1...1, attributes: [.optional("axis", .int(-1))], infer: NormalizationOps.softmax),
            OpSchema("ArgMax", inputs: 1...1, attributes: argAttributes, infer: arg),
            OpSchema("ArgMin", inputs: 1...1, attributes: argAttributes, infer: arg),
            OpSchema("GatherElements", inputs: 2...2, attributes: [.optional("axis", .int(0))], infer: { ctx in
                guard let data = ctx.input(0) else { return [nil] }
                if let t = ctx.input(1), t.dtype != .int64, t.dtype != .int32 {
                    throw ctx.error("indices must be int64 or int32, are \(t.dtype.rawValue)")
                }
                if let s = ctx.shape(1), let ds = data.shape, s.rank != ds.rank {
                    throw ctx.error("indices have rank \(s.rank), data has rank \(ds.rank)")
                }
                return [ValueType(data.dtype, ctx.shape(1))]
            }),
            OpSchema("Trilu", inputs: 1...2, attributes: [.optional("upper", .int(1))], infer: ElementwiseOps.sameAsFirst),
            OpSchema("CumSum", inputs: 2...2, attributes: [.optional("exclusive", .int(0)), .optional("reverse", .int(0))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("CumProd", inputs: 2...2, attributes: [.optional("exclusive", .int(0)), .optional("reverse", .int(0))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("EyeLike", inputs: 1...1, attributes: [.optional("dtype", kind: "int"), .optional("k", .int(0))],
                     infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                var dtype = x.dtype
                if ctx.node.attributes["dtype"] != nil {
                    let code = try ctx.int("dtype", default: 1)
                    guard let t = CastOps.dtype(onnxCode: code) else { throw ctx.error("unsupported dtype code \(code)") }
                    dtype = t.isFloatingPoint ? .float32 : t  // floating values are computed as float32
                }
                if let s = x.shape, s.rank != 2 { throw ctx.error("EyeLike needs a 2-D input, got \(s)") }
                return [ValueType(dtype, x.shape)]
            }),
            OpSchema("OneHot", inputs: 3...3, attributes: [.optional("axis", .int(-1))], infer: oneHot),
            // TopK-1 gives k as an attribute; later versions as input 1.
            OpSchema("TopK", inputs: 1...2, outputs: 2...2, attributes: [
                .optional("axis", .int(-1)), .optional("largest", .int(1)), .optional("sorted", .int(1)), .optional("k", kind: "int"),
            ], infer: topK),
            OpSchema("DepthToSpace", inputs: 1...1, attributes: [
                .required("blocksize", kind: "int"), .optional("mode", .string("DCR")),
            ], infer: { try blocks($0, toSpace: true) }),
            OpSchema("SpaceToDepth", inputs: 1...1, attributes: [
                .required("blocksize", kind: "int"), .optional("mode", .string("DCR")),
            ],
                     infer: { try blocks($0, toSpace: false) }),
            OpSchema("LpNormalization", inputs: 1...1, attributes: [.optional("axis", .int(-1)), .optional("p", .int(2))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("InstanceNormalization", inputs: 3...3, attributes: [.optional("epsilon", .float(1e-5))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("GroupNormalization", inputs: 3...3, attributes: [
                .optional("epsilon", .float(1e-5)), .required("num_groups", kind: "int"), .optional("stash_type", .int(1)),
            ], infer: ElementwiseOps.sameAsFirst),
            OpSchema("RMSNormalization", inputs: 2...2, attributes: [
                .optional("axis", .int(-1)), .optional("epsilon", .float(1e-5)), .optional("stash_type", .int(1)),
            ], infer: ElementwiseOps.sameAsFirst),
            OpSchema("MeanVarianceNormalization", inputs: 1...1, attributes: [.optional("axes", .ints([0, 2, 3]))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("NegativeLogLikelihoodLoss", inputs: 2...3, attributes: lossAttributes, infer: loss),
            OpSchema("SoftmaxCrossEntropyLoss", inputs: 2...3, outputs: 1...2, attributes: lossAttributes, infer: loss),
            OpSchema("Resize", inputs: 1...4, attributes: [
                .optional("antialias", .int(0)), .optional("axes", kind: "ints"),
                .optional("coordinate_transformation_mode", .string("half_pixel")),
                .optional("cubic_coeff_a", .float(-0.75)), .optional("exclude_outside", .int(0)),
                .optional("extrapolation_value", .float(0)), .optional("keep_aspect_ratio_policy", .string("stretch")),
                .optional("mode", .string("nearest")), .optional("nearest_mode", .string("round_prefer_floor")),
            ], infer: resize),
            OpSchema("ScatterElements", inputs: 3...3, attributes: [.optional("axis", .int(0)), .optional("reduction", .string("none"))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("ScatterND", inputs: 3...3, attributes: [.optional("reduction", .string("none"))], infer: ElementwiseOps.sameAsFirst),
            OpSchema("GatherND", inputs: 2...2, attributes: [.optional("batch_dims", .int(0))], infer: { ctx in
                guard let data = ctx.input(0) else { return [nil] }
                guard let ds = data.shape, let isShape = ctx.shape(1), let k = isShape.dims.last?.value else { return [ValueType(data.dtype, nil)] }
                let b = try ctx.int("batch_dims", default: 0)
                guard b + k <= ds.rank else { throw ctx.error("indices \(isShape) do not fit data \(ds)") }
                return [ValueType(data.dtype, Shape(Array(isShape.dims.dropLast()) + Array(ds.dims[(b + k)...])))]
            }),
            OpSchema("Compress", inputs: 2...2, attributes: [.optional("axis", kind: "int")], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard ctx.node.attributes["axis"] != nil, let s = x.shape else { return [ValueType(x.dtype, Shape([Dim.unknown]))] }
                let a = try ShapeRules.axis(try ctx.int("axis", default: 0), rank: s.rank)
                var dims = s.dims
                dims[a] = .unknown
                return [ValueType(x.dtype, Shape(dims))]
            }),
            OpSchema("ReverseSequence", inputs: 2...2, attributes: [.optional("batch_axis", .int(1)), .optional("time_axis", .int(0))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("NonZero", inputs: 1...1, infer: { ctx in
                [ValueType(.int64, Shape([ctx.shape(0).map { .known($0.rank) } ?? .unknown, .unknown]))]
            }),
            OpSchema("ConvTranspose", inputs: 2...3, attributes: [
                .optional("auto_pad", .string("NOTSET")), .optional("dilations", kind: "ints"), .optional("group", .int(1)),
                .optional("kernel_shape", kind: "ints"), .optional("output_padding", kind: "ints"),
                .optional("output_shape", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
            ], infer: convTranspose),
            OpSchema("SwiGLU", inputs: 2...2, attributes: [.optional("alpha", .float(1))], infer: ElementwiseOps.sameAsFirst),
            OpSchema("CausalConvWithState", inputs: 2...4, outputs: 1...2, attributes: [.optional("activation", .string("none"))],
                     infer: { ctx in
                guard let x = ctx.input(0) else { return ctx.node.outputs.map { _ in nil } }
                var state: Shape? = nil
                if let s = x.shape, let w = ctx.shape(1), s.rank == 3, w.rank == 3 {
                    state = Shape([s.dims[0], s.dims[1], w.dims[2].value.map { .known($0 - 1) } ?? .unknown])
                }
                return Array([x, ValueType(x.dtype, state)].prefix(ctx.node.outputs.count))
            }),
            OpSchema("RotaryEmbedding", inputs: 3...4, attributes: [
                .optional("interleaved", .int(0)), .optional("rotary_embedding_dim", .int(0)), .optional("num_heads", .int(0)),
            ], infer: ElementwiseOps.sameAsFirst),
            OpSchema("LinearAttention", inputs: 3...6, outputs: 1...2, attributes: [
                .optional("chunk_size", .int(0)), .required("kv_num_heads", kind: "int"), .required("q_num_heads", kind: "int"),
                .optional("scale", .float(0)), .optional("update_rule", .string("gated_delta")),
            ], infer: { ctx in
                guard let q = ctx.input(0) else { return ctx.node.outputs.map { _ in nil } }
                let qh = try ctx.int("q_num_heads", default: 1), kvh = try ctx.int("kv_num_heads", default: 1)
                guard qh > 0, kvh > 0 else { throw ctx.error("head counts must be positive") }
                var y: Shape? = nil, state: Shape? = nil
                if let qs = q.shape, let vs = ctx.shape(2), qs.rank == 3, vs.rank == 3 {
                    let dv: Dim = vs.dims[2].value.map { .known($0 / kvh) } ?? .unknown
                    let dk: Dim = qs.dims[2].value.map { .known($0 / qh) } ?? .unknown
                    y = Shape([qs.dims[0], qs.dims[1], dv.value.map { .known($0 * qh) } ?? .unknown])
                    state = Shape([qs.dims[0], .known(kvh), dk, dv])
                }
                return Array([ValueType(q.dtype, y), ValueType(q.dtype, state)].prefix(ctx.node.outputs.count))
            }),
            OpSchema("HannWindow", inputs: 1...1, attributes: windowAttributes, infer: window),
            OpSchema("HammingWindow", inputs: 1...1, attributes: windowAttributes, infer: window),
            OpSchema("BlackmanWindow", inputs: 1...1, attributes: windowAttributes, infer: window),
            OpSchema("CenterCropPad", inputs: 2...2, attributes: [.optional("axes", kind: "ints")], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
                let axes = try IndexingOps.normalizedAxes(try ctx.ints("axes") ?? Array(0..<s.rank), rank: s.rank)
                var dims = s.dims
                let sizes = ctx.constant(1)?.int64s()
                for (i, a) in axes.enumerated() { dims[a] = sizes.map { i < $0.count ? .known(Int($0[i])) : .unknown } ?? .unknown }
                return [ValueType(x.dtype, Shape(dims))]
            }),
            OpSchema("Det", inputs: 1...1, infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard let s = x.shape, s.rank >= 2 else { return [ValueType(x.dtype, nil)] }
                return [ValueType(x.dtype, Shape(Array(s.dims.dropLast(2))))]
            }),
            OpSchema("Einsum", inputs: 1...Int.max, attributes: [.required("equation", kind: "string")], infer: { ctx in
                [ctx.input(0).map { ValueType($0.dtype, nil) }]
            }),
            OpSchema("Unique", inputs: 1...1, outputs: 1...4, attributes: [.optional("axis", kind: "int"), .optional("sorted", .int(1))],
                     infer: { ctx in
                guard let x = ctx.input(0) else { return ctx.node.outputs.map { _ in nil } }
                let all = [ValueType(x.dtype, nil), ValueType(.int64, Shape([Dim.unknown])), ValueType(.int64, Shape([Dim.unknown])),
                           ValueType(.int64, Shape([Dim.unknown]))]
                return Array(all.prefix(ctx.node.outputs.count))
            }),
            OpSchema("GridSample", inputs: 2...2, attributes: [
                .optional("align_corners", .int(0)), .optional("mode", .string("linear")), .optional("padding_mode", .string("zeros")),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard let s = x.shape, let g = ctx.shape(1), s.rank >= 3, g.rank == s.rank else { return [ValueType(x.dtype, nil)] }
                return [ValueType(x.dtype, Shape([s.dims[0], s.dims[1]] + Array(g.dims[1..<(g.rank - 1)])))]
            }),
            OpSchema("LpPool", inputs: 1...1, attributes: [
                .optional("auto_pad", .string("NOTSET")), .optional("ceil_mode", .int(0)), .optional("dilations", kind: "ints"),
                .required("kernel_shape", kind: "ints"), .optional("p", .int(2)), .optional("pads", kind: "ints"),
                .optional("strides", kind: "ints"),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard let s = x.shape, s.rank >= 3 else { return [ValueType(x.dtype, nil)] }
                return [ValueType(x.dtype, Shape(Array(s.dims[..<2]) + Array(repeating: Dim.unknown, count: s.rank - 2)))]
            }),
            OpSchema("QuantizeLinear", inputs: 2...3, attributes: [
                .optional("axis", .int(1)), .optional("block_size", .int(0)), .optional("output_dtype", .int(0)),
                .optional("saturate", .int(1)), .optional("precision", .int(0)),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                var dtype = DType.uint8
                if let z = ctx.input(2) { dtype = z.dtype } else if let t = CastOps.dtype(onnxCode: try ctx.int("output_dtype", default: 0)) {
                    dtype = t
                }
                return [ValueType(dtype, x.shape)]
            }),
            OpSchema("DequantizeLinear", inputs: 2...3, attributes: [
                .optional("axis", .int(1)), .optional("block_size", .int(0)), .optional("output_dtype", .int(0)),
            ], infer: { ctx in [ctx.input(0).map { ValueType(.float32, $0.shape) }] }),
            OpSchema("DynamicQuantizeLinear", inputs: 1...1, outputs: 3...3, infer: { ctx in
                [ctx.input(0).map { ValueType(.uint8, $0.shape) }, ValueType(.float32, Shape([Dim]())), ValueType(.uint8, Shape([Dim]()))]
            }),
            OpSchema("RNN", inputs: 3...6, outputs: 1...2, attributes: recurrentAttributes, infer: recurrent),
            OpSchema("GRU", inputs: 3...6, outputs: 1...2,
                     attributes: recurrentAttributes + [.optional("linear_before_reset", .int(0))], infer: recurrent),
            OpSchema("LSTM", inputs: 3...8, outputs: 1...3,
                     attributes: recurrentAttributes + [.optional("input_forget", .int(0))], infer: recurrent),
            OpSchema("NonMaxSuppression", inputs: 2...5, attributes: [.optional("center_point_box", .int(0))], infer: { _ in
                [ValueType(.int64, Shape([Dim.unknown, .known(3)]))]
            }),
            OpSchema("DFT", inputs: 1...3, attributes: [
                .optional("inverse", .int(0)), .optional("onesided", .int(0)), .optional("axis", kind: "int"),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                return [ValueType(x.dtype, x.shape.map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) })]
            }),
            OpSchema("AffineGrid", inputs: 2...2, attributes: [.optional("align_corners", .int(0))], infer: { ctx in
                guard let t = ctx.input(0) else { return [nil] }
                guard let size = ctx.constant(1)?.int64s().map({ Int($0) }), size.count >= 4 else { return [ValueType(t.dtype, nil)] }
                return [ValueType(t.dtype, Shape([size[0]] + Array(size[2...]) + [size.count - 2]))]
            }),
            OpSchema("Col2Im", inputs: 3...3, attributes: [
                .optional("dilations", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
            ], infer: { ctx in [ctx.input(0).map { ValueType($0.dtype, nil) }] }),
            OpSchema("MaxUnpool", inputs: 2...3, attributes: [
                .required("kernel_shape", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
            ], infer: { ctx in [ctx.input(0).map { ValueType($0.dtype, $0.shape.map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) }) }] }),
            OpSchema("QLinearMatMul", inputs: 8...8, infer: { ctx in
                guard let zp = ctx.input(7) else { return [nil] }
                return [ValueType(zp.dtype, nil)]
            }),
            OpSchema("MatMulInteger", inputs: 2...4, infer: { _ in [ValueType(.int32, nil)] }),
            OpSchema("BitCast", inputs: 1...1, attributes: [.required("to", kind: "int")], infer: { ctx in
                let code = try ctx.int("to", default: 0)
                // The imported form of the type: floating as float32, unsigned 16/32/64-bit as int64.
                let dtype: DType
                switch code {
                case 4, 12, 13: dtype = .int64
                case 10, 11, 16: dtype = .float32
                default:
                    guard let t = CastOps.dtype(onnxCode: code) else { throw ctx.error("bitcast to unsupported type code \(code)") }
                    dtype = t
                }
                return [ctx.input(0).map { ValueType(dtype, $0.shape) }]
            }),
            OpSchema("TensorScatter", inputs: 2...3, attributes: [.optional("mode", .string("linear")), .optional("axis", .int(-2))],
                     infer: ElementwiseOps.sameAsFirst),
            OpSchema("RoiAlign", inputs: 3...3, attributes: [
                .optional("coordinate_transformation_mode", .string("half_pixel")), .optional("mode", .string("avg")),
                .optional("output_height", .int(1)), .optional("output_width", .int(1)), .optional("sampling_ratio", .int(0)),
                .optional("spatial_scale", .float(1)),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                let r: Dim = ctx.shape(1)?.dims.first ?? .unknown, c: Dim = x.shape.map { $0.rank > 1 ? $0.dims[1] : .unknown } ?? .unknown
                return [ValueType(x.dtype, Shape([r, c, .known(try ctx.int("output_height", default: 1)), .known(try ctx.int("output_width", default: 1))]))]
            }),
            OpSchema("ConvInteger", inputs: 2...4, attributes: [
                .optional("auto_pad", .string("NOTSET")), .optional("dilations", kind: "ints"), .optional("group", .int(1)),
                .optional("kernel_shape", kind: "ints"), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
            ], infer: { ctx in [ValueType(.int32, ctx.shape(0).map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) })] }),
            OpSchema("TfIdfVectorizer", inputs: 1...1, attributes: [
                .required("max_gram_length", kind: "int"), .required("max_skip_count", kind: "int"),
                .required("min_gram_length", kind: "int"), .required("mode", kind: "string"),
                .required("ngram_counts", kind: "ints"), .required("ngram_indexes", kind: "ints"),
                .optional("pool_int64s", kind: "ints"), .optional("pool_strings", kind: "strings"), .optional("weights", kind: "floats"),
            ], infer: { ctx in
                let width = Dim.known(((try ctx.ints("ngram_indexes"))?.max() ?? -1) + 1)
                guard let s = ctx.shape(0) else { return [ValueType(.float32, nil)] }
                return [ValueType(.float32, Shape(s.rank == 2 ? [s.dims[0], width] : [width]))]
            }),
            OpSchema("STFT", inputs: 2...4, attributes: [.optional("onesided", .int(1))], infer: { ctx in
                [ValueType(.float32, Shape([ctx.shape(0)?.dims.first ?? .unknown, .unknown, .unknown, .known(2)]))]
            }),
            OpSchema("MelWeightMatrix", inputs: 5...5, attributes: [.optional("output_datatype", .int(1))], infer: { ctx in
                let code = try ctx.int("output_datatype", default: 1)
                guard let t = CastOps.dtype(onnxCode: code) else { throw ctx.error("unsupported output_datatype \(code)") }
                return [ValueType(t.isFloatingPoint ? .float32 : t, Shape([Dim.unknown, .unknown]))]
            }),
            OpSchema("DeformConv", inputs: 3...5, attributes: [
                .optional("dilations", kind: "ints"), .optional("group", .int(1)), .optional("kernel_shape", kind: "ints"),
                .optional("offset_group", .int(1)), .optional("pads", kind: "ints"), .optional("strides", kind: "ints"),
            ], infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                guard let s = x.shape, let w = ctx.shape(1), let o = ctx.shape(2), s.rank == 4, o.rank == 4, w.rank == 4 else {
                    return [ValueType(x.dtype, nil)]
                }
                return [ValueType(x.dtype, Shape([s.dims[0], w.dims[0], o.dims[2], o.dims[3]]))]
            }),
            OpSchema("LRN", inputs: 1...1, attributes: [
                .optional("alpha", .float(0.0001)), .optional("beta", .float(0.75)), .optional("bias", .float(1)),
                .required("size", kind: "int"),
            ], infer: ElementwiseOps.sameAsFirst),
        ]
        return out
    }

    static let argAttributes: [AttributeSpec] = [
        .optional("axis", .int(0)), .optional("keepdims", .int(1)), .optional("select_last_index", .int(0)),
    ]

    static let lossAttributes: [AttributeSpec] = [
        .optional("ignore_index", kind: "int"), .optional("reduction", .string("mean")),
    ]

    /// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss: the loss (shaped like the target for
    /// `reduction` none, else a scalar) and, for the latter, the log-probabilities.
    @Sendable static func loss(_ ctx: InferenceContext) throws -> [ValueType?] {
        let reduction = try ctx.string("reduction", default: "mean")
        guard ["none", "sum", "mean"].contains(reduction) else { throw ctx.error("reduction '\(reduction)' is not none, sum or mean") }
        guard let x = ctx.input(0) else { return ctx.node.outputs.map { _ in nil } }
        let loss = ValueType(x.dtype, reduction == "none" ? ctx.shape(1) : Shape([Dim]()))
        return Array([loss, x].prefix(ctx.node.outputs.count))
    }

    /// Resize: exact sizes when `scales`/`sizes` are constants (stretch policy), else the rank.
    @Sendable static func resize(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
        let unknown = [ValueType(x.dtype, Shape(Array(repeating: Dim.unknown, count: s.rank)))]
        let axes = try IndexingOps.normalizedAxes(try ctx.ints("axes") ?? Array(0..<s.rank), rank: s.rank)
        guard try ctx.string("keep_aspect_ratio_policy", default: "stretch") == "stretch" else { return unknown }
        func given(_ i: Int) -> Bool { ctx.node.inputs.count > i && !ctx.node.inputs[i].isEmpty && (ctx.shape(i)?.elementCount ?? 1) != 0 }
        var dims = s.dims
        if given(3) {
            guard let sizes = ctx.constant(3), sizes.count == axes.count else { return unknown }
            for (i, a) in axes.enumerated() { dims[a] = .known(Int(sizes.int64s()[i])) }
        } else if given(2) {
            guard let scales = ctx.constant(2), scales.count == axes.count else { return unknown }
            for (i, a) in axes.enumerated() {
                dims[a] = s.dims[a].value.map { .known(Int(scales.doubles()[i] * Double($0))) } ?? .unknown
            }
        } else {
            return unknown
        }
        return [ValueType(x.dtype, Shape(dims), layout: x.layout)]
    }

    /// ConvTranspose: `[N, M, out...]` with `out = stride·(in−1) + output_padding + (k−1)·dilation + 1 − pads`,
    /// or `output_shape`; unknown sizes where the input's or the padding's are.
    @Sendable static func convTranspose(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        guard let s = x.shape, let w = ctx.shape(1), s.rank >= 3, w.rank == s.rank else { return [ValueType(x.dtype, nil)] }
        let n = s.rank - 2, group = try ctx.int("group", default: 1)
        let m: Dim = w.dims[1].value.map { .known($0 * group) } ?? .unknown
        let layout: Layout? = [3: .ncw, 4: .nchw, 5: .ncdhw][s.rank]
        if let out = try ctx.ints("output_shape"), out.count == n {
            return [ValueType(x.dtype, Shape([s.dims[0], m] + out.map(Dim.known)), layout: layout)]
        }
        let strides = try ctx.ints("strides") ?? Array(repeating: 1, count: n)
        let dilations = try ctx.ints("dilations") ?? Array(repeating: 1, count: n)
        let outputPadding = try ctx.ints("output_padding") ?? Array(repeating: 0, count: n)
        let autoPad = try ctx.string("auto_pad", default: "NOTSET")
        let pads = try ctx.ints("pads")
        var dims: [Dim] = [s.dims[0], m]
        for i in 0..<n {
            guard let v = s.dims[i + 2].value else { dims.append(.unknown); continue }
            if pads == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
                dims.append(.known(v * (i < strides.count ? strides[i] : 1)))
                continue
            }
            guard let k = w.dims[i + 2].value, i < strides.count, i < dilations.count, i < outputPadding.count else {
                dims.append(.unknown); continue
            }
            let p = pads.map { $0.count == 2 * n ? $0[i] + $0[i + n] : 0 } ?? 0
            dims.append(.known(strides[i] * (v - 1) + outputPadding[i] + (k - 1) * dilations[i] + 1 - p))
        }
        return [ValueType(x.dtype, Shape(dims), layout: layout)]
    }

    static let windowAttributes: [AttributeSpec] = [.optional("output_datatype", .int(1)), .optional("periodic", .int(1))]

    @Sendable static func window(_ ctx: InferenceContext) throws -> [ValueType?] {
        let code = try ctx.int("output_datatype", default: 1)
        guard let t = CastOps.dtype(onnxCode: code) else { throw ctx.error("unsupported output_datatype \(code)") }
        let n: Dim = ctx.constant(0).map { .known(Int($0.int64s().first ?? 0)) } ?? .unknown
        return [ValueType(t.isFloatingPoint ? .float32 : t, Shape([n]))]
    }

    static let recurrentAttributes: [AttributeSpec] = [
        .optional("activation_alpha", kind: "floats"), .optional("activation_beta", kind: "floats"),
        .optional("activations", kind: "strings"), .optional("clip", kind: "float"), .optional("direction", .string("forward")),
        .required("hidden_size", kind: "int"), .optional("layout", .int(0)),
    ]

    /// RNN/GRU/LSTM: Y `[seq, dirs, batch, hidden]` (layout 1: `[batch, seq, dirs, hidden]`) and the
    /// final states `[dirs, batch, hidden]` (layout 1: `[batch, dirs, hidden]`).
    @Sendable static func recurrent(_ ctx: InferenceContext) throws -> [ValueType?] {
        let n = ctx.node.outputs.count
        guard let x = ctx.input(0) else { return Array(repeating: nil, count: n) }
        let hidden = Dim.known(try ctx.int("hidden_size", default: 0))
        let dirs = Dim.known(try ctx.string("direction", default: "forward") == "bidirectional" ? 2 : 1)
        let layout = try ctx.int("layout", default: 0)
        guard let s = x.shape, s.rank == 3 else { return Array(repeating: ValueType(x.dtype, nil), count: n) }
        let (seq, batch) = layout == 0 ? (s.dims[0], s.dims[1]) : (s.dims[1], s.dims[0])
        let y = layout == 0 ? Shape([seq, dirs, batch, hidden]) : Shape([batch, seq, dirs, hidden])
        let state = layout == 0 ? Shape([dirs, batch, hidden]) : Shape([batch, dirs, hidden])
        return Array([ValueType(x.dtype, y), ValueType(x.dtype, state), ValueType(x.dtype, state)].prefix(n))
    }

    @Sendable static func arg(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let s = ctx.shape(0) else { return [ValueType(.int64, nil)] }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: 0), rank: s.rank)
        var dims = s.dims
        if try ctx.int("keepdims", default: 1) != 0 { dims[axis] = .known(1) } else { dims.remove(at: axis) }
        return [ValueType(.int64, Shape(dims))]
    }

    @Sendable static func oneHot(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let values = ctx.input(2) else { return [nil] }
        guard let s = ctx.shape(0) else { return [ValueType(values.dtype, nil)] }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: -1), rank: s.rank + 1)
        var depth = Dim.unknown
        if let d = ctx.constant(1), d.count == 1 {
            let v = d.doubles()[0]
            guard v >= 1, v < 1e12 else { throw ctx.error("depth \(v) is not positive") }
            depth = .known(Int(v))
        }
        var dims = s.dims
        dims.insert(depth, at: axis)
        return [ValueType(values.dtype, Shape(dims))]
    }

    @Sendable static func topK(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil, nil] }
        guard let s = x.shape else { return [ValueType(x.dtype, nil), ValueType(.int64, nil)] }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: -1), rank: s.rank)
        var dims = s.dims
        let kValue: Int? = try ctx.constant(1).flatMap { $0.count == 1 ? Int($0.int64s()[0]) : nil }
            ?? (ctx.node.inputs.count > 1 ? nil : ctx.node.attributes["k"].map { _ in try ctx.int("k", default: 0) })
        if let v = kValue {
            guard v >= 0 else { throw ctx.error("k \(v) is negative") }
            if let n = s.dims[axis].value, v > n { throw ctx.error("k \(v) is larger than axis size \(n)") }
            dims[axis] = .known(v)
        } else {
            dims[axis] = .unknown
        }
        return [ValueType(x.dtype, Shape(dims)), ValueType(.int64, Shape(dims))]
    }

    static func blocks(_ ctx: InferenceContext, toSpace: Bool) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        let b = try ctx.int("blocksize", default: 0)
        guard b > 0 else { throw ctx.error("blocksize \(b) is not positive") }
        let mode = try ctx.string("mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw ctx.error("mode '\(mode)' is not DCR or CRD") }
        guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
        guard s.rank == 4 else { throw ctx.error("needs a 4-D input, got \(s)") }
        func scale(_ d: Dim, up: Bool) throws -> Dim {
            guard let v = d.value else { return .unknown }
            if up { return .known(try ShapeRules.multiply(v, b)) }
            guard v % b == 0 else { throw ctx.error("size \(v) is not a multiple of \(b)") }
            return .known(v / b)
        }
        let bb = try ShapeRules.multiply(b, b)
        let c: Dim
        if let v = s.dims[1].value {
            if toSpace {
                guard v % bb == 0 else { throw ctx.error("channels \(v) are not a multiple of \(bb)") }
                c = .known(v / bb)
            } else {
                c = .known(try ShapeRules.multiply(v, bb))
            }
        } else {
            c = .unknown
        }
        return [ValueType(x.dtype, Shape([s.dims[0], c, try scale(s.dims[2], up: toSpace), try scale(s.dims[3], up: toSpace)]))]
    }
}
