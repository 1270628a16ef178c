/// Ops that move or relabel elements without computing: Reshape, Flatten, Transpose,
/// Concat, Squeeze, Unsqueeze, and the constant producers Constant and Shape.
enum ShapeOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("Reshape", inputs: 2...2, attributes: [.optional("allowzero", .int(0))], infer: reshape),
            OpSchema("Flatten", inputs: 1...1, attributes: [.optional("axis", .int(1))], infer: flatten),
            OpSchema("Transpose", inputs: 1...1, attributes: [.optional("perm", kind: "ints")], infer: transpose),
            OpSchema("Concat", inputs: 1...Int.max, attributes: [.required("axis", kind: "int")], infer: concat),
            OpSchema("Constant", inputs: 0...0, attributes: [.required("value", kind: "tensor")], infer: { ctx in
                guard let t = ctx.node.attributes["value"]?.tensor else { throw ctx.error("missing tensor attribute 'value'") }
                return [ValueType(t.dtype, Shape(t.shape))]
            }),
            OpSchema("Shape", inputs: 1...1, attributes: [.optional("start", .int(0)), .optional("end", kind: "int")],
                     infer: { ctx in
                // Opset 15: the sizes of axes [start, end), negative values counting from the end, clamped.
                guard let rank = ctx.shape(0)?.rank else { return [ValueType(.int64, Shape([Dim.unknown]))] }
                func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + rank : i, 0), rank) }
                let start = clamp(try ctx.int("start", default: 0)), end = clamp(try ctx.int("end", default: rank))
                return [ValueType(.int64, Shape([max(0, end - start)]))]
            }),
            OpSchema(Node.unsupportedOp, inputs: 0...Int.max, outputs: 0...Int.max, attributes: [
                .required("source_op", kind: "string"), .required("source", kind: "string"),
            ], infer: { ctx in ctx.node.outputs.map { _ in nil } }),
        ]
    }

    @Sendable static func reshape(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        guard let target = ctx.constant(1) else {
            let rank = ctx.shape(1)?.dims.first?.value
            return [ValueType(x.dtype, rank.map { Shape(Array(repeating: Dim.unknown, count: $0)) })]
        }
        guard target.dtype == .int64 || target.dtype == .int32, target.shape.count == 1 else {
            throw ctx.error("shape input must be a 1-D int64 tensor, is \(target)")
        }
        let request = target.int64s().map { Int($0) }
        let allowZero = try ctx.int("allowzero", default: 0) != 0
        var dims: [Dim] = []
        var inferred: Int? = nil
        for (i, r) in request.enumerated() {
            switch r {
            case -1:
                guard inferred == nil else { throw ctx.error("more than one -1 in shape \(request)") }
                inferred = i
                dims.append(.unknown)
            case 0 where !allowZero:
                guard let s = x.shape, i < s.rank else { dims.append(.unknown); continue }
                dims.append(s.dims[i])
            case ..<0:
                throw ctx.error("invalid size \(r) in shape \(request)")
            default:
                dims.append(.known(r))
            }
        }
        if let i = inferred, let total = x.shape?.elementCount {
            let rest = dims.enumerated().filter { $0.offset != i }.map(\.element)
            if let known = Shape(rest).elementCount, known > 0 {
                guard total % known == 0 else { throw ctx.error("cannot reshape \(x.shape!) to \(request)") }
                dims[i] = .known(total / known)
            }
        } else if inferred == nil, let total = x.shape?.elementCount, let n = Shape(dims).elementCount, total != n {
            throw ctx.error("cannot reshape \(x.shape!) (\(total) elements) to \(Shape(dims))")
        }
        return [ValueType(x.dtype, Shape(dims))]
    }

    @Sendable static func flatten(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0), let s = x.shape else { return [ctx.input(0).map { ValueType($0.dtype, nil) }] }
        var axis = try ctx.int("axis", default: 1)
        if axis < 0 { axis += s.rank }
        guard axis >= 0, axis <= s.rank else { throw ctx.error("axis \(axis) is out of range for rank \(s.rank)") }
        func product(_ d: ArraySlice<Dim>) throws -> Dim {
            if d.count == 1 { return d.first! }
            var n = 1
            for x in d { guard let v = x.value else { return .unknown }; n = try ShapeRules.multiply(n, v) }
            return .known(n)
        }
        return [ValueType(x.dtype, Shape([try product(s.dims[..<axis]), try product(s.dims[axis...])]))]
    }

    @Sendable static func transpose(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0), let s = x.shape else { return [ctx.input(0)] }
        let perm = try ctx.ints("perm") ?? Array((0..<s.rank).reversed())
        guard perm.count == s.rank, Set(perm) == Set(0..<s.rank) else {
            throw ctx.error("perm \(perm) is not a permutation of rank \(s.rank)")
        }
        return [ValueType(x.dtype, Shape(perm.map { s.dims[$0] }))]
    }

    @Sendable static func concat(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let first = ctx.input(0), let s0 = first.shape else { return [ctx.input(0)] }
        guard s0.rank > 0 else { throw ctx.error("input 0 is a scalar; Concat needs rank 1 or more") }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: 0), rank: s0.rank)
        var dims = s0.dims
        var total: Int? = s0.dims[axis].value
        for i in 1..<ctx.inputTypes.count {
            guard let s = ctx.shape(i) else { return [ValueType(first.dtype, nil)] }
            guard s.rank == s0.rank else { throw ctx.error("input \(i) has rank \(s.rank), expected \(s0.rank)") }
            for d in 0..<s.rank where d != axis {
                if case .known(let p) = dims[d], case .known(let q) = s.dims[d], p != q {
                    throw ctx.error("input \(i) has shape \(s), incompatible with \(s0) on axis \(d)")
                }
            }
            if let t = total, let v = s.dims[axis].value { total = try ShapeRules.add(t, v) } else { total = nil }
        }
        dims[axis] = total.map(Dim.known) ?? .unknown
        let layout = first.layout
        return [ValueType(first.dtype, Shape(dims), layout: layout)]
    }
}

// MARK: - Gradients

extension ShapeOps {
    /// Ops that only move elements: the cotangent moves back.
    static let vjps: [String: VJPRule] = [
        "Reshape": { ctx in [reshapeBack(&ctx), nil] },
        "Flatten": { ctx in [reshapeBack(&ctx)] },
        "Squeeze": { ctx in [reshapeBack(&ctx), nil] },
        "Unsqueeze": { ctx in [reshapeBack(&ctx), nil] },
        "Transpose": { ctx in
            guard let rank = ctx.rank(ctx.input(0)) else { throw ctx.error("gradient of Transpose needs the input rank") }
            let perm = ctx.attribute("perm")?.ints ?? Array((0..<rank).reversed())
            var inverse = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [ctx.emit("Transpose", [ctx.dy], ["perm": .ints(inverse)])]
        },
        "Concat": { ctx in
            guard let rank = ctx.rank(ctx.output(0)) else { throw ctx.error("gradient of Concat needs the output rank") }
            var axis = ctx.attribute("axis")?.int ?? 0
            if axis < 0 { axis += rank }
            var offset = 0
            var grads: [String?] = []
            for (i, input) in ctx.node.inputs.enumerated() {
                guard let size = ctx.types[input]?.shape?.dims[axis].value else {
                    throw ctx.error("gradient of Concat needs the inputs' sizes along axis \(axis)")
                }
                grads.append(ctx.needs(i) ? ctx.emit("Slice", [ctx.dy, ctx.int64s([offset]), ctx.int64s([offset + size]), ctx.int64s([axis])]) : nil)
                offset += size
            }
            return grads
        },
    ]

    /// `Reshape(dy, Shape(x))`: the cotangent in the input's shape.
    static func reshapeBack(_ ctx: inout VJPContext) -> String {
        ctx.emit("Reshape", [ctx.dy, ctx.emit("Shape", [ctx.input(0)])])
    }
}
