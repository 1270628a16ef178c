import AscentIR

/// The sliding-window attributes of Conv and the pools (`data_format`, `auto_pad`,
/// `kernel_shape`, `strides`, `dilations`, `pads`, `ceil_mode`), read once per node.
struct WindowAttributes: Sendable {
    let channelsLast: Bool
    let autoPad: String
    let kernelShape: [Int]?
    let strides: [Int]?
    let dilations: [Int]?
    let pads: [Int]?
    let ceilMode: Bool

    init(_ a: NodeAttributes) throws {
        let format = try a.string("data_format", "NCHW")
        guard format == "NCHW" || format == "NHWC" else {
            throw AscentError.invalid("data_format '\(format)' is not NCHW or NHWC")
        }
        channelsLast = format == "NHWC"
        autoPad = try a.string("auto_pad", "NOTSET")
        guard ["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].contains(autoPad) else {
            throw AscentError.invalid("auto_pad '\(autoPad)' is not NOTSET, VALID, SAME_UPPER or SAME_LOWER")
        }
        kernelShape = try a.ints("kernel_shape")
        strides = try a.ints("strides")
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
        ceilMode = try a.int("ceil_mode", 0) != 0
        for (name, v) in [("kernel_shape", kernelShape), ("strides", strides), ("dilations", dilations)] {
            if let v, v.contains(where: { $0 <= 0 }) { throw AscentError.invalid("\(name) \(v) must be positive") }
        }
        if let pads, pads.contains(where: { $0 < 0 }) { throw AscentError.invalid("pads \(pads) must be non-negative") }
    }

    /// Splits an input shape into batch, channels and spatial sizes for this layout.
    func split(_ shape: [Int]) throws -> (batch: Int, channels: Int, spatial: [Int]) {
        guard shape.count >= 3, shape.count <= 5 else {
            throw AscentError.invalid("input has rank \(shape.count), expected 3 to 5 (1-D to 3-D windows)")
        }
        if channelsLast { return (shape[0], shape[shape.count - 1], Array(shape[1..<(shape.count - 1)])) }
        return (shape[0], shape[1], Array(shape[2...]))
    }

    /// The full output shape for `geometry` with `channels` output channels.
    func outputShape(_ g: WindowGeometry, channels: Int) -> [Int] {
        let spatial = [g.output[0], g.output[1], g.output[2]].suffix(g.spatialRank)
        return channelsLast ? [g.batch] + spatial + [channels] : [g.batch, channels] + spatial
    }

    /// The geometry of a window of `kernel` spatial sizes over an input of `shape`.
    func geometry(input shape: [Int], kernel: [Int]) throws -> WindowGeometry {
        let (batch, channels, spatial) = try split(shape)
        let n = spatial.count
        guard kernel.count == n else { throw AscentError.invalid("kernel has \(kernel.count) spatial axes, input has \(n)") }
        if let k = kernelShape, k != kernel { throw AscentError.invalid("kernel_shape \(k) differs from the kernel's \(kernel)") }
        let strides = self.strides ?? Array(repeating: 1, count: n)
        let dilations = self.dilations ?? Array(repeating: 1, count: n)
        let pads = self.pads ?? Array(repeating: 0, count: 2 * n)
        guard strides.count == n, dilations.count == n, pads.count == 2 * n else {
            throw AscentError.invalid("strides/dilations/pads do not match \(n) spatial axes")
        }
        var output: [Int] = [], begin: [Int] = [], end: [Int] = []
        for i in 0..<n {
            let span = dilations[i] * (kernel[i] - 1) + 1
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                let out = (spatial[i] + strides[i] - 1) / strides[i]
                let total = max(0, (out - 1) * strides[i] + span - spatial[i])
                let head = autoPad == "SAME_UPPER" ? total / 2 : (total + 1) / 2
                output.append(out)
                begin.append(head)
                end.append(total - head)
            default:
                let (b, e) = autoPad == "VALID" ? (0, 0) : (pads[i], pads[i + n])
                let d = try ShapeRules.windowOutput(.known(spatial[i]), kernel: kernel[i], stride: strides[i],
                                                dilation: dilations[i], padBegin: b, padEnd: e, ceilMode: ceilMode)
                output.append(d.value ?? 0)
                begin.append(b)
                end.append(e)
            }
        }
        guard output.allSatisfy({ $0 > 0 }) else {
            throw AscentError.invalid("window \(kernel) (dilations \(dilations)) does not fit the input's spatial size \(spatial)")
        }
        // Normalize to three spatial axes (D, H, W) by prepending size-1 axes.
        let pad = 3 - n
        func three(_ v: [Int], _ fill: Int) -> SIMD3<Int> {
            let full = Array(repeating: fill, count: pad) + v
            return SIMD3(full[0], full[1], full[2])
        }
        return WindowGeometry(batch: batch, channels: channels, spatialRank: n,
                              input: three(spatial, 1), output: three(output, 1), kernel: three(kernel, 1),
                              stride: three(strides, 1), dilation: three(dilations, 1),
                              padBegin: three(begin, 0), padEnd: three(end, 0))
    }
}

/// A window's geometry with spatial axes normalized to three (D, H, W): 1-D and 2-D windows
/// have leading axes of size 1.
struct WindowGeometry {
    let batch: Int
    let channels: Int
    /// 1, 2 or 3: the number of real spatial axes.
    let spatialRank: Int
    let input: SIMD3<Int>
    let output: SIMD3<Int>
    let kernel: SIMD3<Int>
    let stride: SIMD3<Int>
    let dilation: SIMD3<Int>
    let padBegin: SIMD3<Int>
    let padEnd: SIMD3<Int>

    var inputCount: Int { input[0] * input[1] * input[2] }
    var outputCount: Int { output[0] * output[1] * output[2] }
    var kernelCount: Int { kernel[0] * kernel[1] * kernel[2] }

    /// True for a 1×1 window with unit strides and no padding: the input is already the im2col matrix.
    var isPointwise: Bool {
        kernelCount == 1 && stride == SIMD3(repeating: 1) && padBegin == .zero && padEnd == .zero
    }

    /// For output position `o` along `axis`: the range of kernel taps that land inside the input.
    @inline(__always)
    func taps(axis: Int, at o: Int) -> Range<Int> {
        let start = o * stride[axis] - padBegin[axis], d = dilation[axis], size = input[axis]
        let lo = start >= 0 ? 0 : (-start + d - 1) / d
        let last = size - 1 - start
        let hi = last < 0 ? 0 : min(kernel[axis], last / d + 1)
        return lo..<max(lo, hi)
    }

    /// The input index of tap `k` for output position `o` along `axis`.
    @inline(__always)
    func inputIndex(axis: Int, output o: Int, tap k: Int) -> Int {
        o * stride[axis] - padBegin[axis] + k * dilation[axis]
    }

    /// The range of output positions along `axis` for which tap `k` lands inside the input.
    @inline(__always)
    func validOutputs(axis: Int, tap k: Int) -> Range<Int> {
        let off = k * dilation[axis] - padBegin[axis], s = stride[axis], size = input[axis]
        let lo = off >= 0 ? 0 : (-off + s - 1) / s
        let last = size - 1 - off
        let hi = last < 0 ? 0 : min(output[axis], last / s + 1)
        return min(lo, output[axis])..<max(min(lo, output[axis]), hi)
    }
}
