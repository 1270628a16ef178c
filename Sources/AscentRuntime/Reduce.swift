import AscentIR

/// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd over a set of axes (float32; the
/// integer types for all but Mean), `keepdims`, `noop_with_empty_axes`, axes as an input
/// (opset 18) or attribute (older opsets).
enum ReduceKernels {
    static let factories: [String: KernelFactory] = [
        "ReduceMean": { try ReduceKernel($0, .mean) },
        "ReduceSum": { try ReduceKernel($0, .sum) },
        "ReduceMax": { try ReduceKernel($0, .max) },
        "ReduceMin": { try ReduceKernel($0, .min) },
        "ReduceProd": { try ReduceKernel($0, .prod) },
    ]
}

/// The axes attributes every Reduce* op shares: `keepdims`, `noop_with_empty_axes`, and the
/// axes as an input (opset 18) or attribute (older opsets).
struct ReductionAxes: Sendable {
    let keepDims: Bool
    let noopWithEmptyAxes: Bool
    let attributeAxes: [Int]?

    init(_ a: NodeAttributes) throws {
        keepDims = try a.int("keepdims", 1) != 0
        noopWithEmptyAxes = try a.int("noop_with_empty_axes", 0) != 0
        attributeAxes = try a.ints("axes")
    }

    /// The reduced axes, or nil when they come from an input whose value is not known yet.
    func axes(_ inputs: KernelInputs) throws -> [Int]? {
        let x = try inputs.type(0)
        var given = attributeAxes
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            given = v
        }
        return try ShapeRules.reducedAxes(given, rank: x.rank, noopWithEmptyAxes: noopWithEmptyAxes)
    }

    /// The output shape of reducing `shape` over `axes`.
    func reducedShape(_ shape: [Int], axes: [Int]) -> [Int] {
        var out: [Int] = []
        for (i, d) in shape.enumerated() {
            if !axes.contains(i) { out.append(d) } else if keepDims { out.append(1) }
        }
        return out
    }
}

struct ReduceKernel: Kernel {
    enum Op: Sendable { case mean, sum, max, min, prod }

    let op: Op
    let reduction: ReductionAxes

    init(_ a: NodeAttributes, _ op: Op) throws {
        self.op = op
        reduction = try ReductionAxes(a)
    }

    func axes(_ inputs: KernelInputs) throws -> [Int]? { try reduction.axes(inputs) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 || (op != .mean && (x.dtype == .int64 || x.dtype == .int32)) else {
            throw KernelError.dtype("\(op)", x.dtype)
        }
        guard let axes = try axes(inputs) else { return nil }
        return [TensorType(x.dtype, reduction.reducedShape(x.shape, axes: axes))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let axes = try axes(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "reduction axes unknown at run time")
        }
        if axes.isEmpty { return [try x.reshaped(outputs[0].shape)] }
        let y = context.allocate(outputs[0])
        // Iterate over the input; the output (with kept axes) steps 0 along reduced axes.
        let kept = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let loop = BroadcastLoop(output: x.shape, inputs: [kept])
        switch x.dtype {
        case .float32: reduceFloat(x, y, loop)
        case .int64: reduceInteger(x, y, loop, Int64.self)
        default: reduceInteger(x, y, loop, Int32.self)
        }
        if op == .mean, y.count > 0 {
            let n = Float(x.count / y.count), p = y.mutableFloats
            for i in 0..<y.count { p[i] /= n }
        }
        return [y]
    }

    private func reduceFloat(_ x: Tensor, _ y: Tensor, _ loop: BroadcastLoop) {
        let src = x.floats, dst = y.mutableFloats
        let initial: Float = op == .max ? -.infinity : op == .min ? .infinity : op == .prod ? 1 : 0
        dst.update(repeating: initial, count: y.count)
        guard x.count > 0 else { return }
        let inner = loop.inner, step = loop.innerStride(0)
        let op = self.op
        loop.forEachRow(0..<loop.rows) { r, off in
            let xs = src + r * inner, ys = dst + off[0]
            if step == 0 {
                switch op {
                case .sum, .mean:
                    var s: Double = 0
                    for i in 0..<inner { s += Double(xs[i]) }
                    ys[0] += Float(s)
                case .prod:
                    var s: Double = 1
                    for i in 0..<inner { s *= Double(xs[i]) }
                    ys[0] *= Float(s)
                case .max:
                    var m = ys[0]
                    for i in 0..<inner where xs[i] > m || xs[i].isNaN { m = xs[i] }
                    ys[0] = m
                case .min:
                    var m = ys[0]
                    for i in 0..<inner where xs[i] < m || xs[i].isNaN { m = xs[i] }
                    ys[0] = m
                }
            } else {
                switch op {
                case .sum, .mean: for i in 0..<inner { ys[i] += xs[i] }
                case .prod: for i in 0..<inner { ys[i] *= xs[i] }
                case .max: for i in 0..<inner where xs[i] > ys[i] || xs[i].isNaN { ys[i] = xs[i] }
                case .min: for i in 0..<inner where xs[i] < ys[i] || xs[i].isNaN { ys[i] = xs[i] }
                }
            }
        }
    }

    private func reduceInteger<T: FixedWidthInteger>(_ x: Tensor, _ y: Tensor, _ loop: BroadcastLoop, _: T.Type) {
        let src = x.pointer(T.self), dst = y.mutablePointer(T.self)
        let initial: T = op == .max ? T.min : op == .min ? T.max : op == .prod ? 1 : 0
        dst.update(repeating: initial, count: y.count)
        guard x.count > 0 else { return }
        let inner = loop.inner, step = loop.innerStride(0)
        let op = self.op
        loop.forEachRow(0..<loop.rows) { r, off in
            let xs = src + r * inner
            for i in 0..<inner {
                let o = dst + off[0] + i * step
                switch op {
                case .sum, .mean: o.pointee = o.pointee &+ xs[i]
                case .prod: o.pointee = o.pointee &* xs[i]
                case .max: o.pointee = Swift.max(o.pointee, xs[i])
                case .min: o.pointee = Swift.min(o.pointee, xs[i])
                }
            }
        }
    }
}
