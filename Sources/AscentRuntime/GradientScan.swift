import AscentIR

/// `CumProdGrad(dy, x, axis)`: d(CumProd)/d(x) applied to `dy`, with the forward CumProd's
/// `exclusive` and `reverse`. Exact where elements are 0 (no division): along each line, in scan
/// order, dx_s = E_s · S_s with E_s = Π_{t<s} x_t and S_s = Σ_{i ≥ s} dy_i · Π_{s<t≤i} x_t
/// (`i > s` and `t < i` when exclusive), S computed backwards as S_s = dy_s + x_{s+1}·S_{s+1}
/// (exclusive: S_s = dy_{s+1} + x_{s+1}·S_{s+1}).
struct CumProdGradKernel: Kernel {
    let exclusive: Bool, reverse: Bool

    init(_ a: NodeAttributes) throws {
        exclusive = try a.int("exclusive", 0) != 0
        reverse = try a.int("reverse", 0) != 0
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat("CumProdGrad", x)
        guard dy == x else { throw AscentError.invalid("output gradient \(dy) does not match the input \(x)") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3, let dy = inputs[0], let x = inputs[1], let given = inputs[2]?.int64s().first else {
            throw AscentError.invalid("missing input")
        }
        let (outer, size, inner) = around(x.shape, axis: try ShapeRules.axis(Int(given), rank: x.rank))
        let xs = x.doubles(), gs = dy.doubles()
        var dx = [Double](repeating: 0, count: x.count)
        var before = [Double](repeating: 1, count: size)
        for p in 0..<outer {
            for q in 0..<inner {
                // Element index of scan step s.
                func at(_ s: Int) -> Int { (p * size + (reverse ? size - 1 - s : s)) * inner + q }
                var product = 1.0
                for s in 0..<size {
                    before[s] = product
                    product *= xs[at(s)]
                }
                var later = 0.0  // S_{s+1}
                for s in stride(from: size - 1, through: 0, by: -1) {
                    let current: Double
                    if s == size - 1 {
                        current = exclusive ? 0 : gs[at(s)]
                    } else {
                        current = gs[at(exclusive ? s + 1 : s)] + xs[at(s + 1)] * later
                    }
                    dx[at(s)] = before[s] * current
                    later = current
                }
            }
        }
        return [tensor(outputs[0], doubles: dx)]
    }
}
