import AscentIR

extension Image {
    /// The colour model of a channel count, for messages: `grayscale`, `RGB`, `RGBA`.
    public static func colourName(channels: Int) -> String {
        switch channels {
        case 1: return "grayscale"
        case 3: return "RGB"
        case 4: return "RGBA"
        default: return "\(channels)-channel"
        }
    }

    /// The image scaled to `width × height` as Pillow's `resize(size, Image.BILINEAR)` does it
    /// (and so torchvision's `Resize` on PIL images): separable, a triangle filter over pixel
    /// centres, widened by the scale factor when shrinking so every input pixel counts (no
    /// aliasing), rows first, each pass rounded to bytes. Within 1 of Pillow's values (Pillow
    /// sums in fixed point).
    public func resized(width newWidth: Int, height newHeight: Int) throws -> Image {
        guard newWidth > 0, newHeight > 0, let count = Shape.product([newWidth, newHeight, channels]), count <= PNG.maxPixels * 4 else {
            throw AscentError.invalid("cannot resize a picture to \(newWidth)×\(newHeight)")
        }
        if newWidth == width && newHeight == height { return self }
        let columns = Image.weights(from: width, to: newWidth)
        let rows = Image.weights(from: height, to: newHeight)
        func byte(_ v: Float) -> UInt8 { UInt8(min(max(v.rounded(), 0), 255)) }
        var horizontal = [UInt8](repeating: 0, count: height * newWidth * channels)
        for y in 0..<height {
            for (x, taps) in columns.enumerated() {
                for c in 0..<channels {
                    var sum: Float = 0
                    for (i, w) in taps { sum += w * Float(pixels[(y * width + i) * channels + c]) }
                    horizontal[(y * newWidth + x) * channels + c] = byte(sum)
                }
            }
        }
        var out = [UInt8](repeating: 0, count: count)
        for (y, taps) in rows.enumerated() {
            for x in 0..<newWidth {
                for c in 0..<channels {
                    var sum: Float = 0
                    for (i, w) in taps { sum += w * Float(horizontal[(i * newWidth + x) * channels + c]) }
                    out[(y * newWidth + x) * channels + c] = byte(sum)
                }
            }
        }
        return try Image(width: newWidth, height: newHeight, channels: channels, pixels: out)
    }

    /// The image with `newChannels` channels: gray → RGB copies the gray value, RGB → gray
    /// takes the luma `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601, as PIL's `convert("L")`),
    /// alpha is dropped when not wanted and opaque when added.
    public func converted(channels newChannels: Int) throws -> Image {
        guard [1, 3, 4].contains(newChannels) else { throw AscentError.invalid("an image has 1, 3 or 4 channels, not \(newChannels)") }
        if newChannels == channels { return self }
        var out = [UInt8](repeating: 255, count: width * height * newChannels)
        for p in 0..<(width * height) {
            let source = p * channels, target = p * newChannels
            let rgb: (UInt8, UInt8, UInt8) = channels == 1
                ? (pixels[source], pixels[source], pixels[source])
                : (pixels[source], pixels[source + 1], pixels[source + 2])
            if newChannels == 1 {
                let luma = 0.299 * Float(rgb.0) + 0.587 * Float(rgb.1) + 0.114 * Float(rgb.2)
                out[target] = UInt8(min(luma.rounded(), 255))
            } else {
                (out[target], out[target + 1], out[target + 2]) = rgb
                if newChannels == 4, channels == 4 { out[target + 3] = pixels[source + 3] }
            }
        }
        return try Image(width: width, height: height, channels: newChannels, pixels: out)
    }

    /// For each output position along an axis of `n` pixels scaled to `m`: the input pixels and
    /// their weights (summing to 1). The triangle filter `1 − |t|` at each input pixel centre,
    /// `t` measured in output pixels when shrinking, input pixels when growing.
    static func weights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let scale = Double(n) / Double(m)
        let spread = max(scale, 1)
        return (0..<m).map { j in
            let centre = (Double(j) + 0.5) * scale
            let lo = max(Int(centre - spread + 0.5), 0), hi = min(Int(centre + spread + 0.5), n)
            var taps: [(Int, Double)] = []
            for i in lo..<max(hi, lo) {
                let w = max(0, 1 - abs((Double(i) - centre + 0.5) / spread))
                if w > 0 { taps.append((i, w)) }
            }
            let total = taps.reduce(0) { $0 + $1.1 }
            return taps.map { ($0.0, Float($0.1 / total)) }
        }
    }
}
