/// Reductions over a set of axes — `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`,
/// `ReduceProd`, `ReduceL1`, `ReduceL2`, `ReduceLogSum`, `ReduceLogSumExp`, `ReduceSumSquare` —
/// the index reductions `ArgMax`, `ArgMin`, the running `CumSum` and `CumProd`, and the backward
/// primitives `SumTo(g, ref)` (sums g over the axes broadcasting added, down to ref's shape: the
/// gradient engine's unbroadcast) and `CumProdGrad(dy, x, axis)`.
///
/// `axes` is an input (the opset-18 form; ReduceSum's from 13) or, in older forms and in graphs
/// Ascent builds, an attribute. No axes reduce everything, unless `noop_with_empty_axes` is 1, when
/// the op is an identity. `keepdims` (default 1) keeps reduced axes with size 1.
///
/// Gradient conventions: Max/Min share the gradient equally among the elements equal to the
/// result (TensorFlow); ReduceL1 has slope 0 at 0; ReduceL2 passes nothing where the norm is 0
/// (PyTorch); ReduceProd is exact where elements are 0 (the product of the others).
extension OpDefinition {
    public static let reduceSum: OpDefinition = reduction("ReduceSum", onnx: [1, 11, 13], axesInputSince: 13, values: { ctx in
        try reducedValue(ctx) { $0.reduce(Dim.known(0), +) }
    }) { g in [try spread(g, scale: nil), nil] }
    public static let reduceMean: OpDefinition = reduction("ReduceMean", onnx: [1, 11, 13, 18]) { g in
        let axes = try reducedAxes(g)
        guard let shape = g.shape(0), let count = Shape(axes.map { shape.dims[$0] }).elementCount, count > 0 else {
            throw g.error("gradient of ReduceMean needs the reduced sizes")
        }
        return [try spread(g, scale: 1 / Float(count)), nil]
    }
    public static let reduceMax: OpDefinition = reduction("ReduceMax", onnx: [1, 11, 12, 13, 18, 20], vjp: extremumReduction)
    public static let reduceMin: OpDefinition = reduction("ReduceMin", onnx: [1, 11, 12, 13, 18, 20], vjp: extremumReduction)
    public static let reduceProd: OpDefinition = reduction("ReduceProd", onnx: [1, 11, 13, 18], values: { ctx in
        try reducedValue(ctx) { Dim.product($0) }
    }) { g in
        // dy times the product of the other reduced elements: the reduced axes moved last and
        // flattened, then exclusive cumulative products from both ends multiplied.
        let axes = try reducedAxes(g)
        guard !axes.isEmpty, let rank = g.rank(0) else { return [g.dy, nil] }
        let others = (0..<rank).filter { !axes.contains($0) }
        let perm = others + axes
        let moved = g.x.transposed(perm)
        let rows = moved.apply(.flatten, [], ["axis": .int(others.count)])
        let axis = g.ints([1])
        let before = rows.apply(.cumProd, [axis], ["exclusive": .int(1)])
        let after = rows.apply(.cumProd, [axis], ["exclusive": .int(1), "reverse": .int(1)])
        let othersProduct = (before * after).reshaped(like: moved).transposed(ShapeRules.inverse(perm))
        return [othersProduct * kept(g, g.dy, axes: axes), nil]
    }
    public static let reduceSumSquare: OpDefinition = reduction("ReduceSumSquare", onnx: [1, 11, 13, 18]) { g in  // 2·x·dy
        [try spreadDy(g) * (g.x * 2), nil]
    }
    public static let reduceL1: OpDefinition = reduction("ReduceL1", onnx: [1, 11, 13, 18]) { g in [try spreadDy(g) * g.x.sign(), nil] }
    public static let reduceL2: OpDefinition = reduction("ReduceL2", onnx: [1, 11, 13, 18]) { g in  // x·dy/y, 0 where y = 0
        let axes = try reducedAxes(g)
        let y = kept(g, g.y, axes: axes)
        let ratio = select(y.apply(.equal, [g.scalar(0)]), 0, kept(g, g.dy, axes: axes) / y)
        return [g.x * expandLikeInput(g, ratio), nil]
    }
    public static let reduceLogSum: OpDefinition = reduction("ReduceLogSum", onnx: [1, 11, 13, 18, 28]) { g in  // dy/Σx = dy/exp(y)
        let axes = try reducedAxes(g)
        return [expandLikeInput(g, kept(g, g.dy, axes: axes) / kept(g, g.y, axes: axes).exp()), nil]
    }
    public static let reduceLogSumExp: OpDefinition = reduction("ReduceLogSumExp", onnx: [1, 11, 13, 18, 28]) { g in  // dy·exp(x − y)
        let axes = try reducedAxes(g)
        return [(g.x - kept(g, g.y, axes: axes)).exp() * kept(g, g.dy, axes: axes), nil]
    }

    public static let argMax: OpDefinition = argReduction("ArgMax")
    public static let argMin: OpDefinition = argReduction("ArgMin")

    public static let cumSum: OpDefinition = OpDefinition(
        "CumSum", inputs: 2...2, attributes: CumulativeAttributes.self, onnx: ONNXHistory([11, 14]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in  // the running sum taken from the other end
            var attributes = g.node.attributes
            attributes["reverse"] = .int(try g.attributes(CumulativeAttributes.self).reverse ? 0 : 1)
            return [g.dy.apply(.cumSum, [g.input(1)], attributes), nil]
        })
    public static let cumProd: OpDefinition = OpDefinition(
        "CumProd", inputs: 2...2, attributes: CumulativeAttributes.self, onnx: ONNXHistory([26]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in [g.emit(.cumProdGrad, [g.dy, g.x, g.input(1)], g.node.attributes), nil] })
    public static let cumProdGrad: OpDefinition = backward("CumProdGrad", inputs: 3...3, attributes: CumulativeAttributes.self, like: 1)

    public static let sumTo: OpDefinition = OpDefinition(
        "SumTo", domain: ascentDomain, inputs: 2...2, traits: .backward,
        shape: { ctx in
            guard let g = ctx.input(0) else { return [nil] }
            return [ValueType(g.dtype, ctx.shape(1), layout: ctx.input(1)?.layout)]
        })

    // MARK: Builders

    static func reduction(_ name: String, onnx versions: [Int], axesInputSince: Int = 18, values: ValueRule? = nil,
                          vjp: @escaping VJPRule) -> OpDefinition {
        OpDefinition(name, inputs: 1...2, attributes: ReduceAttributes.self, traits: .reduction,
                     onnx: ONNXHistory(versions, changes: [
                        .inputWasAttribute(input: 1, attribute: "axes", until: axesInputSince),
                        .attributeAdded("noop_with_empty_axes", since: axesInputSince),
                     ]),
                     shape: reduceShape, values: values, vjp: vjp)
    }

    static func argReduction(_ name: String) -> OpDefinition {
        OpDefinition(name, inputs: 1...1, attributes: ArgReductionAttributes.self,
                     onnx: ONNXHistory([1, 11, 12, 13], changes: [.attributeAdded("select_last_index", since: 12)]),
                     shape: { ctx in
                         guard let s = ctx.shape(0) else { return [ValueType(.int64, nil)] }
                         let a = try ctx.attributes(ArgReductionAttributes.self)
                         let axis = try ShapeRules.axis(a.axis, rank: s.rank)
                         var dims = s.dims
                         if a.keepDims { dims[axis] = .known(1) } else { dims.remove(at: axis) }
                         return [ValueType(.int64, Shape(dims))]
                     })
    }

    /// The reduced axes given by input 1 (when it is a constant) or the attribute, normalized for
    /// `rank`; nil when input 1 is given but not known.
    static func givenAxes(_ ctx: ShapeContext, rank: Int) throws -> [Int]? {
        let a = try ctx.attributes(ReduceAttributes.self)
        var given = a.axes
        if ctx.has(1) {
            guard let v = ctx.ints(1) else { return nil }
            given = v
        }
        return try ShapeRules.reducedAxes(given, rank: rank, noopWithEmptyAxes: a.noopWithEmptyAxes)
    }

    static let reduceShape: ShapeRule = { ctx in
        guard let x = ctx.input(0) else { return [nil] }
        guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
        let keep = try ctx.attributes(ReduceAttributes.self).keepDims
        guard let axes = try givenAxes(ctx, rank: s.rank) else {
            return [ValueType(x.dtype, keep ? Shape(Array(repeating: Dim.unknown, count: s.rank)) : nil)]
        }
        var dims: [Dim] = []
        for (i, d) in s.dims.enumerated() {
            if !axes.contains(i) { dims.append(d) } else if keep { dims.append(.known(1)) }
        }
        return [ValueType(x.dtype, Shape(dims), layout: keep ? x.layout : nil)]
    }

    /// The symbolic value of a full reduction of a size vector (`ReduceProd(Shape(x))`).
    static func reducedValue(_ ctx: ShapeContext, _ combine: ([Dim]) -> Dim) throws -> [[Dim]?] {
        guard let v = ctx.dims(0), let s = ctx.shape(0), s.rank <= 1,
              let axes = try givenAxes(ctx, rank: s.rank), axes.count == s.rank else { return [nil] }
        return [[combine(v)]]
    }

    // MARK: Gradients

    /// The reduced axes of the forward node (normalized).
    static func reducedAxes(_ g: VJPContext) throws -> [Int] {
        guard let rank = g.rank(0) else { throw g.error("gradient of \(g.node.op) needs the input rank") }
        let a = try g.attributes(ReduceAttributes.self)
        var given = a.axes
        if g.has(1) {
            guard let axes = g.constantInts(1) else { throw g.error("gradient of \(g.node.op) needs constant axes") }
            given = axes
        }
        return try ShapeRules.reducedAxes(given, rank: rank, noopWithEmptyAxes: a.noopWithEmptyAxes)
    }

    /// `v` with the reduced axes restored (size 1) when keepdims was 0.
    static func kept(_ g: VJPContext, _ v: ValueRef, axes: [Int]) -> ValueRef {
        ((try? g.attributes(ReduceAttributes.self).keepDims) ?? true) || axes.isEmpty ? v : v.unsqueezed(axes)
    }

    /// `v` (shaped like the reduction with kept axes) expanded to the input's shape.
    static func expandLikeInput(_ g: VJPContext, _ v: ValueRef) -> ValueRef { v.expanded(g.x.shapeOf()) }

    /// `dy` with the reduced axes restored and expanded to the input's shape.
    static func spreadDy(_ g: VJPContext) throws -> ValueRef { expandLikeInput(g, kept(g, g.dy, axes: try reducedAxes(g))) }

    /// dy broadcast back over the reduced axes (× scale).
    static func spread(_ g: VJPContext, scale: Float?) throws -> ValueRef {
        var d = kept(g, g.dy, axes: try reducedAxes(g))
        if let scale { d = d * scale }
        return expandLikeInput(g, d)
    }

    /// Max/Min: the gradient is shared equally by the elements equal to the result.
    static let extremumReduction: VJPRule = { g in
        let axes = try reducedAxes(g)
        let hits = g.x.apply(.equal, [kept(g, g.y, axes: axes)]).cast(to: .float32)
        let count = hits.sum(axes: axes)
        return [hits * (kept(g, g.dy, axes: axes) / count), nil]
    }
}

public struct ReduceAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .int("keepdims", 1), .int("noop_with_empty_axes", 0), .optional("axes", kind: "ints"),
    ]
    public let keepDims: Bool, noopWithEmptyAxes: Bool
    /// The `axes` attribute (older forms and Ascent's own graphs).
    public let axes: [Int]?
    public init(_ a: AttributeReader) throws {
        keepDims = try a.bool("keepdims")
        noopWithEmptyAxes = try a.bool("noop_with_empty_axes")
        axes = try a.ints("axes")
    }
}

public struct ArgReductionAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 0), .int("keepdims", 1), .int("select_last_index", 0)]
    public let axis: Int, keepDims: Bool, selectLastIndex: Bool
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        keepDims = try a.bool("keepdims")
        selectLastIndex = try a.bool("select_last_index")
    }
}

public struct CumulativeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("exclusive", 0), .int("reverse", 0)]
    public let exclusive: Bool, reverse: Bool
    public init(_ a: AttributeReader) throws {
        exclusive = try a.bool("exclusive")
        reverse = try a.bool("reverse")
    }
}
