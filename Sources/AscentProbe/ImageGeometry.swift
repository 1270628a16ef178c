/// The picture axes of an image-like input `[N, H, W, C]` (channels last) or
/// `[N, C, H, W]`, for the spatial operations of a probe (jitter, blur, total variation).
struct ImageGeometry: Equatable {
    let batch: Int, height: Int, width: Int, channels: Int
    let channelsLast: Bool

    /// nil for inputs that are not rank-4 images.
    init?(shape: [Int], channelsLast: Bool) {
        guard shape.count == 4 else { return nil }
        batch = shape[0]
        self.channelsLast = channelsLast
        if channelsLast { (height, width, channels) = (shape[1], shape[2], shape[3]) }
        else { (channels, height, width) = (shape[1], shape[2], shape[3]) }
    }

    /// Flat index of (b, y, x, c).
    @inline(__always) func index(_ b: Int, _ y: Int, _ x: Int, _ c: Int) -> Int {
        channelsLast ? ((b * height + y) * width + x) * channels + c : ((b * channels + c) * height + y) * width + x
    }

    /// Element strides: between pixels (y·width + x), channels and batch items.
    var pixelStride: Int { channelsLast ? channels : 1 }
    var channelStride: Int { channelsLast ? 1 : height * width }
    var batchStride: Int { channels * height * width }

    /// The image shifted by (dy, dx) pixels with wrap-around.
    func roll(_ v: [Float], dy: Int, dx: Int) -> [Float] {
        var out = v
        for b in 0..<batch {
            for y in 0..<height {
                let sy = ((y - dy) % height + height) % height
                for x in 0..<width {
                    let sx = ((x - dx) % width + width) % width
                    for c in 0..<channels { out[index(b, y, x, c)] = v[index(b, sy, sx, c)] }
                }
            }
        }
        return out
    }

    /// A separable Gaussian blur with reflected edges.
    func gaussianBlur(_ v: [Float], sigma: Float) -> [Float] {
        guard sigma > 0 else { return v }
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var kernel = (-radius...radius).map { exp(-Float($0 * $0) / (2 * sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        func reflect(_ i: Int, _ n: Int) -> Int {
            guard n > 1 else { return 0 }
            var i = i
            while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
            return i
        }
        var tmp = v, out = v
        for b in 0..<batch {
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        var s: Float = 0
                        for k in -radius...radius { s += kernel[k + radius] * v[index(b, y, reflect(x + k, width), c)] }
                        tmp[index(b, y, x, c)] = s
                    }
                }
                for y in 0..<height {
                    for x in 0..<width {
                        var s: Float = 0
                        for k in -radius...radius { s += kernel[k + radius] * tmp[index(b, reflect(y + k, height), x, c)] }
                        out[index(b, y, x, c)] = s
                    }
                }
            }
        }
        return out
    }

    /// Gradient of `mean over pixels of (x[y+1]−x[y])² + (x[x+1]−x[x])²`.
    func totalVariationGradient(_ v: [Float]) -> [Float] {
        var g = [Float](repeating: 0, count: v.count)
        let n = Float(max(1, batch * height * width * channels))
        for b in 0..<batch {
            for c in 0..<channels {
                for y in 0..<height {
                    for x in 0..<width {
                        let i = index(b, y, x, c)
                        if y + 1 < height {
                            let d = v[index(b, y + 1, x, c)] - v[i]
                            g[i] -= 2 * d / n
                            g[index(b, y + 1, x, c)] += 2 * d / n
                        }
                        if x + 1 < width {
                            let d = v[index(b, y, x + 1, c)] - v[i]
                            g[i] -= 2 * d / n
                            g[index(b, y, x + 1, c)] += 2 * d / n
                        }
                    }
                }
            }
        }
        return g
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Penalties subtracted from the objective; their gradients are added in Swift.
enum Regularizers {
    static func addGradients(to g: inout [Float], x: [Float], options: ProbeOptions, geometry: ImageGeometry?, batch: Int) {
        let n = Float(max(1, x.count / max(batch, 1)))
        if options.l2 != 0 {
            for i in g.indices { g[i] -= options.l2 * 2 * x[i] / n }
        }
        if options.l1 != 0 {
            for i in g.indices { g[i] -= options.l1 * (x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0) / n }
        }
        if options.totalVariation != 0, let geometry {
            let tv = geometry.totalVariationGradient(x)
            for i in g.indices { g[i] -= options.totalVariation * tv[i] * Float(batch) }
        }
    }
}
