import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the pooling backward primitives (Ops/Pooling.swift): MaxPoolGrad, AveragePoolGrad,
// GlobalAveragePoolGrad, GlobalMaxPoolGrad, LpPoolGrad.

/// `MaxPoolGrad(dy, x)` and `AveragePoolGrad(dy, x)`: the pooling gradients, shaped like `x`,
/// with the forward pool's attributes (`data_format`, `kernel_shape`, `strides`, `dilations`,
/// `pads`, `auto_pad`, `ceil_mode`; `count_include_pad` for averages).
///
/// MaxPoolGrad recomputes each window's maximum and routes the window's `dy` to the FIRST
/// maximum in scan order (TensorFlow's and PyTorch's convention for ties); padding never wins.
/// AveragePoolGrad spreads `dy / count` over the window's taps inside the input, where `count`
/// is the forward divisor.
struct PoolGradKernel: Kernel {
    let window: Window
    let kernel: [Int]
    let isMax: Bool
    let countIncludePad: Bool

    init(_ a: PoolAttributes, max: Bool) throws {
        window = a.window
        kernel = try a.kernel()
        isMax = max
        countIncludePad = a.countIncludePad
    }

    func geometry(dy: TensorType, x: TensorType) throws -> WindowGeometry {
        for t in [dy, x] where t.dtype != .float32 { throw KernelError.dtype(t.dtype) }
        let g = try window.geometry(input: x.shape, kernel: kernel)
        let expected = window.outputShape(g, channels: g.channels)
        guard dy.shape == expected else {
            throw AscentError.invalid("output gradient \(dy) does not match the pool's output \(Shape(expected))")
        }
        return g
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        _ = try geometry(dy: try inputs.type(0), x: try inputs.type(1))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2, let dy = inputs[0], let x = inputs[1] else { throw AscentError.invalid("missing input") }
        let g = try geometry(dy: dy.type, x: x.type)
        let dx = context.allocateZeroed(outputs[0])
        let c = g.channels
        // Work items: channels-first planes, or channels-last (image, block of channels) pairs.
        let block = window.channelsLast ? Swift.min(c, 64) : 1
        let blocks = window.channelsLast ? (c + block - 1) / block : c
        let (src, grad, dst) = (x.floats, dy.floats, dx.mutableFloats)
        context.parallelFor(g.batch * blocks, costPerItem: block * g.outputCount * g.kernelCount) { items in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * block) { scratch in
                guard let best = scratch.baseAddress else { return }
                for item in items {
                    let n = item / blocks, c0 = (item % blocks) * block, width = Swift.min(block, c - c0)
                    // Element (position, channel) of image n lives at base + position · step + channel.
                    let step = window.channelsLast ? c : 1
                    let inBase = window.channelsLast ? n * g.inputCount * c + c0 : item * g.inputCount
                    let outBase = window.channelsLast ? n * g.outputCount * c + c0 : item * g.outputCount
                    pool(g, src + inBase, grad + outBase, dst + inBase, step: step, width: width, best: best, at: best + block)
                }
            }
        }
        return [dx]
    }

    /// One image and `width` channels: element (position p, channel i) is at `p · step + i`.
    /// Max pooling sends each output's gradient to the first position of its window holding the
    /// maximum (later values only win when strictly greater, so ties and NaN keep the earlier one),
    /// in two passes over the window whose loops run across the channels branch-free (the compiler
    /// vectorizes them): the maximum and where it is, then the gradient to that position.
    private func pool(_ g: WindowGeometry, _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                      _ dx: UnsafeMutablePointer<Float>, step: Int, width: Int,
                      best: UnsafeMutablePointer<Float>, at: UnsafeMutablePointer<Float>) {
        let (od, oh, ow) = (g.output[0], g.output[1], g.output[2]), (ih, iw) = (g.input[1], g.input[2])
        var o = 0
        for zd in 0..<od {
            let dT = g.taps(axis: 0, at: zd)
            for zh in 0..<oh {
                let hT = g.taps(axis: 1, at: zh)
                for zw in 0..<ow {
                    defer { o += 1 }
                    let wT = g.taps(axis: 2, at: zw)
                    let d = dy + o * step
                    /// Calls `body(p)` for the element offset `p` of each window position, in order.
                    func forEachTap(_ body: (Int) -> Void) {
                        for a in dT {
                            let pd = g.inputIndex(axis: 0, output: zd, tap: a)
                            for b in hT {
                                let row = (pd * ih + g.inputIndex(axis: 1, output: zh, tap: b)) * iw
                                for e in wT { body((row + g.inputIndex(axis: 2, output: zw, tap: e)) * step) }
                            }
                        }
                    }
                    guard isMax else {
                        let scale = 1 / divisor(g, (dT, hT, wT), zd, zh, zw)
                        forEachTap { p in
                            let t = dx + p
                            for i in 0..<width { t[i] += d[i] * scale }
                        }
                        continue
                    }
                    // Pass 1: the maximum and the ordinal of the tap holding it (a Float, so that
                    // every lane is 32 bits wide); pass 2: that tap takes the gradient.
                    var k: Float = 0
                    forEachTap { p in
                        let v = x + p
                        if k == 0 {
                            for i in 0..<width { best[i] = v[i]; at[i] = 0 }
                        } else {
                            for i in 0..<width {
                                // Arithmetic rather than choices between a new and a stored value,
                                // which the compiler turns into branches around the stores.
                                let a = v[i], b = best[i], t = at[i], greater: Float = a > b ? 1 : 0
                                best[i] = a > b ? a : b
                                at[i] = t + greater * (k - t)
                            }
                        }
                        k += 1
                    }
                    k = 0
                    forEachTap { p in
                        let t = dx + p
                        for i in 0..<width { let r = d[i]; t[i] += at[i] == k ? r : 0 }
                        k += 1
                    }
                }
            }
        }
    }

    /// The forward averaging divisor of the window at (zd, zh, zw), as `PoolKernel` computes it
    /// (at least 1: an empty window passes nothing back).
    private func divisor(_ g: WindowGeometry, _ t: (Range<Int>, Range<Int>, Range<Int>), _ zd: Int, _ zh: Int, _ zw: Int) -> Float {
        let n = g.averagingCount(includePad: countIncludePad, taps: t, at: (zd, zh, zw))
        return Float(countIncludePad ? n : Swift.max(1, n))
    }
}

/// `GlobalAveragePoolGrad(dy, x)`: `dy / (spatial size)` at every position; `GlobalMaxPoolGrad(dy, x)`:
/// `dy` shared equally by the positions equal to the maximum (as TensorFlow differentiates the
/// `reduce_max` behind Keras's global max pooling). Both shaped like `x`, `NCHW` or `NHWC`.
struct GlobalPoolGradKernel: Kernel {
    let channelsLast: Bool
    let isMax: Bool

    init(_ a: GlobalPoolAttributes, max: Bool) {
        channelsLast = a.format == .channelsLast
        isMax = max
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1)
        for t in [dy, x] where t.dtype != .float32 { throw KernelError.dtype(t.dtype) }
        guard x.rank >= 3 else { throw AscentError.invalid("input \(x) has rank below 3") }
        var pooled = x.shape
        for i in (channelsLast ? 1..<(x.rank - 1) : 2..<x.rank) { pooled[i] = 1 }
        guard dy.shape == pooled else { throw AscentError.invalid("output gradient \(dy) does not match the pool's output \(Shape(pooled))") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 2, let dy = inputs[0], let x = inputs[1] else { throw AscentError.invalid("missing input") }
        let dx = context.allocate(outputs[0])
        let n = x.shape[0], c = channelsLast ? x.shape[x.rank - 1] : x.shape[1]
        let spatial = n * c == 0 ? 0 : x.count / (n * c)
        let (src, grad, dst) = (x.floats, dy.floats, dx.mutableFloats)
        let isMax = self.isMax, channelsLast = self.channelsLast
        // Element (spatial s) of plane (image b, channel i).
        let step = channelsLast ? c : 1
        context.parallelFor(n * c, costPerItem: 2 * spatial) { planes in
            for plane in planes {
                let b = plane / c, i = plane % c
                let base = channelsLast ? b * spatial * c + i : plane * spatial
                let xs = src + base, ds = dst + base
                var share = grad[plane] / Float(Swift.max(spatial, 1))
                guard isMax else {
                    for s in 0..<spatial { ds[s * step] = share }
                    continue
                }
                var best = -Float.infinity, ties = 0
                for s in 0..<spatial {
                    let v = xs[s * step]
                    if v > best { best = v; ties = 1 } else if v == best { ties += 1 }
                }
                share = grad[plane] / Float(Swift.max(ties, 1))
                for s in 0..<spatial { ds[s * step] = xs[s * step] == best ? share : 0 }
            }
        }
        return [dx]
    }
}

/// `LpPoolGrad(dy, x, y)`: d(LpPool)/d(x) applied to `dy`, with the forward LpPool's attributes and
/// window geometry: each output's `dy · y^(1−p)` goes back to its window's elements times
/// `|x|^(p−1)·sign(x)`. A window whose output is 0 passes nothing (its subgradient at 0).
struct LpPoolGradKernel: Kernel {
    let forward: LpPoolKernel

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let dy = try inputs.type(0), x = try inputs.type(1), y = try inputs.type(2)
        for t in [dy, x, y] { try requireFloat(t) }
        let expected = Array(x.shape.prefix(2)) + (try forward.geometry(x)).out
        guard dy.shape == expected, y.shape == expected else {
            throw AscentError.invalid("output gradient \(dy) and output \(y) do not match the pooling's output \(Shape(expected))")
        }
        return nil
    }

    /// For each output position of a plane, the plane offsets of the input elements its window covers.
    func windows(_ x: TensorType) throws -> [[Int]] {
        let g = try forward.geometry(x)
        let dims = Array(x.shape[2...]), kernel = forward.kernel
        let inStrides = contiguousStrides(dims)
        // Axis by axis, row-major: every window so far extended by this axis's in-range taps.
        var table: [[Int]] = [[0]]
        for i in dims.indices {
            table = table.flatMap { partial in
                (0..<g.out[i]).map { o in
                    let taps = (0..<kernel[i]).map { o * g.s[i] + $0 * g.d[i] - g.begin[i] }.filter { $0 >= 0 && $0 < dims[i] }
                    return partial.flatMap { base in taps.map { base + $0 * inStrides[i] } }
                }
            }
        }
        return table
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard inputs.count == 3, let dy = inputs[0], let x = inputs[1], let y = inputs[2] else { throw AscentError.invalid("missing input") }
        let table = try windows(x.type)
        let p = Double(forward.p), inSize = product(x.shape[2...]), outSize = table.count
        let xs = x.floats(), ys = y.floats(), dys = dy.floats()
        var dx = [Double](repeating: 0, count: x.count)
        for plane in 0..<(x.shape[0] * x.shape[1]) {
            for (o, window) in table.enumerated() {
                let yv = Double(ys[plane * outSize + o])
                guard yv != 0 else { continue }
                let scale = Double(dys[plane * outSize + o]) / pow(yv, p - 1)
                for offset in window {
                    let v = Double(xs[plane * inSize + offset])
                    guard v != 0 else { continue }
                    dx[plane * inSize + offset] += scale * pow(abs(v), p - 1) * (v < 0 ? -1 : 1)
                }
            }
        }
        return [tensor(outputs[0], doubles: dx)]
    }
}

extension KernelRegistry {
    static let poolingBackward: [(OpDefinition, KernelFactory)] = [
        (.maxPoolGrad, { try PoolGradKernel(try PoolAttributes($0), max: true) }),
        (.averagePoolGrad, { try PoolGradKernel(try PoolAttributes($0), max: false) }),
        (.lpPoolGrad, { LpPoolGradKernel(forward: try LpPoolKernel(try PoolAttributes($0))) }),
        (.globalAveragePoolGrad, { GlobalPoolGradKernel(try GlobalPoolAttributes($0), max: false) }),
        (.globalMaxPoolGrad, { GlobalPoolGradKernel(try GlobalPoolAttributes($0), max: true) }),
    ]
}
