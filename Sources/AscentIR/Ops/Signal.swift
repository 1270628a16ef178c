/// Signal processing: `DFT`, `STFT`, the window functions `HannWindow`, `HammingWindow`,
/// `BlackmanWindow`, and `MelWeightMatrix`. Complex values are a trailing axis of 2 (real,
/// imaginary); real inputs may end in 1.
extension OpDefinition {
    public static let dft: OpDefinition = OpDefinition(
        "DFT", inputs: 1...3, attributes: DFTAttributes.self,
        onnx: ONNXHistory([17, 20], changes: [.inputAdded(2, since: 20)]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            return [ValueType(x.dtype, x.shape.map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) })]
        })

    public static let stft: OpDefinition = OpDefinition(
        "STFT", inputs: 2...4, attributes: STFTAttributes.self, onnx: ONNXHistory([17]),
        shape: { ctx in [ValueType(.float32, Shape([ctx.shape(0)?.dims.first ?? .unknown, .unknown, .unknown, .known(2)]))] })

    public static let hannWindow: OpDefinition = window("HannWindow")
    public static let hammingWindow: OpDefinition = window("HammingWindow")
    public static let blackmanWindow: OpDefinition = window("BlackmanWindow")

    public static let melWeightMatrix: OpDefinition = OpDefinition(
        "MelWeightMatrix", inputs: 5...5, attributes: MelWeightMatrixAttributes.self, onnx: ONNXHistory([17]),
        shape: { ctx in
            let dtype = try ctx.attributes(MelWeightMatrixAttributes.self).dtype
            guard let bins = ctx.ints(0)?.first, let dft = ctx.ints(1)?.first else { return [ValueType(dtype, Shape([Dim.unknown, .unknown]))] }
            guard bins >= 0, dft >= 1 else { throw ctx.error("num_mel_bins and dft_length must be positive") }
            return [ValueType(dtype, Shape([dft / 2 + 1, bins]))]
        })

    static func window(_ name: String) -> OpDefinition {
        OpDefinition(name, inputs: 1...1, attributes: WindowFunctionAttributes.self, onnx: ONNXHistory([17]),
                     shape: { ctx in
                         let dtype = try ctx.attributes(WindowFunctionAttributes.self).dtype
                         let n: Dim = ctx.dims(0).flatMap { $0.count == 1 ? $0[0] : nil } ?? .unknown
                         if let v = n.value, v < 0 { throw ctx.error("size must be a non-negative scalar") }
                         return [ValueType(dtype, Shape([n]))]
                     })
    }
}

public struct DFTAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("inverse", 0), .int("onesided", 0), .optional("axis", kind: "int")]
    public let inverse: Bool, onesided: Bool
    /// The DFT-17 `axis` attribute (DFT-20 takes it as input 2).
    public let axis: Int?
    public init(_ a: AttributeReader) throws {
        inverse = try a.bool("inverse")
        onesided = try a.bool("onesided")
        axis = try a.optionalInt("axis")
    }
}

public struct STFTAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("onesided", 1)]
    public let onesided: Bool
    public init(_ a: AttributeReader) throws { onesided = try a.bool("onesided") }
}

public struct WindowFunctionAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("output_datatype", 1), .int("periodic", 1)]
    public let dtype: DType, periodic: Bool
    public init(_ a: AttributeReader) throws {
        let code = try a.int("output_datatype")
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported output_datatype \(code)") }
        dtype = t.isFloatingPoint ? .float32 : t
        periodic = try a.bool("periodic")
    }
}

public struct MelWeightMatrixAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("output_datatype", 1)]
    public let dtype: DType
    public init(_ a: AttributeReader) throws {
        let code = try a.int("output_datatype")
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported output_datatype \(code)") }
        dtype = t.isFloatingPoint ? .float32 : t
    }
}
