import AscentIR

/// Direct depthwise convolution (one input channel per group, `C·m` outputs for multiplier
/// `m`), used when no oneDNN primitive was made for the node.
extension ConvKernel {
    /// Channels-last depthwise: `y[n,h,w,o] = Σ x[n,h',w',o/m] · k[i,j,0,o]` with multiplier `m = O/C`;
    /// vectorized over the contiguous channel axis.
    func depthwiseNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                       _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                       context: ExecutionContext) {
        let c = g.channels, m = out / c
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2]), kw = g.kernel[2]
        if m == 1 && g.stride[2] == 1 {
            depthwiseRowsNHWC(g, x, w, bias, y, context: context)
            return
        }
        context.parallelFor(g.batch * oh, costPerItem: ow * out * g.kernelCount) { rows in
            for r in rows {
                let n = r / oh, zh = r % oh
                let hTaps = g.taps(axis: 1, at: zh)
                for zw in 0..<ow {
                    let acc = y + (r * ow + zw) * out
                    if let bias { acc.update(from: bias, count: out) } else { acc.update(repeating: 0, count: out) }
                    let wTaps = g.taps(axis: 2, at: zw)
                    for a in hTaps {
                        let row = g.inputIndex(axis: 1, output: zh, tap: a)
                        for b in wTaps {
                            let column = g.inputIndex(axis: 2, output: zw, tap: b)
                            let xr = x + ((n * ih + row) * iw + column) * c
                            let wr = w + (a * kw + b) * out
                            if m == 1 {
                                for o in 0..<out { acc[o] += xr[o] * wr[o] }
                            } else {
                                for ci in 0..<c {
                                    let v = xr[ci], base = ci * m
                                    for j in 0..<m { acc[base + j] += v * wr[base + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Channels-last depthwise with multiplier 1 and unit horizontal stride: for each kernel tap,
    /// a run of output pixels reads a contiguous run of input pixels, so the work is long
    /// contiguous multiply-adds against the tap's weights repeated across `t` pixels.
    func depthwiseRowsNHWC(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                           _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
                           context: ExecutionContext) {
        let c = g.channels
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2])
        let t = max(1, (64 + c - 1) / c), span = t * c
        // Tiled weights (one block of `span` floats per tap) and bias.
        let tiles = context.scratch(floats: (kh * kw + 1) * span)
        defer { context.release(scratch: tiles) }
        let tw = tiles.baseAddress.assumingMemoryBound(to: Float.self)
        for tap in 0..<(kh * kw) {
            for p in 0..<t { (tw + tap * span + p * c).update(from: w + tap * c, count: c) }
        }
        let tb = tw + kh * kw * span
        for p in 0..<t {
            if let bias { (tb + p * c).update(from: bias, count: c) } else { (tb + p * c).update(repeating: 0, count: c) }
        }
        let wRanges = (0..<kw).map { g.validOutputs(axis: 2, tap: $0) }
        let offsets = (0..<kw).map { $0 * g.dilation[2] - g.padBegin[2] }
        context.parallelFor(g.batch * oh, costPerItem: ow * c * kh * kw) { rows in
            for r in rows {
                let n = r / oh, zh = r % oh
                let yr = y + r * ow * c
                var o = 0
                while o < ow {
                    let k = min(t, ow - o) * c
                    let dst = yr + o * c
                    for j in 0..<k { dst[j] = tb[j] }
                    o += t
                }
                for a in g.taps(axis: 1, at: zh) {
                    let xr = x + (n * ih + g.inputIndex(axis: 1, output: zh, tap: a)) * iw * c
                    for b in 0..<kw {
                        let range = wRanges[b], wt = tw + (a * kw + b) * span
                        var o = range.lowerBound
                        while o < range.upperBound {
                            let k = min(t, range.upperBound - o) * c
                            let dst = yr + o * c, src = xr + (o + offsets[b]) * c
                            for j in 0..<k { dst[j] += src[j] * wt[j] }
                            o += t
                        }
                    }
                }
            }
        }
    }

    /// Channels-first depthwise: each output plane `o` filters input plane `o/m` with `k[o,0,:,:]`.
    func depthwiseNCHW(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                       _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, out: Int,
                       context: ExecutionContext) {
        let c = g.channels, m = out / c
        let (oh, ow) = (g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        let (kh, kw) = (g.kernel[1], g.kernel[2]), sw = g.stride[2]
        let wRanges = (0..<kw).map { g.validOutputs(axis: 2, tap: $0) }
        let offsets = (0..<kw).map { $0 * g.dilation[2] - g.padBegin[2] }
        context.parallelFor(g.batch * out, costPerItem: oh * ow * kh * kw) { planes in
            for p in planes {
                let n = p / out, o = p % out
                let yp = y + p * oh * ow
                let xp = x + (n * c + o / m) * ih * iw
                let wp = w + o * kh * kw
                yp.update(repeating: bias?[o] ?? 0, count: oh * ow)
                for zh in 0..<oh {
                    let yr = yp + zh * ow
                    for a in g.taps(axis: 1, at: zh) {
                        let xr = xp + g.inputIndex(axis: 1, output: zh, tap: a) * iw
                        for b in 0..<kw {
                            let v = wp[a * kw + b], off = offsets[b], range = wRanges[b]
                            if sw == 1 {
                                let src = xr + off
                                for i in range { yr[i] += v * src[i] }
                            } else {
                                for i in range { yr[i] += v * xr[i * sw + off] }
                            }
                        }
                    }
                }
            }
        }
    }
}
