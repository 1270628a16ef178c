/// Signal processing: `DFT`, `STFT`, the window functions `HannWindow`, `HammingWindow`,
/// `BlackmanWindow`, and `MelWeightMatrix`. Complex values are a trailing axis of 2 (real,
/// imaginary); real inputs may end in 1.
extension OpDefinition {
    public static let dft: OpDefinition = OpDefinition(
        "DFT", inputs: 1...3, attributes: DFTAttributes.self,
        onnx: ONNXHistory([17, 20], changes: [.inputAdded(2, since: 20)]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
            let unknown = [ValueType(x.dtype, Shape(Array(repeating: Dim.unknown, count: s.rank)))]
            guard s.rank >= 2 else { throw ctx.error("DFT input \(s) must end in 1 or 2") }
            if let c = s.dims[s.rank - 1].value, c != 1, c != 2 { throw ctx.error("DFT input \(s) must end in 1 or 2") }
            let a = try ctx.attributes(DFTAttributes.self)
            // The axis: input 2 (DFT-20) or the DFT-17 attribute, −2 by default.
            var axis = a.axis ?? -2
            if ctx.has(2) {
                guard let v = ctx.ints(2) else { return unknown }
                axis = v.first ?? axis
            }
            axis = ((axis % s.rank) + s.rank) % s.rank
            guard axis < s.rank - 1 else { throw ctx.error("DFT axis \(axis) is the complex axis") }
            // The signal length: dft_length, or the axis (its one-sided spectrum's full length for an inverse).
            var length = a.inverse && a.onesided ? (s.dims[axis] - .known(1)) * .known(2) : s.dims[axis]
            if ctx.has(1) {
                guard let v = ctx.dims(1) else { return unknown }
                length = v.first ?? length
            }
            if let n = length.value, n < 1 { throw ctx.error("dft_length \(n) is not positive") }
            var dims = s.dims
            if a.inverse && a.onesided {
                dims[axis] = length
                dims[s.rank - 1] = .known(1)
            } else {
                dims[axis] = !a.inverse && a.onesided ? length.floorDivided(by: 2) + .known(1) : length
                dims[s.rank - 1] = .known(2)
            }
            return [ValueType(x.dtype, Shape(dims))]
        })

    /// `STFT(signal [B, L, 1 or 2], frame_step, window?, frame_length?)`: `[B, frames, bins, 2]` with
    /// `frames = 1 + (L − frame_length) / frame_step` and `bins` the frame length (one-sided: half + 1).
    public static let stft: OpDefinition = OpDefinition(
        "STFT", inputs: 2...4, attributes: STFTAttributes.self, onnx: ONNXHistory([17]),
        shape: { ctx in
            let onesided = try ctx.attributes(STFTAttributes.self).onesided
            let s = ctx.shape(0)
            if let s, s.rank != 3 || (s.dims[2].value.map { $0 != 1 && $0 != 2 } ?? false) {
                throw ctx.error("signal \(s) must be [batch, length, 1 or 2]")
            }
            // The frame length: input 3, else the window's length.
            var length = Dim.unknown
            if ctx.has(3) {
                length = ctx.dims(3)?.first ?? .unknown
            } else if ctx.has(2) {
                length = ctx.shape(2)?.dims.first ?? .unknown
            }
            var frames = Dim.unknown
            if let s, let step = ctx.ints(1)?.first, step >= 1 {
                frames = (s.dims[1] - length).floorDivided(by: step) + .known(1)
            }
            let bins = onesided ? length.floorDivided(by: 2) + .known(1) : length
            return [ValueType(.float32, Shape([s?.dims[0] ?? .unknown, frames, bins, .known(2)]))]
        })

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
        dtype = t
        periodic = try a.bool("periodic")
    }
}

public struct MelWeightMatrixAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("output_datatype", 1)]
    public let dtype: DType
    public init(_ a: AttributeReader) throws {
        let code = try a.int("output_datatype")
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported output_datatype \(code)") }
        dtype = t
    }
}
