/// Losses: `NegativeLogLikelihoodLoss` and `SoftmaxCrossEntropyLoss` (which also gives the
/// log-probabilities).
///
/// Per target position, loss = −w[t]·logp[n, t, ...] (0 at `ignore_index`), summed, or divided by
/// Σ w[t] for `mean`. Gradients are with respect to the scores (targets are integers, class
/// weights constants): the cotangent of logp is −w[t]·dy/norm at the target class, and through
/// SoftmaxCrossEntropyLoss's log-softmax `dx = g − softmax(x)·Σ_c g`.
extension OpDefinition {
    public static let negativeLogLikelihoodLoss: OpDefinition = OpDefinition(
        "NegativeLogLikelihoodLoss", inputs: 2...3, attributes: LossAttributes.self, onnx: ONNXHistory([12, 13, 22]),
        shape: lossShape,
        vjp: { g in [try targetCotangent(g), nil, nil] })

    public static let softmaxCrossEntropyLoss: OpDefinition = OpDefinition(
        "SoftmaxCrossEntropyLoss", inputs: 2...3, outputs: 1...2, attributes: LossAttributes.self, onnx: ONNXHistory([12, 13]),
        shape: lossShape,
        vjp: { g in
            var d = try targetCotangent(g)
            if g.cotangents.count > 1, let logProbabilities = g.cotangents[1] { d = d.map { $0 + logProbabilities } ?? logProbabilities }
            guard let d else { return [nil, nil, nil] }
            let probabilities = g.node.outputs.count > 1 && !g.node.outputs[1].isEmpty
                ? g.output(1).exp() : g.x.apply(.softmax, [], ["axis": .int(1)])
            return [d - probabilities * d.sum(axes: [1]), nil, nil]
        })

    /// The loss (shaped like the target for `reduction` none, else a scalar) and, for
    /// SoftmaxCrossEntropyLoss, the log-probabilities.
    static let lossShape: ShapeRule = { ctx in
        let reduction = try ctx.attributes(LossAttributes.self).reduction
        guard let x = ctx.input(0) else { return ctx.unknownOutputs(nil) }
        let loss = ValueType(x.dtype, reduction == "none" ? ctx.shape(1) : Shape([Dim]()))
        return Array([loss, x].prefix(ctx.outputCount))
    }

    /// The cotangent of the log-probabilities from the loss output's: −w[t]·dy/norm scattered to
    /// the target class (axis 1) of zeros shaped like the scores; nil when the loss gets none.
    static func targetCotangent(_ g: VJPContext) throws -> ValueRef? {
        guard let dy = g.cotangents[0] else { return nil }
        guard !g.needs(2) else { throw g.error("gradient of \(g.node.op)'s class weights is not supported") }
        let a = try g.attributes(LossAttributes.self)
        var target = g.input(1)
        var coefficient: ValueRef
        if let ignore = a.ignoreIndex {
            let kept = target.apply(.equal, [g.ints([ignore]).apply(.castLike, [target])]).apply(.not)
            target = select(kept, target, g.ints([0]).apply(.castLike, [target]))
            coefficient = kept.cast(to: .float32)
        } else {
            coefficient = g.filled(1, like: target)
        }
        if g.has(2) { coefficient = coefficient * g.input(2).apply(.gather, [target]) }
        var scale = dy
        if a.reduction == "mean" { scale = dy / coefficient.apply(.reduceSum, [], ["keepdims": .int(0)]) }
        let updates = (-(coefficient * scale)).unsqueezed([1])
        return g.emit(.scatterElements, [g.zeros(like: g.x), target.unsqueezed([1]), updates], ["axis": .int(1)])
    }
}

public struct LossAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("ignore_index", kind: "int"), .string("reduction", "mean")]
    public let ignoreIndex: Int?
    /// `none`, `sum` or `mean`.
    public let reduction: String
    public init(_ a: AttributeReader) throws {
        ignoreIndex = try a.optionalInt("ignore_index")
        reduction = try a.choice("reduction", ["none", "sum", "mean"])
    }
}
