/// Vector-Jacobian products of the ops that select, scatter or rearrange elements: `Gather`
/// (any axis), `GatherElements`, `GatherND`, `Compress`, `TopK` (values), `ScatterElements`,
/// `ScatterND`, `Tile`, `CumSum`, `CumProd` (backward primitive `CumProdGrad`), `Trilu`, `ReverseSequence`, `DepthToSpace`, `SpaceToDepth`,
/// `CenterCropPad`. Each is linear in its floating inputs, so its cotangent is the adjoint
/// selection: gathers scatter-add `dy` into zeros, permutations apply their inverse (CumProd
/// excepted).
extension IndexingOps {
    static let moreVJPs: [String: VJPRule] = [
        "Gather": { ctx in
            guard let rank = ctx.rank(ctx.input(1)) else { throw ctx.error("gradient of Gather needs the indices' rank") }
            let axis = ctx.attribute("axis")?.int ?? 0
            return [try gatherBackward(&ctx, indices: ctx.input(1), indexRank: rank, axis: axis), nil]
        },
        "Compress": { ctx in  // a Gather of the positions where the condition holds
            let positions = ctx.emit("Reshape", [ctx.emit("NonZero", [ctx.input(1)]), ctx.int64s([-1])])
            if let axis = ctx.attribute("axis")?.int {
                return [try gatherBackward(&ctx, indices: positions, indexRank: 1, axis: axis), nil]
            }
            let flat = ctx.emit("Reshape", [ctx.input(0), ctx.int64s([-1])])
            let column = ctx.emit("Unsqueeze", [positions], ["axes": .ints([1])])
            let scattered = ctx.emit("ScatterND", [ctx.zeros(like: flat), column, ctx.dy], ["reduction": .string("add")])
            return [ctx.emit("Reshape", [scattered, ctx.emit("Shape", [ctx.input(0)])]), nil]
        },
        "GatherElements": { ctx in
            [ctx.emit("ScatterElements", [ctx.zeros(like: ctx.input(0)), ctx.input(1), ctx.dy],
                      ["axis": .int(ctx.attribute("axis")?.int ?? 0), "reduction": .string("add")]), nil]
        },
        "GatherND": { ctx in
            guard (ctx.attribute("batch_dims")?.int ?? 0) == 0 else { throw ctx.error("gradient of GatherND with batch_dims is not supported") }
            return [ctx.emit("ScatterND", [ctx.zeros(like: ctx.input(0)), ctx.input(1), ctx.dy], ["reduction": .string("add")]), nil]
        },
        "TopK": { ctx in  // the values' cotangent back where they were taken from
            guard let dy = ctx.cotangents[0] else { return [nil, nil] }
            guard ctx.node.outputs.count > 1, !ctx.output(1).isEmpty else { throw ctx.error("gradient of TopK needs its indices output") }
            return [ctx.emit("ScatterElements", [ctx.zeros(like: ctx.input(0)), ctx.output(1), dy],
                             ["axis": .int(ctx.attribute("axis")?.int ?? -1), "reduction": .string("add")]), nil]
        },
        "ScatterElements": { ctx in
            let axis = Attribute.int(ctx.attribute("axis")?.int ?? 0)
            return [try scatterData(&ctx, "ScatterElements", ["axis": axis]), nil,
                    ctx.needs(2) ? ctx.emit("GatherElements", [ctx.dy, ctx.input(1)], ["axis": axis]) : nil]
        },
        "ScatterND": { ctx in
            [try scatterData(&ctx, "ScatterND", [:]), nil, ctx.needs(2) ? ctx.emit("GatherND", [ctx.dy, ctx.input(1)]) : nil]
        },
        "Tile": { ctx in  // dy viewed as [r0, d0, r1, d1, ...], summed over the repeats
            guard let rank = ctx.rank(ctx.input(0)) else { throw ctx.error("gradient of Tile needs the input rank") }
            func column(_ v: String) -> String { ctx.emit("Unsqueeze", [v], ["axes": .ints([1])]) }
            let repeats = column(ctx.emit("Cast", [ctx.input(1)], ["to": .int(7)]))
            let pairs = ctx.emit("Concat", [repeats, column(ctx.emit("Shape", [ctx.input(0)]))], ["axis": .int(1)])
            let blocks = ctx.emit("Reshape", [ctx.dy, ctx.emit("Reshape", [pairs, ctx.int64s([-1])])])
            return [ctx.emit("ReduceSum", [blocks], ["axes": .ints((0..<rank).map { 2 * $0 }), "keepdims": .int(0)]), nil]
        },
        "CumSum": { ctx in  // the running sum taken from the other end
            var attributes = ctx.node.attributes
            attributes["reverse"] = .int((ctx.attribute("reverse")?.int ?? 0) != 0 ? 0 : 1)
            return [ctx.emit("CumSum", [ctx.dy, ctx.input(1)], attributes), nil]
        },
        "CumProd": { ctx in [ctx.emit("CumProdGrad", [ctx.dy, ctx.input(0), ctx.input(1)], ctx.node.attributes), nil] },
        // Masks and permutations: the same mask, the inverse permutation.
        "Trilu": { ctx in [ctx.emit("Trilu", [ctx.dy] + Array(ctx.node.inputs.dropFirst()), ctx.node.attributes), nil] },
        "ReverseSequence": { ctx in [ctx.emit("ReverseSequence", [ctx.dy, ctx.input(1)], ctx.node.attributes), nil] },
        "DepthToSpace": { ctx in [ctx.emit("SpaceToDepth", [ctx.dy], ctx.node.attributes)] },
        "SpaceToDepth": { ctx in [ctx.emit("DepthToSpace", [ctx.dy], ctx.node.attributes)] },
        "CenterCropPad": { ctx in  // cropping and padding about the centre are each other's adjoints
            var sizes = ctx.emit("Shape", [ctx.input(0)])
            if let axes = ctx.attribute("axes")?.ints { sizes = ctx.emit("Gather", [sizes, ctx.int64s(axes)]) }
            return [ctx.emit("CenterCropPad", [ctx.dy, sizes], ctx.node.attributes), nil]
        },
    ]

    /// The cotangent of `Gather(data, indices, axis)` for data: `dy`'s slices added into zeros at
    /// the indexed positions (repeated indices accumulate), through ScatterND along axis 0 with
    /// the axis moved to the front and back.
    static func gatherBackward(_ ctx: inout VJPContext, indices: String, indexRank q: Int, axis: Int) throws -> String {
        let data = ctx.input(0)
        guard let rank = ctx.rank(data) else { throw ctx.error("gradient of \(ctx.node.op) needs the data rank") }
        let a = try ShapeRules.axis(axis, rank: rank)
        let column = ctx.emit("Unsqueeze", [indices], ["axes": .ints([-1])])
        let add: [String: Attribute] = ["reduction": .string("add")]
        guard a > 0 else { return ctx.emit("ScatterND", [ctx.zeros(like: data), column, ctx.dy], add) }
        let perm = [a] + Array(0..<a) + Array((a + 1)..<rank)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        let dyPerm = Array(a..<(a + q)) + Array(0..<a) + Array((a + q)..<(rank - 1 + q))
        let movedDy = ctx.emit("Transpose", [ctx.dy], ["perm": .ints(dyPerm)])
        let movedShape = ctx.emit("Gather", [ctx.emit("Shape", [data]), ctx.int64s(perm)])
        let zeros = ctx.emit("ConstantOfShape", [movedShape], ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))])
        let scattered = ctx.emit("ScatterND", [zeros, column, movedDy], add)
        return ctx.emit("Transpose", [scattered], ["perm": .ints(inverse)])
    }

    /// The data cotangent of a scatter: `dy` where the scatter kept data (zeros where `reduction`
    /// none overwrote it; all of `dy` for `add`).
    static func scatterData(_ ctx: inout VJPContext, _ op: String, _ attributes: [String: Attribute]) throws -> String? {
        let reduction = ctx.attribute("reduction")?.string ?? "none"
        guard reduction == "none" || reduction == "add" else {
            throw ctx.error("gradient of \(op) with reduction '\(reduction)' is not supported")
        }
        guard ctx.needs(0) else { return nil }
        return reduction == "add" ? ctx.dy : ctx.emit(op, [ctx.dy, ctx.input(1), ctx.zeros(like: ctx.input(2))], attributes)
    }
}
