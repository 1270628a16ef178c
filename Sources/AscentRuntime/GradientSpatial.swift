import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// `LpPoolGrad(dy, x, y)`: d(LpPool)/d(x) applied to `dy`, with the forward LpPool's attributes and
/// window geometry: each output's `dy · y^(1−p)` goes back to its window's elements times
/// `|x|^(p−1)·sign(x)`. A window whose output is 0 passes nothing (its subgradient at 0).
struct LpPoolGradKernel: Kernel {
    let forward: LpPoolKernel

    init(_ a: NodeAttributes) throws { forward = try LpPoolKernel(a) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1), y = try inputs.type(2)
        for t in [dy, x, y] { try requireFloat("LpPoolGrad", t) }
        let expected = Array(x.shape.prefix(2)) + (try forward.geometry(x)).out
        guard dy.shape == expected, y.shape == expected else {
            throw AscentError.invalid("output gradient \(dy) and output \(y) do not match the pooling's output \(Shape(expected))")
        }
        return [x]
    }

    /// For each output position of a plane, the plane offsets of the input elements its window covers.
    func windows(_ x: TensorType) throws -> [[Int]] {
        let g = try forward.geometry(x)
        let dims = Array(x.shape[2...]), kernel = forward.kernel
        let inStrides = contiguousStrides(dims)
        // Axis by axis, row-major: every window so far extended by this axis's in-range taps.
        var table: [[Int]] = [[0]]
        for i in dims.indices {
            table = table.flatMap { partial in
                (0..<g.out[i]).map { o in
                    let taps = (0..<kernel[i]).map { o * g.s[i] + $0 * g.d[i] - g.begin[i] }.filter { $0 >= 0 && $0 < dims[i] }
                    return partial.flatMap { base in taps.map { base + $0 * inStrides[i] } }
                }
            }
        }
        return table
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3, let dy = inputs[0], let x = inputs[1], let y = inputs[2] else { throw AscentError.invalid("missing input") }
        let table = try windows(x.type)
        let p = Double(forward.p), inSize = product(x.shape[2...]), outSize = table.count
        let xs = x.floats(), ys = y.floats(), dys = dy.floats()
        var dx = [Double](repeating: 0, count: x.count)
        for plane in 0..<(x.shape[0] * x.shape[1]) {
            for (o, window) in table.enumerated() {
                let yv = Double(ys[plane * outSize + o])
                guard yv != 0 else { continue }
                let scale = Double(dys[plane * outSize + o]) / pow(yv, p - 1)
                for offset in window {
                    let v = Double(xs[plane * inSize + offset])
                    guard v != 0 else { continue }
                    dx[plane * inSize + offset] += scale * pow(abs(v), p - 1) * (v < 0 ? -1 : 1)
                }
            }
        }
        return [tensor(outputs[0], doubles: dx)]
    }
}

/// `ResizeGrad(dy, x[, roi[, scales[, sizes]]])`: the adjoint of Resize's linear map applied to
/// `dy`, with the forward Resize's attributes and inputs. Resize works one axis at a time, each a
/// matrix of taps; the adjoint undoes the axes in reverse order with each matrix transposed. The
/// matrices come from the forward kernel itself (an identity resized along the axis), so every
/// mode, coordinate transformation, antialias and exclude_outside is the exact adjoint of the
/// forward; tf_crop_and_resize's extrapolated positions get no gradient.
struct ResizeGradKernel: Kernel {
    /// The forward Resize with extrapolation value 0: its linear part.
    let forward: ResizeKernel

    init(_ a: NodeAttributes) throws {
        var node = a.node
        node.attributes["extrapolation_value"] = .float(0)
        forward = try ResizeKernel(NodeAttributes(node))
    }

    /// The forward Resize's inputs: everything after `dy`.
    func forwardInputs(_ inputs: KernelInputs) -> KernelInputs {
        KernelInputs(types: Array(inputs.types.dropFirst()), values: Array(inputs.values.dropFirst()))
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat("ResizeGrad", dy)
        try requireFloat("ResizeGrad", x)
        guard let plan = try forward.plan(forwardInputs(inputs)) else { return nil }
        guard dy.shape == plan.sizes else {
            throw AscentError.invalid("output gradient \(dy) does not match the resize's output \(Shape(plan.sizes))")
        }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count >= 2, let dy = inputs[0], let x = inputs[1] else { throw AscentError.invalid("missing input") }
        guard let plan = try forward.plan(forwardInputs(KernelInputs(types: inputs.map { $0?.type }, values: inputs))) else {
            throw AscentError(.internal, "resize sizes unknown at run time")
        }
        var data = dy.doubles(), shape = dy.shape
        let list = try ShapeRules.normalizedAxes(forward.axes ?? Array(0..<x.rank), rank: x.rank)
        for a in list.reversed() {
            let inWidth = x.shape[a], outWidth = plan.sizes[a]
            let roi = plan.roi?[a]
            let trivialRoi = roi.map { abs($0.0) < 1e-9 && abs($0.1 - 1) < 1e-9 } ?? true
            if abs(plan.scales[a] - 1) < 1e-9, outWidth == inWidth, trivialRoi { continue }
            shape[a] = inWidth
            if shape.reduce(1, *) == 0 || outWidth == 0 {
                data = Array(repeating: 0, count: shape.reduce(1, *))
                continue
            }
            // taps[y]: the (input index, weight) pairs output y reads along this axis.
            var identity = [Double](repeating: 0, count: inWidth * inWidth)
            for i in 0..<inWidth { identity[i * inWidth + i] = 1 }
            let matrix = forward.resize(identity, [inWidth, inWidth], axis: 0, scale: plan.scales[a], outWidth: outWidth, roi: roi)
            let taps = (0..<outWidth).map { y in
                (0..<inWidth).compactMap { j in matrix[y * inWidth + j] == 0 ? nil : (j, matrix[y * inWidth + j]) }
            }
            let (outer, _, inner) = around(shape, axis: a)
            var out = [Double](repeating: 0, count: outer * inWidth * inner)
            for o in 0..<outer {
                for y in 0..<outWidth {
                    let source = (o * outWidth + y) * inner
                    for (j, w) in taps[y] {
                        let target = (o * inWidth + j) * inner
                        for q in 0..<inner { out[target + q] += w * data[source + q] }
                    }
                }
            }
            data = out
        }
        return [tensor(outputs[0], doubles: data)]
    }
}

/// `PadGrad(dy, x, pads[, constant_value[, axes]])`: the adjoint of Pad in any mode, with the forward
/// Pad's `mode` and inputs: each element of `dy` is added to the element of `x` it was copied from
/// (edge, reflect and wrap copy some several times; constant fill and cropped elements get nothing).
struct PadGradKernel: Kernel {
    let forward: PadKernel

    init(_ a: NodeAttributes) throws { forward = try PadKernel(a) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat("PadGrad", dy)
        try requireFloat("PadGrad", x)
        guard let plan = try forward.plan(KernelInputs(types: Array(inputs.types.dropFirst()), values: Array(inputs.values.dropFirst()))) else {
            return nil
        }
        guard dy.shape == plan.shape else { throw AscentError.invalid("output gradient \(dy) does not match the padded shape \(Shape(plan.shape))") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count >= 3, let dy = inputs[0], let x = inputs[1] else { throw AscentError.invalid("missing input") }
        let rest = Array(inputs.dropFirst())
        guard let plan = try forward.plan(KernelInputs(types: rest.map { $0?.type }, values: rest)) else {
            throw AscentError(.internal, "pads unknown at run time")
        }
        let maps = (0..<x.rank).map { d in (0..<plan.shape[d]).map { forward.source($0, begin: plan.begin[d], size: x.shape[d]) } }
        let strides = contiguousStrides(x.shape), outStrides = contiguousStrides(plan.shape)
        let g = dy.floats()
        var dx = [Double](repeating: 0, count: x.count)
        for o in 0..<g.count {
            var offset = 0, inside = true
            for d in 0..<x.rank {
                let s = maps[d][(o / outStrides[d]) % plan.shape[d]]
                if s < 0 { inside = false; break }
                offset += s * strides[d]
            }
            if inside { dx[offset] += Double(g[o]) }
        }
        return [tensor(outputs[0], doubles: dx)]
    }
}
