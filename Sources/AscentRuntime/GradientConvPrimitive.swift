import AscentIR

/// `ConvGradInput` with a constant kernel (the usual case in a probe: the weights are fixed,
/// the input moves) runs as oneDNN's backward-data convolution, made once per plan with the
/// kernel reordered into its preferred layout — a direct JIT kernel instead of sgemm + col2im.
/// Depthwise convolutions keep their direct loops, and anything oneDNN only has a reference
/// implementation for keeps the built-in kernels.
extension ConvGradKernel {
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? {
        guard !filter, let w = inputs.value(1) else { return nil }
        let p = positions
        let (g, out) = try geometry(x: try inputs.type(p.x), w: try inputs.type(p.w), dy: try inputs.type(p.dy))
        if g.channels == group && group > 1 { return nil } // depthwise: the direct loops
        let shape = DNNL.ConvolutionShape(g, outChannels: out, groups: group, channelsLast: window.channelsLast, clamp: nil)
        guard let primitive = DNNL.Convolution.make(shape, kernel: w.floats, hasBias: false, threads: threads, backwardData: true)
        else { return nil }
        return PrimitiveConvGradInputKernel(primitive: primitive, base: self)
    }
}

/// A `ConvGradInput` running as a oneDNN backward-data primitive made for one plan.
struct PrimitiveConvGradInputKernel: Kernel {
    let primitive: DNNL.Convolution
    let base: ConvGradKernel

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? { try base.outputTypes(inputs) }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let dy = inputs[base.positions.dy], let stream = context.stream else {
            return try base.run(inputs, outputs: outputs, context: context)
        }
        let dx = context.allocate(outputs[0])
        let scratch = primitive.scratchBytes > 0 ? context.scratch(bytes: primitive.scratchBytes) : nil
        defer { if let scratch { context.release(scratch: scratch) } }
        try primitive.run(x: dy.floats, bias: nil, y: dx.mutableFloats, scratch: scratch?.baseAddress,
                          stream: stream)
        return [dx]
    }
}
