import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the resampling backward primitive (Ops/Resampling.swift): ResizeGrad.

/// `ResizeGrad(dy, x[, roi[, scales[, sizes]]])`: the adjoint of Resize's linear map applied to
/// `dy`, with the forward Resize's attributes and inputs. Resize works one axis at a time, each a
/// matrix of taps; the adjoint undoes the axes in reverse order with each matrix transposed. The
/// matrices come from the forward kernel itself (an identity resized along the axis), so every
/// mode, coordinate transformation, antialias and exclude_outside is the exact adjoint of the
/// forward; tf_crop_and_resize's extrapolated positions get no gradient.
struct ResizeGradKernel: Kernel {
    /// The forward Resize with extrapolation value 0: its linear part.
    let forward: ResizeKernel

    init(_ a: ResizeAttributes) {
        forward = ResizeKernel(a, extrapolation: 0)
    }

    /// The forward Resize's inputs: everything after `dy`.
    func forwardInputs(_ inputs: KernelInputs) -> KernelInputs {
        KernelInputs(types: Array(inputs.types.dropFirst()), values: Array(inputs.values.dropFirst()))
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat(dy)
        try requireFloat(x)
        guard let plan = try forward.plan(forwardInputs(inputs)) else { return nil }
        guard dy.shape == plan.sizes else {
            throw AscentError.invalid("output gradient \(dy) does not match the resize's output \(Shape(plan.sizes))")
        }
        return nil
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

extension KernelRegistry {
    static let resamplingBackward: [(OpDefinition, KernelFactory)] = [
        (.resizeGrad, { ResizeGradKernel(try ResizeAttributes($0)) }),
    ]
}
