import AscentIR

/// Heat-map pictures: a map coloured by a ``Colormap``, alpha-blended over a picture, with a legend.
public enum Heatmap {
    /// `map` (row-major `height × width`, values in [0, 1]) coloured and blended over `base`
    /// (`height × width`, any channel count; drawn in gray when it is not RGB):
    /// `(1 − alpha)·base + alpha·colour`. Without a base the colours alone.
    public static func overlay(_ map: [Float], width: Int, height: Int, base: Image?, colormap: Colormap, alpha: Float) throws -> Image {
        precondition(map.count == width * height)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let a = base == nil ? 1 : min(max(alpha, 0), 1)
        for p in 0..<(width * height) {
            let (r, g, b) = colormap.color(map[p])
            var under: (Float, Float, Float) = (0, 0, 0)
            if let base {
                let i = p * base.channels
                if base.channels >= 3 {
                    under = (Float(base.pixels[i]), Float(base.pixels[i + 1]), Float(base.pixels[i + 2]))
                } else {
                    under = (Float(base.pixels[i]), Float(base.pixels[i]), Float(base.pixels[i]))
                }
            }
            pixels[3 * p] = UInt8(((1 - a) * under.0 + a * Float(r)).rounded())
            pixels[3 * p + 1] = UInt8(((1 - a) * under.1 + a * Float(g)).rounded())
            pixels[3 * p + 2] = UInt8(((1 - a) * under.2 + a * Float(b)).rounded())
        }
        return try Image(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// `image` enlarged by a whole factor (nearest neighbour) until its longer side is at least `side`.
    public static func enlarged(_ image: Image, toAtLeast side: Int) throws -> Image {
        let zoom = max(1, (side + max(image.width, image.height) - 1) / max(1, max(image.width, image.height)))
        guard zoom > 1 else { return image }
        let (w, h, c) = (image.width * zoom, image.height * zoom, image.channels)
        var pixels = [UInt8](repeating: 0, count: w * h * c)
        for y in 0..<h {
            for x in 0..<w {
                let s = ((y / zoom) * image.width + x / zoom) * c, d = (y * w + x) * c
                for k in 0..<c { pixels[d + k] = image.pixels[s + k] }
            }
        }
        return try Image(width: w, height: h, channels: c, pixels: pixels)
    }

    /// `image` (RGB) with a white margin below holding a colour bar from `low` to `high` and a caption.
    public static func withLegend(_ image: Image, colormap: Colormap, low: String, high: String, caption: String) throws -> Image {
        let scale = image.width >= 320 ? 2 : 1
        let text = BitmapFont.glyphHeight * scale
        let bar = 10 * scale, gap = 4 * scale
        let width = max(image.width, BitmapFont.width(of: caption, scale: scale) + 2 * gap)
        let height = image.height + gap + bar + gap + text + gap + text + gap
        var out = try Image(width: width, height: height, channels: 3, pixels: [UInt8](repeating: 255, count: width * height * 3))
        for y in 0..<image.height {
            for x in 0..<image.width {
                let s = (y * image.width + x) * image.channels, d = (y * width + x) * 3
                for k in 0..<3 { out.pixels[d + k] = image.pixels[s + min(k, image.channels - 1)] }
            }
        }
        let left = gap, right = width - gap, top = image.height + gap
        for x in left..<right {
            let (r, g, b) = colormap.color(Float(x - left) / Float(max(1, right - left - 1)))
            for y in top..<(top + bar) {
                let d = (y * width + x) * 3
                (out.pixels[d], out.pixels[d + 1], out.pixels[d + 2]) = (r, g, b)
            }
        }
        let labels = top + bar + gap
        let black: [UInt8] = [0, 0, 0]
        BitmapFont.draw(low, into: &out, x: left, y: labels, scale: scale, color: black)
        BitmapFont.draw(high, into: &out, x: right - BitmapFont.width(of: high, scale: scale), y: labels, scale: scale, color: black)
        BitmapFont.draw(caption, into: &out, x: left, y: labels + text + gap, scale: scale, color: black)
        return out
    }
}
