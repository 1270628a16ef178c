import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the data-movement backward primitives (Ops/Movement.swift): SliceGrad and PadGrad.

/// `SliceGrad(dy, x, starts, ends[, axes[, steps]])`: zeros shaped like `x`, with `dy` written
/// where `Slice(x, starts, ends, axes, steps)` read (same clamping rules, any step sign).
struct SliceGradKernel: Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        guard dy.dtype == .float32, x.dtype == .float32 else { throw KernelError.dtype(dy.dtype == .float32 ? x.dtype : dy.dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count >= 4, let dy = inputs[0] else { throw AscentError.invalid("missing input") }
        let rest = Array(inputs.dropFirst())
        guard let plan = try SliceKernel().plan(KernelInputs(types: rest.map { $0?.type }, values: rest)) else {
            throw AscentError(.internal, "slice bounds unknown at run time")
        }
        guard dy.shape == plan.shape else {
            throw AscentError.invalid("output gradient \(dy.type) does not match the slice's output \(Shape(plan.shape))")
        }
        let dx = context.allocateZeroed(outputs[0])
        guard dy.count > 0 else { return [dx] }
        let strides = contiguousStrides(outputs[0].shape)
        let offset = zip(plan.first, strides).reduce(0) { $0 + $1.0 * $1.1 }
        // The written positions, walked in dy's order: collapsed like a strided read of x.
        let view = StridedCopy(shape: plan.shape, strides: zip(plan.step, strides).map { $0 * $1 }, offset: offset)
        let loop = BroadcastLoop(dims: view.dims, strides: [view.strides])
        let inner = loop.inner, step = view.strides[view.strides.count - 1]
        let (src, dst) = (dy.floats, dx.mutableFloats + offset)
        // Distinct dy elements land on distinct dx elements, so rows may run in parallel.
        context.parallelFor(loop.rows, costPerItem: inner) { range in
            loop.forEachRow(range) { row, offsets in
                let s = src + row * inner, d = dst + offsets[0]
                for i in 0..<inner { d[i * step] = s[i] }
            }
        }
        return [dx]
    }
}

/// `PadGrad(dy, x, pads[, constant_value[, axes]])`: the adjoint of Pad in any mode, with the forward
/// Pad's `mode` and inputs: each element of `dy` is added to the element of `x` it was copied from
/// (edge, reflect and wrap copy some several times; constant fill and cropped elements get nothing).
struct PadGradKernel: Kernel {
    let forward: PadKernel

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        try requireFloat(dy)
        try requireFloat(x)
        guard let plan = try forward.plan(KernelInputs(types: Array(inputs.types.dropFirst()), values: Array(inputs.values.dropFirst()))) else {
            return nil
        }
        guard dy.shape == plan.shape else { throw AscentError.invalid("output gradient \(dy) does not match the padded shape \(Shape(plan.shape))") }
        return nil
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

extension KernelRegistry {
    static let movementBackward: [(OpDefinition, KernelFactory)] = [
        (.sliceGrad, { _ in SliceGradKernel() }),
        (.padGrad, { PadGradKernel(forward: PadKernel(mode: try PadAttributes($0).mode)) }),
    ]
}
