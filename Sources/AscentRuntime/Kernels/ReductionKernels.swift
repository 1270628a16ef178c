import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the reduction ops (Ops/Reduction.swift): the Reduce* family, ArgMax/ArgMin, CumSum/CumProd.

extension ReduceAttributes {
    /// The reduced axes (input 1 when given, else the `axes` attribute), or nil when they come from
    /// an input whose value is not known yet.
    func reducedAxes(_ inputs: KernelInputs) throws -> [Int]? {
        let x = try inputs.type(0)
        var given = axes
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            given = v
        }
        return try ShapeRules.reducedAxes(given, rank: x.rank, noopWithEmptyAxes: noopWithEmptyAxes)
    }
}

/// ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd over a set of axes (float32; the
/// integer types for all but Mean; bool for Max and Min), `keepdims`, `noop_with_empty_axes`, axes as an input
/// (opset 18) or attribute (older opsets).
struct ReduceKernel: Kernel {
    enum Op: Sendable { case mean, sum, max, min, prod }

    let op: Op
    let reduction: ReduceAttributes

    func axes(_ inputs: KernelInputs) throws -> [Int]? { try reduction.reducedAxes(inputs) }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        // bool: ReduceMax is "any", ReduceMin "all" (0/1 bytes).
        let bool = x.dtype == .bool && (op == .max || op == .min)
        guard x.dtype == .float32 || (op != .mean && (x.dtype.isInteger || bool)) else {
            throw KernelError.dtype(x.dtype)
        }
        return nil
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
        case .int16: reduceInteger(x, y, loop, Int16.self)
        case .int8: reduceInteger(x, y, loop, Int8.self)
        case .uint8, .bool: reduceInteger(x, y, loop, UInt8.self)
        case .uint16: reduceInteger(x, y, loop, UInt16.self)
        case .uint32: reduceInteger(x, y, loop, UInt32.self)
        case .uint64: reduceInteger(x, y, loop, UInt64.self)
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

/// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (computed in Double;
/// float32 and integers), with ReduceSum's axes, `keepdims` and `noop_with_empty_axes`.
struct DoubleReduceKernel: Kernel {
    enum Op: Sendable { case l1, l2, logSum, logSumExp, sumSquare }

    let op: Op
    let reduction: ReduceAttributes

    func axes(_ inputs: KernelInputs) throws -> [Int]? { try reduction.reducedAxes(inputs) }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireNumeric(try inputs.type(0))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let axes = try axes(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "reduction axes unknown at run time")
        }
        let v = x.doubles()
        let kept = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let m = outputs[0].count
        // Output offset of each input element: iterate the input, the output steps 0 along reduced axes.
        let map = axes.isEmpty ? Array(0..<v.count) : broadcastOffsets(kept, to: x.shape)
        var result = [Double](repeating: 0, count: m)
        if axes.isEmpty {
            // noop_with_empty_axes: the elementwise part of the reduction only.
            for i in 0..<v.count {
                switch op {
                case .l1, .l2: result[i] = abs(v[i])
                case .logSum: result[i] = naturalLog(v[i])
                case .logSumExp: result[i] = v[i]
                case .sumSquare: result[i] = v[i] * v[i]
                }
            }
            return [tensor(outputs[0], doubles: result)]
        }
        switch op {
        case .logSumExp:
            var top = [Double](repeating: -.infinity, count: m)
            for i in 0..<v.count where v[i] > top[map[i]] { top[map[i]] = v[i] }
            for i in 0..<v.count {
                let t = top[map[i]]
                result[map[i]] += naturalExp(t.isInfinite ? v[i] : v[i] - t)
            }
            for j in 0..<m { result[j] = naturalLog(result[j]) + (top[j].isInfinite ? 0 : top[j]) }
        default:
            for i in 0..<v.count {
                let x = v[i]
                switch op {
                case .l1: result[map[i]] += abs(x)
                case .logSum: result[map[i]] += x
                default: result[map[i]] += x * x
                }
            }
            if op == .l2 { result = result.map { $0.squareRoot() } }
            if op == .logSum { result = result.map { naturalLog($0) } }
        }
        if x.dtype.isInteger { result = result.map { $0.rounded(.toNearestOrEven) } }
        return [tensor(outputs[0], doubles: result)]
    }
}

@inline(__always) func naturalLog(_ x: Double) -> Double { log(x) }

@inline(__always) func naturalExp(_ x: Double) -> Double { exp(x) }

/// ArgMax/ArgMin along `axis` (int64 indices); ties give the first index, or the last with `select_last_index`.
struct ArgKernel: Kernel {
    let max: Bool, axis: Int, keepDims: Bool, last: Bool

    init(_ a: ArgReductionAttributes, max: Bool) {
        self.max = max
        axis = a.axis
        keepDims = a.keepDims
        last = a.selectLastIndex
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let v = x.doubles()
        let y = context.allocate(outputs[0])
        let o = y.mutablePointer(Int64.self)
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0, bv = v.isEmpty ? 0 : v[p * size * inner + q]
                for k in 1..<Swift.max(size, 1) {
                    let c = v[(p * size + k) * inner + q]
                    if bv.isNaN { break }
                    let better = max ? (c > bv || (last && c == bv)) : (c < bv || (last && c == bv))
                    if better || c.isNaN { best = k; bv = c }
                }
                o[p * inner + q] = Int64(best)
            }
        }
        return [y]
    }
}

/// CumSum / CumProd along the axis given by input 1 (`exclusive`, `reverse`); float32 and integers
/// (wrapping).
struct CumSumKernel: Kernel {
    let exclusive: Bool, reverse: Bool, multiply: Bool

    init(_ a: CumulativeAttributes, multiply: Bool) {
        exclusive = a.exclusive
        reverse = a.reverse
        self.multiply = multiply
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(x)
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let axisTensor = inputs[1], let given = axisTensor.int64s().first else {
            throw AscentError.invalid("missing input")
        }
        let a = try ShapeRules.axis(Int(given), rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        func scan<T>(_ v: [T], _ identity: T, _ f: (T, T) -> T) -> [T] {
            var out = [T](repeating: identity, count: v.count)
            for p in 0..<outer {
                for q in 0..<inner {
                    var acc = identity
                    for s in 0..<size {
                        let k = reverse ? size - 1 - s : s
                        let i = (p * size + k) * inner + q
                        if exclusive { out[i] = acc; acc = f(acc, v[i]) } else { acc = f(acc, v[i]); out[i] = acc }
                    }
                }
            }
            return out
        }
        if x.dtype == .float32 {
            let v = x.scalars(as: Float.self)
            return [Tensor(shape: x.shape, scalars: multiply ? scan(v, 1, *) : scan(v, 0, +))]
        }
        let y = context.allocate(outputs[0])
        let v = integerValues(x)
        storeIntegers(multiply ? scan(v, 1, &*) : scan(v, 0, &+), into: y)
        return [y]
    }
}

extension KernelRegistry {
    static let reduction: [(OpDefinition, KernelFactory)] = [
        (.reduceSum, { ReduceKernel(op: .sum, reduction: try ReduceAttributes($0)) }),
        (.reduceMean, { ReduceKernel(op: .mean, reduction: try ReduceAttributes($0)) }),
        (.reduceMax, { ReduceKernel(op: .max, reduction: try ReduceAttributes($0)) }),
        (.reduceMin, { ReduceKernel(op: .min, reduction: try ReduceAttributes($0)) }),
        (.reduceProd, { ReduceKernel(op: .prod, reduction: try ReduceAttributes($0)) }),
        (.reduceL1, { DoubleReduceKernel(op: .l1, reduction: try ReduceAttributes($0)) }),
        (.reduceL2, { DoubleReduceKernel(op: .l2, reduction: try ReduceAttributes($0)) }),
        (.reduceLogSum, { DoubleReduceKernel(op: .logSum, reduction: try ReduceAttributes($0)) }),
        (.reduceLogSumExp, { DoubleReduceKernel(op: .logSumExp, reduction: try ReduceAttributes($0)) }),
        (.reduceSumSquare, { DoubleReduceKernel(op: .sumSquare, reduction: try ReduceAttributes($0)) }),
        (.argMax, { ArgKernel(try ArgReductionAttributes($0), max: true) }),
        (.argMin, { ArgKernel(try ArgReductionAttributes($0), max: false) }),
        (.cumSum, { CumSumKernel(try CumulativeAttributes($0), multiply: false) }),
        (.cumProd, { CumSumKernel(try CumulativeAttributes($0), multiply: true) }),
    ]
}
