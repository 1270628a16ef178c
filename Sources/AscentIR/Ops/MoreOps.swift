/// More ONNX ops (latest-opset semantics): type and size queries (`CastLike`, `Size`), integer and
/// float arithmetic (`Mod`, `BitShift`, `Bitwise*`), more math maps (`Acos`... `Cosh`, `IsNaN`,
/// `IsInf`, `Shrink`), index selection (`ArgMax`, `ArgMin`, `GatherElements`, `TopK`, `Trilu`,
/// `OneHot`, `EyeLike`, `CumSum`, `Hardmax`), block rearrangement (`DepthToSpace`,
/// `SpaceToDepth`), normalizations (`LpNormalization`, `InstanceNormalization`,
/// `GroupNormalization`, `RMSNormalization`, `MeanVarianceNormalization`, `LRN`) and the
/// reductions `ReduceL1`, `ReduceL2`, `ReduceLogSum`, `ReduceLogSumExp`, `ReduceSumSquare`.
public enum MoreOps {
    static let mathUnary = ["Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Tan", "Sinh", "Cosh"]
    static let moreReductions = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]

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
            OpSchema("EyeLike", inputs: 1...1, attributes: [.optional("dtype", kind: "int"), .optional("k", .int(0))],
                     infer: { ctx in
                guard let x = ctx.input(0) else { return [nil] }
                var dtype = x.dtype
                if ctx.node.attributes["dtype"] != nil {
                    let code = try ctx.int("dtype", default: 1)
                    guard let t = CastOps.dtype(onnxCode: code) else { throw ctx.error("unsupported dtype code \(code)") }
                    dtype = t
                }
                if let s = x.shape, s.rank != 2 { throw ctx.error("EyeLike needs a 2-D input, got \(s)") }
                return [ValueType(dtype, x.shape)]
            }),
            OpSchema("OneHot", inputs: 3...3, attributes: [.optional("axis", .int(-1))], infer: oneHot),
            OpSchema("TopK", inputs: 2...2, outputs: 2...2, attributes: [
                .optional("axis", .int(-1)), .optional("largest", .int(1)), .optional("sorted", .int(1)),
            ], infer: topK),
            OpSchema("DepthToSpace", inputs: 1...1, attributes: [
                .required("blocksize", kind: "int"), .optional("mode", .string("DCR")),
            ], infer: { try blocks($0, toSpace: true) }),
            OpSchema("SpaceToDepth", inputs: 1...1, attributes: [.required("blocksize", kind: "int")],
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
        if let k = ctx.constant(1), k.count == 1 {
            let v = Int(k.int64s()[0])
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
        if toSpace {
            let mode = try ctx.string("mode", default: "DCR")
            guard mode == "DCR" || mode == "CRD" else { throw ctx.error("mode '\(mode)' is not DCR or CRD") }
        }
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
