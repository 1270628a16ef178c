import AscentIR

// Kernels of the reduction backward primitives (Ops/Reduction.swift): SumTo and CumProdGrad.

/// `SumTo(g, ref)`: `g` summed over the axes broadcasting added, down to `ref`'s shape: the
/// leading axes `ref` lacks and the axes where `ref` has size 1 (the engine's unbroadcast).
/// Extra leading size-1 axes of `ref` are allowed. float32, accumulated per output element.
struct SumToKernel: Kernel {
    /// Output element `i` reads at most input element `i` (a plain copy when nothing is summed).
    var inPlaceInputs: [Int] { [0] }

    /// `ref`'s shape aligned to `g`'s rank, checked to be a reduction of `g`.
    func aligned(_ g: TensorType, _ ref: TensorType) throws -> [Int] {
        guard g.dtype == .float32 else { throw KernelError.dtype(g.dtype) }
        var r = ref.shape
        while r.count > g.rank, r.first == 1 { r.removeFirst() }
        let a = Array(repeating: 1, count: Swift.max(0, g.rank - r.count)) + r
        guard a.count == g.rank, zip(a, g.shape).allSatisfy({ $0 == $1 || $0 == 1 }) else {
            throw AscentError.invalid("cannot sum \(g) down to the shape \(Shape(ref.shape))")
        }
        return a
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try aligned(try inputs.type(0), try inputs.type(1))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2, let g = inputs[0], let ref = inputs[1] else { throw AscentError.invalid("missing input") }
        let target = try aligned(g.type, ref.type)
        let y = context.allocate(outputs[0])
        let src = g.floats, dst = y.mutableFloats
        if y.count == g.count {
            // Nothing to sum: the same elements in the same order.
            if dst != UnsafeMutablePointer(mutating: src) { dst.update(from: src, count: g.count) }
            return [y]
        }
        dst.update(repeating: 0, count: y.count)
        guard g.count > 0 else { return [y] }
        let loop = BroadcastLoop(output: g.shape, inputs: [target])
        let inner = loop.inner, step = loop.innerStride(0)
        loop.forEachRow(0..<loop.rows) { row, offsets in
            let s = src + row * inner, d = dst + offsets[0]
            if step == 0 {
                var sum: Double = 0
                for i in 0..<inner { sum += Double(s[i]) }
                d[0] += Float(sum)
            } else {
                for i in 0..<inner { d[i] += s[i] }
            }
        }
        return [y]
    }
}

/// `CumProdGrad(dy, x, axis)`: d(CumProd)/d(x) applied to `dy`, with the forward CumProd's
/// `exclusive` and `reverse`. Exact where elements are 0 (no division): along each line, in scan
/// order, dx_s = E_s · S_s with E_s = Π_{t<s} x_t and S_s = Σ_{i ≥ s} dy_i · Π_{s<t≤i} x_t
/// (`i > s` and `t < i` when exclusive), S computed backwards as S_s = dy_s + x_{s+1}·S_{s+1}
/// (exclusive: S_s = dy_{s+1} + x_{s+1}·S_{s+1}).
struct CumProdGradKernel: Kernel {
    let exclusive: Bool, reverse: Bool

    init(_ a: CumulativeAttributes) {
        exclusive = a.exclusive
        reverse = a.reverse
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat(x)
        guard dy == x else { throw AscentError.invalid("output gradient \(dy) does not match the input \(x)") }
        return nil
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

extension KernelRegistry {
    static let reductionBackward: [(OpDefinition, KernelFactory)] = [
        (.cumProdGrad, { CumProdGradKernel(try CumulativeAttributes($0)) }),
        (.sumTo, { _ in SumToKernel() }),
    ]
}
