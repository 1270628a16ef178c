/// Backward primitives: ops that only gradient graphs use. Each produces a value shaped
/// like one of its inputs (the "reference"), so shape rules are trivial and the kernels
/// know the exact output size (no output_padding ambiguity).
///
/// - `ConvGradInput(dy, w, x)`: d(Conv)/d(x) applied to `dy` (a transposed convolution),
///   with the forward Conv's attributes; shaped like `x`.
/// - `ConvGradFilter(x, dy, w)`: d(Conv)/d(w) applied to `dy`; shaped like `w`.
/// - `MaxPoolGrad(dy, x)`: routes each `dy` element to the first maximum of its window
///   (TensorFlow's and PyTorch's convention for ties); shaped like `x`.
/// - `AveragePoolGrad(dy, x)`: spreads each `dy` element over its window, divided by the
///   forward count (honouring `count_include_pad`); shaped like `x`.
/// - `GlobalAveragePoolGrad(dy, x)`, `GlobalMaxPoolGrad(dy, x)`: shaped like `x`.
/// - `SliceGrad(dy, x, starts, ends[, axes[, steps]])`: a zero tensor shaped like `x` with
///   `dy` written where `Slice(x, starts, ends, axes, steps)` read; shaped like `x`.
/// - `SumTo(g, ref)`: sums `g` over the axes broadcasting added, down to `ref`'s shape
///   (the engine's unbroadcast).
/// - `LpPoolGrad(dy, x, y)`: d(LpPool)/d(x) applied to `dy`, given the forward output `y`, with
///   the forward LpPool's attributes; shaped like `x`.
/// - `ResizeGrad(dy, x[, roi[, scales[, sizes]]])`: the adjoint of the (linear) Resize of `x`
///   applied to `dy`, with the forward Resize's attributes and inputs; shaped like `x`.
/// - `PadGrad(dy, x, pads[, constant_value[, axes]])`: the adjoint of Pad (any `mode`) applied to
///   `dy`: each element added back where it was copied from; shaped like `x`.
/// - `CumProdGrad(dy, x, axis)`: d(CumProd)/d(x) applied to `dy`, exact where x has zeros, with
///   the forward CumProd's `exclusive` and `reverse`; shaped like `x`.
enum GradientOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("ConvGradInput", inputs: 3...3,
                     attributes: ConvolutionOps.windowAttributes + [.optional("group", .int(1))], infer: like(2)),
            OpSchema("ConvGradFilter", inputs: 3...3,
                     attributes: ConvolutionOps.windowAttributes + [.optional("group", .int(1))], infer: like(2)),
            OpSchema("MaxPoolGrad", inputs: 2...2,
                     attributes: ConvolutionOps.windowAttributes + [.optional("ceil_mode", .int(0))], infer: like(1)),
            OpSchema("AveragePoolGrad", inputs: 2...2,
                     attributes: ConvolutionOps.windowAttributes + [.optional("ceil_mode", .int(0)), .optional("count_include_pad", .int(0))],
                     infer: like(1)),
            OpSchema("GlobalAveragePoolGrad", inputs: 2...2, attributes: [.optional("data_format", .string("NCHW"))], infer: like(1)),
            OpSchema("GlobalMaxPoolGrad", inputs: 2...2, attributes: [.optional("data_format", .string("NCHW"))], infer: like(1)),
            OpSchema("SliceGrad", inputs: 4...6, infer: like(1)),
            OpSchema("LpPoolGrad", inputs: 3...3, attributes: forwardAttributes("LpPool"), infer: like(1)),
            OpSchema("CumProdGrad", inputs: 3...3, attributes: [.optional("exclusive", .int(0)), .optional("reverse", .int(0))],
                     infer: like(1)),
            OpSchema("PadGrad", inputs: 3...5, attributes: [.optional("mode", .string("constant"))], infer: like(1)),
            OpSchema("ResizeGrad", inputs: 2...5, attributes: forwardAttributes("Resize"), infer: like(1)),
            OpSchema("SumTo", inputs: 2...2, infer: { ctx in
                guard let g = ctx.input(0) else { return [nil] }
                return [ValueType(g.dtype, ctx.shape(1), layout: ctx.input(1)?.layout)]
            }),
        ]
    }

    /// The attributes of a forward op of ``MoreOps``, which its backward primitive takes too.
    static func forwardAttributes(_ op: String) -> [AttributeSpec] {
        MoreOps.schemas.first { $0.name == op }?.attributes ?? []
    }

    /// The output has input `i`'s type.
    static func like(_ i: Int) -> @Sendable (InferenceContext) throws -> [ValueType?] {
        { ctx in [ctx.input(i)] }
    }
}
