/// Matrix products: `MatMul` (NumPy semantics, batched, 1-D operands promoted), `Gemm`
/// (`α·A'·B' + β·C` with `A' = transA ? Aᵀ : A`), `Einsum` and `Det`.
extension OpDefinition {
    public static let matMul: OpDefinition = OpDefinition(
        "MatMul", inputs: 2...2, onnx: ONNXHistory([1, 9, 13]),
        shape: { ctx in
            guard let a = ctx.input(0), let sa = a.shape, let sb = ctx.shape(1) else {
                return [ctx.input(0).map { ValueType($0.dtype, nil) }]
            }
            guard sa.rank >= 1, sb.rank >= 1 else { throw ctx.error("MatMul of a scalar") }
            // Promote 1-D operands as NumPy does, then drop the promoted axes.
            let left = sa.rank == 1 ? Shape([.known(1)] + sa.dims) : sa
            let right = sb.rank == 1 ? Shape(sb.dims + [.known(1)]) : sb
            let k1 = left.dims[left.rank - 1], k2 = right.dims[right.rank - 2]
            if case .known(let p) = k1, case .known(let q) = k2, p != q {
                throw ctx.error("inner dimensions differ: \(sa) × \(sb)")
            }
            let batch = try ShapeRules.broadcast(Shape(Array(left.dims.dropLast(2))), Shape(Array(right.dims.dropLast(2))))
            var dims = batch.dims
            if sa.rank > 1 { dims.append(left.dims[left.rank - 2]) }
            if sb.rank > 1 { dims.append(right.dims[right.rank - 1]) }
            return [ValueType(a.dtype, Shape(dims))]
        },
        vjp: { g in  // dA = dY·Bᵀ, dB = Aᵀ·dY, summed over broadcast batch axes
            let a0 = g.input(0), b0 = g.input(1)
            guard let ra0 = a0.rank, let rb0 = b0.rank, ra0 >= 1, rb0 >= 1 else {
                throw g.error("gradient of MatMul needs operands of known rank")
            }
            // 1-D operands are promoted as NumPy does (a row, b a column), dY with them.
            let a = ra0 == 1 ? a0.unsqueezed([0]) : a0
            let b = rb0 == 1 ? b0.unsqueezed([1]) : b0
            let ra = Swift.max(ra0, 2), rb = Swift.max(rb0, 2)
            var dy = g.dy
            switch (ra0 == 1, rb0 == 1) {
            case (true, true): dy = dy.reshaped(g.ints([1, 1]))
            case (true, false): dy = dy.unsqueezed([-2])
            case (false, true): dy = dy.unsqueezed([-1])
            case (false, false): break
            }
            func swapLast(_ v: ValueRef, _ rank: Int) -> ValueRef { v.transposed(Array(0..<(rank - 2)) + [rank - 1, rank - 2]) }
            let sameBatch = ra == rb && GradientBuilder.provablySameShape(
                a0.shape.map { Shape(Array($0.dims.dropLast(2))) }, b0.shape.map { Shape(Array($0.dims.dropLast(2))) })
            func back(_ d: ValueRef, _ promoted: ValueRef, _ original: ValueRef, _ rank: Int) -> ValueRef {
                let summed = sameBatch ? d : d.summed(to: promoted)
                return rank == 1 ? summed.reshaped(like: original) : summed
            }
            return [g.when(0) { back(dy.matmul(swapLast(b, rb)), a, a0, ra0) },
                    g.when(1) { back(swapLast(a, ra).matmul(dy), b, b0, rb0) }]
        },
        cost: { node, types in
            guard let out = node.outputs.first.flatMap({ types[$0]?.shape }).flatMap(perItemCount),
                  let k = types[node.inputs[0]]?.shape?.dims.last?.value else { return nil }
            return out.multipliedReportingOverflow(by: k).overflow ? nil : out * k
        })

    public static let gemm: OpDefinition = OpDefinition(
        "Gemm", inputs: 2...3, attributes: GemmAttributes.self,
        onnx: ONNXHistory([1, 6, 7, 9, 11, 13], changes: [.conversion(.gemmBroadcast, until: 7)]),
        shape: { ctx in
            guard let a = ctx.input(0), let sa = a.shape, let sb = ctx.shape(1) else {
                return [ctx.input(0).map { ValueType($0.dtype, nil) }]
            }
            guard sa.rank == 2, sb.rank == 2 else { throw ctx.error("Gemm needs 2-D inputs, got \(sa) and \(sb)") }
            let t = try ctx.attributes(GemmAttributes.self)
            let m = t.transA ? sa.dims[1] : sa.dims[0], k1 = t.transA ? sa.dims[0] : sa.dims[1]
            let k2 = t.transB ? sb.dims[1] : sb.dims[0], n = t.transB ? sb.dims[0] : sb.dims[1]
            if case .known(let p) = k1, case .known(let q) = k2, p != q {
                throw ctx.error("inner dimensions differ: \(sa) × \(sb)")
            }
            let out = Shape([m, n])
            if let sc = ctx.shape(2) { _ = try ShapeRules.broadcast(out, sc) }
            return [ValueType(a.dtype, out)]
        },
        vjp: { g in  // Y = α·A'·B' + β·C
            let t = try g.attributes(GemmAttributes.self)
            let a = g.input(0), b = g.input(1), dy = g.dy
            func gemm(_ x: ValueRef, _ y: ValueRef, _ tx: Bool, _ ty: Bool) -> ValueRef {
                g.emit(.gemm, [x, y], ["alpha": .float(Double(t.alpha)), "transA": .int(tx ? 1 : 0), "transB": .int(ty ? 1 : 0)])
            }
            return [g.when(0) { t.transA ? gemm(b, dy, t.transB, true) : gemm(dy, b, false, !t.transB) },
                    g.when(1) { t.transB ? gemm(dy, a, true, t.transA) : gemm(a, dy, !t.transA, false) },
                    g.has(2) ? g.when(2) { (t.beta == 1 ? dy : dy * t.beta).summed(to: g.input(2)) } : nil]
        },
        cost: { node, types in
            guard let out = node.outputs.first.flatMap({ types[$0]?.shape }).flatMap(perItemCount),
                  let a = types[node.inputs[0]]?.shape?.dims, a.count == 2 else { return nil }
            let transA = (node.attributes["transA"]?.int ?? 0) != 0
            guard let k = (transA ? a[0] : a[1]).value else { return nil }
            return out.multipliedReportingOverflow(by: k).overflow ? nil : out * k
        })

    public static let einsum: OpDefinition = OpDefinition(
        "Einsum", inputs: 1...Int.max, attributes: EinsumAttributes.self, onnx: ONNXHistory([12, 28]),
        shape: { ctx in
            guard let first = ctx.input(0) else { return [nil] }
            let shapes = (0..<ctx.inputCount).map { ctx.shape($0) }
            guard shapes.allSatisfy({ $0 != nil }) else { return [ValueType(first.dtype, nil)] }
            let e = try ctx.attributes(EinsumAttributes.self)
            return [ValueType(first.dtype, try e.outputShape(shapes.map { $0! }).map(Shape.init))]
        },
        vjp: { g in
            let e = try g.attributes(EinsumAttributes.self)
            let (terms, output) = try e.explicitTerms()
            for t in terms {
                let labels = t.replacingOccurrences(of: "...", with: "")
                guard Set(labels).count == labels.count else {
                    throw g.error("gradient of Einsum with a repeated label in '\(t)' is not supported")
                }
            }
            guard terms.count == g.inputCount else { throw g.error("equation '\(e.equation)' does not match the inputs") }
            return g.node.inputs.indices.map { i -> ValueRef? in
                guard g.needs(i) else { return nil }
                // d/d(operand i) = einsum(dy, the other operands → term i), with a ones tensor shaped like
                // operand i standing for the labels nothing else carries (summed out of operand i alone).
                var inputs = [g.dy], lhs = [output]
                for j in terms.indices where j != i { inputs.append(g.input(j)); lhs.append(terms[j]) }
                let covered = Set(lhs.joined())
                if !terms[i].allSatisfy(covered.contains) || (terms[i].contains(".") && !output.contains(".")) {
                    inputs.append(g.filled(1, like: g.input(i)))
                    lhs.append(terms[i])
                }
                return g.emit(.einsum, inputs, ["equation": .string(lhs.joined(separator: ",") + "->" + terms[i])])
            }
        })

    public static let det: OpDefinition = OpDefinition(
        "Det", inputs: 1...1, onnx: ONNXHistory([11, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape, s.rank >= 2 else { return [ValueType(x.dtype, nil)] }
            return [ValueType(x.dtype, Shape(Array(s.dims.dropLast(2))))]
        })
}

public struct GemmAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.float("alpha", 1), .float("beta", 1), .int("transA", 0), .int("transB", 0)]
    public let alpha: Float, beta: Float, transA: Bool, transB: Bool
    public init(_ a: AttributeReader) throws {
        alpha = try a.float("alpha")
        beta = try a.float("beta")
        transA = try a.bool("transA")
        transB = try a.bool("transB")
    }
}

/// `Einsum`'s equation (spaces removed).
public struct EinsumAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("equation", kind: "string")]
    public let equation: String
    public init(_ a: AttributeReader) throws { equation = try a.string("equation").filter { $0 != " " } }

    /// The input terms and the output term, the implicit output written out (`...` when any term
    /// has it, then the labels used once, sorted).
    public func explicitTerms() throws -> ([String], String) {
        let parts = equation.components(separatedBy: "->")
        guard parts.count <= 2 else { throw AscentError.invalid("equation '\(equation)' has more than one '->'") }
        let terms = parts[0].components(separatedBy: ",")
        if parts.count == 2 { return (terms, parts[1]) }
        var counts: [Character: Int] = [:]
        for t in terms { for l in t.replacingOccurrences(of: "...", with: "") { counts[l, default: 0] += 1 } }
        let ellipsis = terms.contains { $0.contains("...") } ? "..." : ""
        return (terms, ellipsis + String(counts.filter { $0.value == 1 }.keys.sorted()))
    }

    /// The output dims for operands of `shapes`, or nil when a label's size is not determined.
    public func outputShape(_ shapes: [Shape]) throws -> [Dim]? {
        let (terms, output) = try explicitTerms()
        guard terms.count == shapes.count else {
            throw AscentError.invalid("equation '\(equation)' has \(terms.count) operands, the node \(shapes.count)")
        }
        var sizes: [Character: Dim] = [:]
        var ellipsis: [Dim]? = nil
        for (t, s) in zip(terms, shapes) {
            let labels = Array(t.replacingOccurrences(of: "...", with: "."))
            let dotted = labels.contains(".")
            let explicit = labels.count - (dotted ? 1 : 0)
            guard s.rank >= explicit, dotted || s.rank == explicit else {
                throw AscentError.invalid("operand '\(t)' does not fit shape \(s)")
            }
            var axis = 0
            for l in labels {
                if l == "." {
                    let n = s.rank - explicit
                    // Ellipses of different ranks broadcast right-aligned, as NumPy does.
                    let dims = Array(s.dims[axis..<(axis + n)])
                    ellipsis = try ellipsis.map { try ShapeRules.broadcast(Shape($0), Shape(dims)).dims } ?? dims
                    axis += n
                } else {
                    let d = s.dims[axis]
                    if let old = sizes[l], old != d, old != .known(1) {
                        if d != .known(1), old.value != nil, d.value != nil {
                            throw AscentError.invalid("label '\(l)' has sizes \(old) and \(d)")
                        }
                    } else {
                        sizes[l] = d
                    }
                    axis += 1
                }
            }
        }
        var out: [Dim] = []
        for l in output.replacingOccurrences(of: "...", with: ".") {
            if l == "." { out += ellipsis ?? [] } else {
                guard let d = sizes[l] else { throw AscentError.invalid("output label '\(l)' is not in any operand") }
                out.append(d)
            }
        }
        return out
    }
}
