import AscentIR

/// MaxPool, AveragePool (1-D to 3-D, `NCHW` or `NHWC`, strides, dilations, pads, `auto_pad`,
/// `ceil_mode`, `count_include_pad`; MaxPool's optional `Indices` output for `NCHW`), and
/// GlobalAveragePool / GlobalMaxPool.
enum PoolingKernels {
    static let factories: [String: KernelFactory] = [
        "MaxPool": { try PoolKernel($0, max: true) },
        "AveragePool": { try PoolKernel($0, max: false) },
        "GlobalAveragePool": { try GlobalPoolKernel($0, max: false) },
        "GlobalMaxPool": { try GlobalPoolKernel($0, max: true) },
    ]
}

struct PoolKernel: Kernel {
    let window: WindowAttributes
    let isMax: Bool
    let countIncludePad: Bool
    let wantsIndices: Bool

    init(_ a: NodeAttributes, max: Bool) throws {
        window = try WindowAttributes(a)
        isMax = max
        countIncludePad = try a.int("count_include_pad", 0) != 0
        wantsIndices = a.usesOutput(1)
        guard window.kernelShape != nil else { throw AscentError.invalid("missing attribute 'kernel_shape'") }
        if wantsIndices {
            guard try a.int("storage_order", 0) == 0 else { throw AscentError.invalid("MaxPool storage_order 1 is not supported") }
            guard !window.channelsLast else { throw AscentError.invalid("MaxPool indices need NCHW data") }
        }
    }

    func geometry(_ x: TensorType) throws -> WindowGeometry {
        guard x.dtype == .float32 else { throw KernelError.dtype(isMax ? "MaxPool" : "AveragePool", x.dtype) }
        return try window.geometry(input: x.shape, kernel: window.kernelShape ?? [])
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        let g = try geometry(x)
        let shape = window.outputShape(g, channels: g.channels)
        return [TensorType(.float32, shape), TensorType(.int64, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let g = try geometry(x.type)
        let y = context.allocate(outputs[0])
        let indices = wantsIndices ? context.allocate(outputs[1]) : nil
        // Per axis and output position: the taps inside the input, and the divisor share.
        let taps = (0..<3).map { axis in (0..<g.output[axis]).map { g.taps(axis: axis, at: $0) } }
        let padded = (0..<3).map { axis in (0..<g.output[axis]).map { paddedTaps(g, axis: axis, at: $0) } }
        if window.channelsLast {
            poolNHWC(g, x.floats, y.mutableFloats, taps: taps, padded: padded, context: context)
        } else {
            poolNCHW(g, x.floats, y.mutableFloats, indices?.mutablePointer(Int64.self), taps: taps, padded: padded, context: context)
        }
        return indices.map { [y, $0] } ?? [y]
    }

    /// How many taps of the window at `o` fall inside the input plus its padding (the
    /// `count_include_pad` divisor share; a `ceil_mode` window hanging past the padding counts less).
    private func paddedTaps(_ g: WindowGeometry, axis: Int, at o: Int) -> Int {
        let start = o * g.stride[axis] - g.padBegin[axis]
        let room = g.input[axis] + g.padEnd[axis] - start
        let d = g.dilation[axis]
        return max(0, min(g.kernel[axis], (room + d - 1) / d))
    }

    private func divisor(_ t: (Range<Int>, Range<Int>, Range<Int>), _ p: (Int, Int, Int)) -> Float {
        Float(countIncludePad ? p.0 * p.1 * p.2 : t.0.count * t.1.count * t.2.count)
    }

    private func poolNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          _ indices: UnsafeMutablePointer<Int64>?, taps: [[Range<Int>]], padded: [[Int]],
                          context: ExecutionContext) {
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (ih, iw) = (g.input[1], g.input[2])
        let isMax = self.isMax
        context.parallelFor(g.batch * g.channels, costPerItem: g.outputCount * g.kernelCount) { planes in
            for p in planes {
                let plane = x + p * g.inputCount
                var out = p * g.outputCount
                for zd in 0..<od {
                    let dT = taps[0][zd]
                    for zh in 0..<oh {
                        let hT = taps[1][zh]
                        for zw in 0..<ow {
                            let wT = taps[2][zw]
                            if isMax {
                                var best = -Float.infinity, at = -1
                                for a in dT {
                                    let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                                    for b in hT {
                                        let row = (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw
                                        for e in wT {
                                            let i = row + g.inputIndex(axis: 2, output: zw, tap: e)
                                            if plane[i] > best || at < 0 { best = plane[i]; at = i }
                                        }
                                    }
                                }
                                y[out] = best
                                indices?[out] = Int64(p * g.inputCount + max(at, 0))
                            } else {
                                var sum: Float = 0
                                for a in dT {
                                    let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                                    for b in hT {
                                        let row = (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw
                                        for e in wT { sum += plane[row + g.inputIndex(axis: 2, output: zw, tap: e)] }
                                    }
                                }
                                y[out] = sum / divisor((dT, hT, wT), (padded[0][zd], padded[1][zh], padded[2][zw]))
                            }
                            out += 1
                        }
                    }
                }
            }
        }
    }

    /// Channels-last: each output pixel is a vector over the contiguous channel axis.
    private func poolNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          taps: [[Range<Int>]], padded: [[Int]], context: ExecutionContext) {
        let c = g.channels
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2])
        let (id, ih, iw) = (g.input[0], g.input[1], g.input[2])
        let isMax = self.isMax
        context.parallelFor(g.batch * od * oh, costPerItem: ow * c * g.kernelCount) { rows in
            for r in rows {
                let n = r / (od * oh), zd = (r / oh) % od, zh = r % oh
                let dT = taps[0][zd], hT = taps[1][zh]
                for zw in 0..<ow {
                    let wT = taps[2][zw]
                    let acc = y + (r * ow + zw) * c
                    acc.update(repeating: isMax ? -.infinity : 0, count: c)
                    for a in dT {
                        let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                        for b in hT {
                            let ph = g.inputIndex(axis: 1, output: zh, tap: b)
                            for e in wT {
                                let pw = g.inputIndex(axis: 2, output: zw, tap: e)
                                let src = x + (((n * id + pd) * ih + ph) * iw + pw) * c
                                if isMax {
                                    for i in 0..<c where src[i] > acc[i] { acc[i] = src[i] }
                                } else {
                                    for i in 0..<c { acc[i] += src[i] }
                                }
                            }
                        }
                    }
                    if !isMax {
                        let scale = 1 / divisor((dT, hT, wT), (padded[0][zd], padded[1][zh], padded[2][zw]))
                        for i in 0..<c { acc[i] *= scale }
                    }
                }
            }
        }
    }
}

/// GlobalAveragePool / GlobalMaxPool: one value per (batch, channel) over all spatial positions.
struct GlobalPoolKernel: Kernel {
    let channelsLast: Bool
    let isMax: Bool

    init(_ a: NodeAttributes, max: Bool) throws {
        let format = try a.string("data_format", "NCHW")
        guard format == "NCHW" || format == "NHWC" else { throw AscentError.invalid("data_format '\(format)' is not NCHW or NHWC") }
        channelsLast = format == "NHWC"
        isMax = max
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype == .float32 else { throw KernelError.dtype(isMax ? "GlobalMaxPool" : "GlobalAveragePool", x.dtype) }
        guard x.rank >= 3 else { throw AscentError.invalid("input \(x) has rank below 3") }
        var shape = x.shape
        for i in (channelsLast ? 1..<(x.rank - 1) : 2..<x.rank) { shape[i] = 1 }
        return [TensorType(.float32, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.shape[0], c = channelsLast ? x.shape[x.rank - 1] : x.shape[1]
        let spatial = n * c == 0 ? 0 : x.count / (n * c)
        let src = x.floats, dst = y.mutableFloats
        let isMax = self.isMax
        if channelsLast {
            for b in 0..<n {
                let acc = dst + b * c
                acc.update(repeating: isMax ? -.infinity : 0, count: c)
                for s in 0..<spatial {
                    let row = src + (b * spatial + s) * c
                    if isMax {
                        for i in 0..<c where row[i] > acc[i] { acc[i] = row[i] }
                    } else {
                        for i in 0..<c { acc[i] += row[i] }
                    }
                }
                if !isMax && spatial > 0 {
                    let scale = 1 / Float(spatial)
                    for i in 0..<c { acc[i] *= scale }
                }
            }
        } else {
            context.parallelFor(n * c, costPerItem: spatial) { planes in
                for p in planes {
                    let plane = src + p * spatial
                    if isMax {
                        var best = -Float.infinity
                        for i in 0..<spatial where plane[i] > best { best = plane[i] }
                        dst[p] = best
                    } else {
                        var sum: Double = 0
                        for i in 0..<spatial { sum += Double(plane[i]) }
                        dst[p] = Float(sum / Double(spatial))
                    }
                }
            }
        }
        return [y]
    }
}
