import AscentIR

// The geometry of sliding windows (convolutions, pools) from the IR's `Window` attributes.

extension Window {
    /// True for `NHWC` data (channels last).
    var channelsLast: Bool { format == .channelsLast }

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

    /// Per spatial axis of sizes `input`, for a kernel of `kernel` sizes: the output size, the
    /// padding at each end, the stride and the dilation (``Window/axes(input:kernel:)``, concrete).
    func spatialGeometry(input: [Int], kernel: [Int]) throws
        -> (output: [Int], padBegin: [Int], padEnd: [Int], strides: [Int], dilations: [Int]) {
        let (s, d, _) = try parameters(spatial: input.count, kernel: kernel)
        let axes = try self.axes(input: input.map(Dim.known), kernel: kernel)
        return (axes.map { $0.output.value ?? 0 }, axes.map(\.padBegin), axes.map(\.padEnd), s, d)
    }

    /// The geometry of a window of `kernel` spatial sizes over an input of `shape`.
    func geometry(input shape: [Int], kernel: [Int]) throws -> WindowGeometry {
        let (batch, channels, spatial) = try split(shape)
        let n = spatial.count
        let (output, begin, end, s, d) = try spatialGeometry(input: spatial, kernel: kernel)
        guard output.allSatisfy({ $0 > 0 }) else {
            throw AscentError.invalid("window \(kernel) (dilations \(d)) does not fit the input's spatial size \(spatial)")
        }
        // Normalize to three spatial axes (D, H, W) by prepending size-1 axes.
        let pad = 3 - n
        func three(_ v: [Int], _ fill: Int) -> SIMD3<Int> {
            let full = Array(repeating: fill, count: pad) + v
            return SIMD3(full[0], full[1], full[2])
        }
        return WindowGeometry(batch: batch, channels: channels, spatialRank: n,
                              input: three(spatial, 1), output: three(output, 1), kernel: three(kernel, 1),
                              stride: three(s, 1), dilation: three(d, 1),
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

    /// How many taps of the window at `o` along `axis` fall inside the input plus its padding (the
    /// `count_include_pad` divisor share; a `ceil_mode` window hanging past the padding counts less).
    func paddedTaps(axis: Int, at o: Int) -> Int {
        let start = o * stride[axis] - padBegin[axis]
        let room = input[axis] + padEnd[axis] - start
        let d = dilation[axis]
        return max(0, min(kernel[axis], (room + d - 1) / d))
    }

    /// The number of elements an average pool divides the window at output position `o` by: its
    /// taps inside the input plus padding (`includePad`), or inside the input (`taps`).
    @inline(__always)
    func averagingCount(includePad: Bool, taps t: (Range<Int>, Range<Int>, Range<Int>), at o: (Int, Int, Int)) -> Int {
        if includePad { return paddedTaps(axis: 0, at: o.0) * paddedTaps(axis: 1, at: o.1) * paddedTaps(axis: 2, at: o.2) }
        return t.0.count * t.1.count * t.2.count
    }
}
