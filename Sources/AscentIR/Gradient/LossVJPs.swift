/// Vector-Jacobian products of the losses of ``MoreOps``: `NegativeLogLikelihoodLoss` and
/// `SoftmaxCrossEntropyLoss` (with respect to the scores; targets are integers and the class
/// weights are taken as constants).
///
/// Per target position, loss = −w[t]·logp[n, t, ...] (0 at `ignore_index`), summed, or divided
/// by Σ w[t] for `mean`: the cotangent of logp is −w[t]·dy/norm at the target class, and through
/// SoftmaxCrossEntropyLoss's log-softmax dx = g − softmax(x)·Σ_c g.
extension MoreOps {
    static let lossVJPs: [String: VJPRule] = [
        "NegativeLogLikelihoodLoss": { ctx in [try targetCotangent(&ctx), nil, nil] },
        "SoftmaxCrossEntropyLoss": { ctx in
            var g = try targetCotangent(&ctx)
            if ctx.cotangents.count > 1, let logProbabilities = ctx.cotangents[1] {
                g = g.map { ctx.emit("Add", [$0, logProbabilities]) } ?? logProbabilities
            }
            guard let g else { return [nil, nil, nil] }
            let probabilities = ctx.node.outputs.count > 1 && !ctx.output(1).isEmpty
                ? ctx.emit("Exp", [ctx.output(1)]) : ctx.emit("Softmax", [ctx.input(0)], ["axis": .int(1)])
            let total = ctx.emit("ReduceSum", [g], ["axes": .ints([1]), "keepdims": .int(1)])
            return [ctx.emit("Sub", [g, ctx.emit("Mul", [probabilities, total])]), nil, nil]
        },
    ]

    /// The cotangent of the log-probabilities from the loss output's: −w[t]·dy/norm scattered to
    /// the target class (axis 1) of zeros shaped like the scores; nil when the loss gets none.
    static func targetCotangent(_ ctx: inout VJPContext) throws -> String? {
        guard let dy = ctx.cotangents[0] else { return nil }
        guard !ctx.needs(2) else { throw ctx.error("gradient of \(ctx.node.op)'s class weights is not supported") }
        var target = ctx.input(1)
        var coefficient: String
        if let ignore = ctx.attribute("ignore_index")?.int {
            let kept = ctx.emit("Not", [ctx.emit("Equal", [target, ctx.emit("CastLike", [ctx.int64s([ignore]), target])])])
            target = ctx.emit("Where", [kept, target, ctx.emit("CastLike", [ctx.int64s([0]), target])])
            coefficient = ctx.emit("Cast", [kept], ["to": .int(1)])
        } else {
            coefficient = ctx.emit("ConstantOfShape", [ctx.emit("Shape", [target])], ["value": .tensor(Tensor(shape: [1], scalars: [Float(1)]))])
        }
        if ctx.node.inputs.count > 2, !ctx.input(2).isEmpty {
            coefficient = ctx.emit("Mul", [coefficient, ctx.emit("Gather", [ctx.input(2), target])])
        }
        var scale = dy
        if (ctx.attribute("reduction")?.string ?? "mean") == "mean" {
            scale = ctx.emit("Div", [dy, ctx.emit("ReduceSum", [coefficient], ["keepdims": .int(0)])])
        }
        let updates = ctx.emit("Unsqueeze", [ctx.emit("Neg", [ctx.emit("Mul", [coefficient, scale])])], ["axes": .ints([1])])
        let indices = ctx.emit("Unsqueeze", [target], ["axes": .ints([1])])
        return ctx.emit("ScatterElements", [ctx.zeros(like: ctx.input(0)), indices, updates], ["axis": .int(1)])
    }
}
