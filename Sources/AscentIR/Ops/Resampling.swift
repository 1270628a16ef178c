/// Resampling: `Resize` (nearest, linear, cubic; every coordinate transformation mode,
/// `antialias`, `axes`, `keep_aspect_ratio_policy`), `GridSample`, `AffineGrid`, `RoiAlign`,
/// and the backward primitive `ResizeGrad(dy, x[, roi[, scales[, sizes]]])` — the adjoint of the
/// (linear in x) Resize applied to dy, shaped like x.
extension OpDefinition {
    public static let resize: OpDefinition = OpDefinition(
        "Resize", inputs: 1...4, attributes: ResizeAttributes.self,
        onnx: ONNXHistory([10, 11, 13, 18, 19], changes: [
            .conversion(.resize10, until: 11), .attributeAdded("antialias", since: 18), .attributeAdded("axes", since: 18),
            .attributeAdded("keep_aspect_ratio_policy", since: 18),
        ]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
            let a = try ctx.attributes(ResizeAttributes.self)
            let unknown = [ValueType(x.dtype, Shape(Array(repeating: Dim.unknown, count: s.rank)), layout: x.layout)]
            func given(_ i: Int) -> Bool { ctx.has(i) && (ctx.shape(i)?.elementCount ?? 1) != 0 }
            let axes = try ShapeRules.normalizedAxes(a.axes ?? Array(0..<s.rank), rank: s.rank)
            var dims = s.dims
            if given(3) {
                guard let sizes = ctx.dims(3), sizes.count == axes.count else { return unknown }
                if let input = s.concrete, let v = Shape(sizes).concrete {
                    return [ValueType(x.dtype, Shape(try a.plan(input: input, scales: nil, sizes: v).sizes), layout: x.layout)]
                }
                guard a.aspectPolicy == "stretch" else { return unknown }
                for (i, axis) in axes.enumerated() { dims[axis] = sizes[i] }
            } else if given(2) {
                guard let scales = ctx.doubles(2), scales.count == axes.count else { return unknown }
                if let input = s.concrete {
                    return [ValueType(x.dtype, Shape(try a.plan(input: input, scales: scales, sizes: nil).sizes), layout: x.layout)]
                }
                for (i, axis) in axes.enumerated() {
                    let k = scales[i]
                    dims[axis] = k == k.rounded() && k >= 1 ? s.dims[axis] * .known(Int(k)) : (k == 1 ? s.dims[axis] : .unknown)
                }
            } else {
                return unknown
            }
            return [ValueType(x.dtype, Shape(dims), layout: x.layout)]
        },
        vjp: { g in [g.emit(.resizeGrad, names: [g.dy.name] + g.node.inputs, g.node.attributes), nil, nil, nil] })

    public static let resizeGrad: OpDefinition = backward("ResizeGrad", inputs: 2...5, attributes: ResizeAttributes.self, like: 1)

    public static let gridSample: OpDefinition = OpDefinition(
        "GridSample", inputs: 2...2, attributes: GridSampleAttributes.self, onnx: ONNXHistory([16, 20, 22]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape, let g = ctx.shape(1), s.rank >= 3, g.rank == s.rank else { return [ValueType(x.dtype, nil)] }
            if let n = g.dims.last?.value, n != s.rank - 2 { throw ctx.error("grid \(g) does not match input \(s)") }
            return [ValueType(x.dtype, Shape([s.dims[0], s.dims[1]] + Array(g.dims[1..<(g.rank - 1)])))]
        })

    public static let affineGrid: OpDefinition = OpDefinition(
        "AffineGrid", inputs: 2...2, attributes: AlignCornersAttributes.self, onnx: ONNXHistory([20]),
        shape: { ctx in
            guard let t = ctx.input(0) else { return [nil] }
            guard let size = ctx.dims(1), size.count >= 4 else { return [ValueType(t.dtype, nil)] }
            return [ValueType(t.dtype, Shape([size[0]] + Array(size[2...]) + [.known(size.count - 2)]))]
        })

    public static let roiAlign: OpDefinition = OpDefinition(
        "RoiAlign", inputs: 3...3, attributes: RoiAlignAttributes.self, onnx: ONNXHistory([10, 16, 22], changes: [
            .attributeAdded("coordinate_transformation_mode", since: 16),
        ]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            let a = try ctx.attributes(RoiAlignAttributes.self)
            let r: Dim = ctx.shape(1)?.dims.first ?? .unknown, c: Dim = x.shape.map { $0.rank > 1 ? $0.dims[1] : .unknown } ?? .unknown
            return [ValueType(x.dtype, Shape([r, c, .known(a.outputHeight), .known(a.outputWidth)]))]
        })
}

public struct ResizeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .int("antialias", 0), .optional("axes", kind: "ints"), .string("coordinate_transformation_mode", "half_pixel"),
        .float("cubic_coeff_a", -0.75), .int("exclude_outside", 0), .float("extrapolation_value", 0),
        .string("keep_aspect_ratio_policy", "stretch"), .string("mode", "nearest"),
        .string("nearest_mode", "round_prefer_floor"),
    ]
    public let antialias: Bool, excludeOutside: Bool
    public let axes: [Int]?
    public let coordinates: String, mode: String, nearestMode: String, aspectPolicy: String
    public let cubicA: Double, extrapolation: Double

    public init(_ a: AttributeReader) throws {
        mode = try a.choice("mode", ["nearest", "linear", "cubic"])
        nearestMode = try a.choice("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
        coordinates = try a.choice("coordinate_transformation_mode", ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                                                      "align_corners", "asymmetric", "tf_crop_and_resize"])
        aspectPolicy = try a.choice("keep_aspect_ratio_policy", ["stretch", "not_larger", "not_smaller"])
        antialias = try a.bool("antialias")
        excludeOutside = try a.bool("exclude_outside")
        cubicA = try a.double("cubic_coeff_a")
        extrapolation = try a.double("extrapolation_value")
        axes = try a.ints("axes")
        guard !(antialias && mode == "nearest") else { throw AscentError.invalid("antialias is not supported for nearest mode") }
    }

    /// The per-axis scales and output sizes for an input of `input` sizes, from `scales` or `sizes`
    /// (exactly one given, one value per resized axis).
    public func plan(input: [Int], scales given: [Double]?, sizes requested: [Int]?) throws -> (scales: [Double], sizes: [Int]) {
        let r = input.count
        let list = try ShapeRules.normalizedAxes(axes ?? Array(0..<r), rank: r)
        var scales = Array(repeating: 1.0, count: r), sizes = input
        switch (given, requested) {
        case (let v?, nil):
            guard v.count == list.count else { throw AscentError.invalid("scales has \(v.count) values for \(list.count) axes") }
            for (i, a) in list.enumerated() {
                guard v[i] > 0 else { throw AscentError.invalid("scale \(v[i]) is not positive") }
                scales[a] = v[i]
                sizes[a] = Int(v[i] * Double(input[a]))
            }
        case (nil, let v?):
            guard v.count == list.count, v.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("sizes \(v) do not fit \(list.count) axes") }
            for (i, a) in list.enumerated() {
                sizes[a] = v[i]
                scales[a] = Double(v[i]) / Double(input[a])
            }
            if aspectPolicy != "stretch" {
                let chosen = list.map { scales[$0] }
                let scale = aspectPolicy == "not_larger" ? chosen.min() ?? 1 : chosen.max() ?? 1
                for a in list {
                    scales[a] = scale
                    sizes[a] = Int(scale * Double(input[a]) + 0.5)
                }
            }
        default:
            throw AscentError.invalid("exactly one of scales and sizes must be given")
        }
        return (scales, sizes)
    }
}

public struct GridSampleAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("align_corners", 0), .string("mode", "linear"), .string("padding_mode", "zeros")]
    public let alignCorners: Bool
    /// `linear` (or `bilinear`), `nearest`, `cubic` (or `bicubic`).
    public let mode: String
    public let paddingMode: String
    public init(_ a: AttributeReader) throws {
        alignCorners = try a.bool("align_corners")
        mode = try a.choice("mode", ["linear", "bilinear", "nearest", "cubic", "bicubic"])
        paddingMode = try a.choice("padding_mode", ["zeros", "border", "reflection"])
    }
}

public struct AlignCornersAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("align_corners", 0)]
    public let alignCorners: Bool
    public init(_ a: AttributeReader) throws { alignCorners = try a.bool("align_corners") }
}

public struct RoiAlignAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .string("coordinate_transformation_mode", "half_pixel"), .string("mode", "avg"), .int("output_height", 1),
        .int("output_width", 1), .int("sampling_ratio", 0), .float("spatial_scale", 1),
    ]
    public let halfPixel: Bool, max: Bool
    public let outputHeight: Int, outputWidth: Int, samplingRatio: Int
    public let spatialScale: Float
    public init(_ a: AttributeReader) throws {
        halfPixel = try a.choice("coordinate_transformation_mode", ["half_pixel", "output_half_pixel"]) == "half_pixel"
        max = try a.choice("mode", ["avg", "max"]) == "max"
        outputHeight = try a.int("output_height")
        outputWidth = try a.int("output_width")
        samplingRatio = try a.int("sampling_ratio")
        spatialScale = try a.float("spatial_scale")
    }
}
