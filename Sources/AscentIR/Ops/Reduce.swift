/// Reductions over a set of axes: `ReduceMean`, `ReduceSum`, `ReduceMax`, `ReduceMin`, `ReduceProd`.
///
/// ONNX opset-18 form: `axes` is an optional int64 input (the older `axes` attribute is read
/// when the input is absent). No axes reduce everything, unless `noop_with_empty_axes` is 1,
/// when the op is an identity. `keepdims` (default 1) keeps reduced axes with size 1.
public enum ReduceOps {
    static let names = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]

    static var schemas: [OpSchema] {
        names.map {
            OpSchema($0, inputs: 1...2, attributes: [
                .optional("keepdims", .int(1)), .optional("noop_with_empty_axes", .int(0)),
                .optional("axes", kind: "ints"),
            ], infer: reduce)
        }
    }

    /// The reduced axes (normalized, sorted) for `rank`, from the given list: nil or empty means
    /// all axes, or none when `noopWithEmptyAxes`.
    public static func reducedAxes(_ axes: [Int]?, rank: Int, noopWithEmptyAxes: Bool) throws -> [Int] {
        guard let axes, !axes.isEmpty else { return noopWithEmptyAxes ? [] : Array(0..<rank) }
        return try IndexingOps.normalizedAxes(axes, rank: rank).sorted()
    }

    @Sendable static func reduce(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
        let keep = try ctx.int("keepdims", default: 1) != 0
        let given: [Int]?
        if ctx.node.inputs.count > 1, !ctx.node.inputs[1].isEmpty {
            guard let t = ctx.constant(1) else {
                return [ValueType(x.dtype, keep ? Shape(Array(repeating: Dim.unknown, count: s.rank)) : nil)]
            }
            given = t.int64s().map { Int($0) }
        } else {
            given = try ctx.ints("axes")
        }
        let axes = try reducedAxes(given, rank: s.rank, noopWithEmptyAxes: try ctx.int("noop_with_empty_axes", default: 0) != 0)
        var dims: [Dim] = []
        for (i, d) in s.dims.enumerated() {
            if !axes.contains(i) { dims.append(d) } else if keep { dims.append(.known(1)) }
        }
        return [ValueType(x.dtype, Shape(dims), layout: keep ? x.layout : nil)]
    }
}

// MARK: - Gradients

extension ReduceOps {
    static let vjps: [String: VJPRule] = [
        "ReduceSum": { ctx in [try spread(&ctx, scale: nil), nil] },
        "ReduceMean": { ctx in
            let (axes, rank) = try reduced(&ctx)
            guard let shape = ctx.types[ctx.input(0)]?.shape,
                  let count = Shape(axes.map { shape.dims[$0] }).elementCount, count > 0 else {
                throw ctx.error("gradient of ReduceMean needs the reduced sizes")
            }
            _ = rank
            return [try spread(&ctx, scale: 1 / Float(count)), nil]
        },
        "ReduceMax": extremum,
        "ReduceMin": extremum,
    ]

    /// The reduced axes (normalized) and the input rank.
    static func reduced(_ ctx: inout VJPContext) throws -> ([Int], Int) {
        guard let rank = ctx.rank(ctx.input(0)) else { throw ctx.error("gradient of \(ctx.node.op) needs the input rank") }
        var given = ctx.attribute("axes")?.ints
        if ctx.node.inputs.count > 1, !ctx.input(1).isEmpty {
            guard let axes = ctx.constantInts(1) else { throw ctx.error("gradient of \(ctx.node.op) needs constant axes") }
            given = axes
        }
        let axes = try reducedAxes(given, rank: rank,
                                   noopWithEmptyAxes: (ctx.attribute("noop_with_empty_axes")?.int ?? 0) != 0)
        return (axes, rank)
    }

    /// `dy` with the reduced axes restored (size 1) when keepdims was 0.
    static func kept(_ ctx: inout VJPContext, _ v: String, axes: [Int]) -> String {
        (ctx.attribute("keepdims")?.int ?? 1) != 0 || axes.isEmpty ? v : ctx.emit("Unsqueeze", [v], ["axes": .ints(axes)])
    }

    /// dy broadcast back over the reduced axes (× scale).
    static func spread(_ ctx: inout VJPContext, scale: Float?) throws -> String {
        let (axes, _) = try reduced(&ctx)
        var g = kept(&ctx, ctx.dy, axes: axes)
        if let scale { g = ctx.emit("Mul", [g, ctx.scalar(scale)]) }
        return ctx.emit("Expand", [g, ctx.emit("Shape", [ctx.input(0)])])
    }

    /// Max/Min: the gradient is shared equally by the elements equal to the result (as TensorFlow does).
    static let extremum: VJPRule = { ctx in
        let (axes, _) = try reduced(&ctx)
        let x = ctx.input(0)
        let y = kept(&ctx, ctx.output(0), axes: axes)
        let hits = ctx.emit("Cast", [ctx.emit("Equal", [x, y])], ["to": .int(1)])
        let count = ctx.emit("ReduceSum", [hits], ["axes": .ints(axes), "keepdims": .int(1)])
        let share = ctx.emit("Div", [kept(&ctx, ctx.dy, axes: axes), count])
        return [ctx.emit("Mul", [hits, share]), nil]
    }
}
