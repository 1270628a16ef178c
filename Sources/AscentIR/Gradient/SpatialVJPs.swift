/// Vector-Jacobian products of the spatial ops of ``MoreOps``: `ConvTranspose` (a convolution
/// run backwards, so its adjoints are the convolution and its filter gradient), `MaxUnpool`, `LpPool` and
/// `Resize` (backward primitives `LpPoolGrad`, `ResizeGrad`), and `Einsum` (Einsums of the
/// cotangent with the other operands).
extension MoreOps {
    static let spatialVJPs: [String: VJPRule] = [
        "ConvTranspose": { ctx in
            // y = Cᵀ(w)·x for the convolution C of y-shaped inputs with the same kernel, strides,
            // dilations, group and begin pads: dx = Conv(dy, w), dw = ConvGradFilter(dy, x, w).
            let x = ctx.input(0), w = ctx.input(1)
            guard let rank = ctx.rank(x), rank >= 3 else { throw ctx.error("gradient of ConvTranspose needs the input rank") }
            var attributes: [String: Attribute] = ["pads": .ints(try convTransposePads(&ctx, spatial: rank - 2))]
            for name in ["strides", "dilations", "group"] { attributes[name] = ctx.attribute(name) }
            let dx = ctx.needs(0) ? ctx.emit("Conv", [ctx.dy, w], attributes) : nil
            let dw = ctx.needs(1) ? ctx.emit("ConvGradFilter", [ctx.dy, x, w], attributes) : nil
            var db: String? = nil
            if ctx.node.inputs.count > 2, ctx.needs(2) {
                db = ctx.emit("ReduceSum", [ctx.dy], ["axes": .ints([0] + Array(2..<rank)), "keepdims": .int(0)])
            }
            return [dx, dw, db]
        },
        "MaxUnpool": { ctx in  // y[I[j]] = x[j] (flat indices): dx = dy read at I
            guard ctx.node.inputs.count < 3 || ctx.input(2).isEmpty else {
                throw ctx.error("gradient of MaxUnpool with output_shape is not supported")
            }
            let flat = ctx.emit("Reshape", [ctx.dy, ctx.int64s([-1])])
            return [ctx.emit("Gather", [flat, ctx.input(1)]), nil, nil]
        },
        "LpPool": { ctx in [ctx.emit("LpPoolGrad", [ctx.dy, ctx.input(0), ctx.output(0)], ctx.node.attributes)] },
        "Resize": { ctx in
            [ctx.emit("ResizeGrad", [ctx.dy] + ctx.node.inputs, ctx.node.attributes), nil, nil, nil]
        },
        "Einsum": { ctx in
            guard let equation = ctx.attribute("equation")?.string else { throw ctx.error("Einsum needs an equation") }
            let (terms, output) = try einsumTerms(equation.filter { $0 != " " })
            guard terms.count == ctx.node.inputs.count else { throw ctx.error("equation '\(equation)' does not match the inputs") }
            return ctx.node.inputs.indices.map { i -> String? in
                guard ctx.needs(i) else { return nil }
                // d/d(operand i) = einsum(dy, the other operands → term i), with a ones tensor shaped like
                // operand i standing for the labels nothing else carries (summed out of operand i alone).
                var inputs = [ctx.dy], lhs = [output]
                for j in terms.indices where j != i { inputs.append(ctx.input(j)); lhs.append(terms[j]) }
                let covered = Set(lhs.joined())
                if !terms[i].allSatisfy(covered.contains) || (terms[i].contains(".") && !output.contains(".")) {
                    inputs.append(ctx.emit("ConstantOfShape", [ctx.emit("Shape", [ctx.input(i)])],
                                           ["value": .tensor(Tensor(shape: [1], scalars: [Float(1)]))]))
                    lhs.append(terms[i])
                }
                return ctx.emit("Einsum", inputs, ["equation": .string(lhs.joined(separator: ",") + "->" + terms[i])])
            }
        },
    ]

    /// The input terms of an Einsum equation and its output term (the implicit one written out:
    /// `...` when any term has it, then the labels used once, sorted). Repeated labels within a
    /// term (diagonals) have no gradient here.
    static func einsumTerms(_ equation: String) throws -> ([String], String) {
        let parts = equation.components(separatedBy: "->")
        let terms = parts[0].components(separatedBy: ",")
        for t in terms {
            let labels = t.replacingOccurrences(of: "...", with: "")
            guard Set(labels).count == labels.count else {
                throw AscentError.invalid("gradient of Einsum with a repeated label in '\(t)' is not supported")
            }
        }
        if parts.count == 2 { return (terms, parts[1]) }
        var counts: [Character: Int] = [:]
        for t in terms { for l in t.replacingOccurrences(of: "...", with: "") { counts[l, default: 0] += 1 } }
        let ellipsis = terms.contains { $0.contains("...") } ? "..." : ""
        return (terms, ellipsis + String(counts.filter { $0.value == 1 }.keys.sorted()))
    }

    /// The Conv pads whose adjoint is this ConvTranspose (as the runtime sizes it): its begin pads
    /// (given, or worked out from `auto_pad`), and end pads making the convolution of a y-shaped
    /// value x-shaped: `stride·(in − 1) + extent − out − begin`, rounded up to 0 (by less than a
    /// stride, which Conv's floor division absorbs).
    static func convTransposePads(_ ctx: inout VJPContext, spatial n: Int) throws -> [Int] {
        let x = ctx.types[ctx.input(0)]?.shape, w = ctx.types[ctx.input(1)]?.shape
        let kernel = ctx.attribute("kernel_shape")?.ints ?? (w.map { $0.dims.dropFirst(2).compactMap(\.value) } ?? [])
        guard kernel.count == n else { throw ctx.error("gradient of ConvTranspose needs the kernel size") }
        let strides = ctx.attribute("strides")?.ints ?? Array(repeating: 1, count: n)
        let dilations = ctx.attribute("dilations")?.ints ?? Array(repeating: 1, count: n)
        let outputPadding = ctx.attribute("output_padding")?.ints ?? Array(repeating: 0, count: n)
        let outputShape = ctx.attribute("output_shape")?.ints.flatMap { $0.count == n ? $0 : nil }
        let pads = ctx.attribute("pads")?.ints.flatMap { $0.count == 2 * n ? $0 : nil }
        let autoPad = ctx.attribute("auto_pad")?.string ?? "NOTSET"
        let same = pads == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")
        var begin: [Int] = [], end: [Int] = []
        for i in 0..<n {
            let s = strides[i], extent = (kernel[i] - 1) * dilations[i] + 1, op = outputPadding[i]
            let inputSize = x?.dims[i + 2].value
            // shortfall = stride·(in − 1) + extent − out; without output_shape it does not need `in`.
            let b: Int, shortfall: Int
            if let outputShape {
                guard let size = inputSize else { throw ctx.error("gradient of ConvTranspose with output_shape needs the input size") }
                shortfall = s * (size - 1) + extent - outputShape[i]
                let total = shortfall + op
                b = same ? (autoPad == "SAME_UPPER" ? total / 2 : total - total / 2) : (pads?[i] ?? 0)
            } else if same {
                let total = op + extent - s
                b = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                shortfall = extent - s
            } else {
                b = pads?[i] ?? 0
                shortfall = b + (pads?[i + n] ?? 0) - op
            }
            let e = shortfall - b
            guard e > -s else { throw ctx.error("gradient of ConvTranspose: the output is wider than its convolution reads") }
            begin.append(b)
            end.append(max(e, 0))
        }
        return begin + end
    }
}
