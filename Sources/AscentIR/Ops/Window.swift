/// Where the channel axis is: `NCHW` (ONNX, channels first) or `NHWC` (Keras, channels last).
public enum DataFormat: String, Sendable {
    case channelsFirst = "NCHW"
    case channelsLast = "NHWC"

    /// The channel axis of a value of `rank`.
    public func channelAxis(rank: Int) -> Int { self == .channelsLast ? rank - 1 : 1 }
    /// The spatial axes of a value of `rank`.
    public func spatialAxes(rank: Int) -> [Int] { self == .channelsLast ? Array(1..<(rank - 1)) : Array(2..<rank) }
    /// The layout tag of a value of `rank` (3 to 5).
    public func layout(rank: Int) -> Layout? {
        self == .channelsLast ? [3: .nwc, 4: .nhwc, 5: .ndhwc][rank] : [3: .ncw, 4: .nchw, 5: .ncdhw][rank]
    }
}

/// ONNX's `auto_pad`.
public enum AutoPad: String, Sendable {
    case notSet = "NOTSET", valid = "VALID"
    /// TensorFlow's "same": the output is `ceil(in / stride)`, the extra padding at the end.
    case sameUpper = "SAME_UPPER"
    /// The extra padding at the beginning.
    case sameLower = "SAME_LOWER"

    public var isSame: Bool { self == .sameUpper || self == .sameLower }
}

/// The sliding-window attributes shared by convolutions and pools: `data_format` (an Ascent
/// extension, `NCHW` by default), `auto_pad`, `kernel_shape`, `strides`, `dilations`, `pads`
/// (`[begin..., end...]`) and `ceil_mode`.
public struct Window: Sendable, Equatable {
    public let format: DataFormat
    public let autoPad: AutoPad
    public let kernelShape: [Int]?
    public let strides: [Int]?
    public let dilations: [Int]?
    public let pads: [Int]?
    public let ceilMode: Bool

    public static let specs: [AttributeSpec] = [
        .string("data_format", "NCHW"), .string("auto_pad", "NOTSET"), .optional("kernel_shape", kind: "ints"),
        .optional("strides", kind: "ints"), .optional("dilations", kind: "ints"), .optional("pads", kind: "ints"),
        .int("ceil_mode", 0),
    ]

    public init(_ a: AttributeReader) throws {
        guard let f = DataFormat(rawValue: try a.string("data_format")) else {
            throw AscentError.invalid("data_format '\(try a.string("data_format"))' is not NCHW or NHWC")
        }
        format = f
        guard let p = AutoPad(rawValue: try a.string("auto_pad")) else {
            throw AscentError.invalid("auto_pad '\(try a.string("auto_pad"))' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        autoPad = p
        kernelShape = try a.ints("kernel_shape")
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
        ceilMode = try a.bool("ceil_mode")
        for (name, v) in [("kernel_shape", kernelShape), ("strides", strides), ("dilations", dilations)] {
            if let v, v.contains(where: { $0 <= 0 }) { throw AscentError.invalid("\(name) \(v) must be positive") }
        }
        if let pads, pads.contains(where: { $0 < 0 }) { throw AscentError.invalid("pads \(pads) must be non-negative") }
    }

    /// Per spatial axis: output size, padding at the beginning and at the end.
    public struct Axis: Sendable, Equatable {
        public var output: Dim, padBegin: Int, padEnd: Int
    }

    /// The strides, dilations and pads for `n` spatial axes (defaults filled in), checked.
    public func parameters(spatial n: Int, kernel: [Int]) throws -> (strides: [Int], dilations: [Int], pads: [Int]) {
        guard kernel.count == n else { throw AscentError.invalid("kernel has \(kernel.count) spatial axes, input has \(n)") }
        if let k = kernelShape, k != kernel { throw AscentError.invalid("kernel_shape \(k) differs from the kernel's \(kernel)") }
        let s = strides ?? Array(repeating: 1, count: n), d = dilations ?? Array(repeating: 1, count: n)
        let p = pads ?? Array(repeating: 0, count: 2 * n)
        guard s.count == n, d.count == n, p.count == 2 * n else {
            throw AscentError.invalid("kernel_shape/strides/dilations/pads do not match \(n) spatial axes")
        }
        guard kernel.allSatisfy({ $0 > 0 }) else { throw AscentError.invalid("kernel \(kernel) must be positive") }
        return (s, d, p)
    }

    /// The window along each spatial axis of sizes `input` for a kernel of `kernel` sizes: exact for
    /// known sizes, symbolic for symbolic ones (unknown with `ceil_mode`). SAME pads are split as
    /// TensorFlow does (the odd pixel at the end for SAME_UPPER).
    public func axes(input: [Dim], kernel: [Int]) throws -> [Axis] {
        let (s, d, p) = try parameters(spatial: input.count, kernel: kernel)
        let n = input.count
        return try (0..<n).map { i in
            let span = try ShapeRules.add(ShapeRules.multiply(d[i], kernel[i] - 1), 1)
            if autoPad.isSame {
                guard let size = input[i].value else {
                    return Axis(output: (input[i] + .known(s[i] - 1)).floorDivided(by: s[i]), padBegin: 0, padEnd: 0)
                }
                let out = (size + s[i] - 1) / s[i]
                let total = Swift.max(0, (out - 1) * s[i] + span - size)
                let head = autoPad == .sameUpper ? total / 2 : (total + 1) / 2
                return Axis(output: .known(out), padBegin: head, padEnd: total - head)
            }
            let (b, e) = autoPad == .valid ? (0, 0) : (p[i], p[i + n])
            if input[i].value == nil {
                guard !ceilMode else { return Axis(output: .unknown, padBegin: b, padEnd: e) }
                return Axis(output: (input[i] + .known(b + e - span)).floorDivided(by: s[i]) + .known(1), padBegin: b, padEnd: e)
            }
            let out = try ShapeRules.windowOutput(input[i], kernel: kernel[i], stride: s[i], dilation: d[i],
                                                  padBegin: b, padEnd: e, ceilMode: ceilMode)
            return Axis(output: out, padBegin: b, padEnd: e)
        }
    }
}

/// `Conv` and its backward primitives: a window plus `group`.
public struct ConvAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = Window.specs + [.int("group", 1)]
    public let window: Window
    public let group: Int
    public init(_ a: AttributeReader) throws {
        window = try Window(a)
        group = try a.int("group")
        guard group >= 1 else { throw AscentError.invalid("group \(group) is not positive") }
    }
}

/// `MaxPool`, `AveragePool`, `LpPool` and their backward primitives: a window plus
/// `storage_order` (MaxPool's indices), `count_include_pad` (AveragePool) and `p` (LpPool).
public struct PoolAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = Window.specs + [
        .int("storage_order", 0), .int("count_include_pad", 0), .int("p", 2),
    ]
    public let window: Window
    public let storageOrder: Int
    public let countIncludePad: Bool
    public let p: Int
    public init(_ a: AttributeReader) throws {
        window = try Window(a)
        storageOrder = try a.int("storage_order")
        countIncludePad = try a.bool("count_include_pad")
        p = try a.int("p")
    }
    /// The pooled spatial window (required for these pools).
    public func kernel() throws -> [Int] {
        guard let k = window.kernelShape else { throw AscentError.invalid("missing attribute 'kernel_shape'") }
        return k
    }
}

/// `GlobalAveragePool`, `GlobalMaxPool` and their backward primitives.
public struct GlobalPoolAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.string("data_format", "NCHW")]
    public let format: DataFormat
    public init(_ a: AttributeReader) throws {
        guard let f = DataFormat(rawValue: try a.string("data_format")) else {
            throw AscentError.invalid("data_format '\(try a.string("data_format"))' is not NCHW or NHWC")
        }
        format = f
    }
}

extension ShapeContext {
    /// The channel and spatial axes of input 0 for `format`, checking its rank (3 to 5).
    func windowAxes(_ format: DataFormat, rank: Int) throws -> (channel: Int, spatial: [Int], layout: Layout?) {
        guard rank >= 3 else { throw error("input has rank \(rank), needs at least 3") }
        return (format.channelAxis(rank: rank), format.spatialAxes(rank: rank), format.layout(rank: rank))
    }
}
