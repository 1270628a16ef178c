import AscentImage
import AscentIR

/// Pictures of probe results.
public enum Picture {
    /// The batch item `index` of an image-like input as an 8-bit picture.
    /// - Throws: when the input is not `[N,H,W,C]`/`[N,C,H,W]` with 1, 3 or 4 channels.
    public static func image(from input: Tensor, index: Int = 0, channelsLast: Bool, deprocess: Deprocess) throws -> Image {
        guard let g = ImageGeometry(shape: input.shape, channelsLast: channelsLast), [1, 3, 4].contains(g.channels),
              index < g.batch else {
            throw AscentError.invalid("input \(input) is not a picture (needs [N,H,W,C] or [N,C,H,W] with 1, 3 or 4 channels)")
        }
        let x = input.floats()
        var values: [Float] = []
        values.reserveCapacity(g.height * g.width * g.channels)
        for y in 0..<g.height { for xx in 0..<g.width { for c in 0..<g.channels { values.append(x[g.index(index, y, xx, c)]) } } }
        var (height, width) = (g.height, g.width)
        switch deprocess {
        case .standardize(let std, let crop):
            // As numpy does it in float32: `x -= x.mean(); x /= x.std() + 1e-5; x *= std; x += 0.5`,
            // with the sums accumulated in double (close to numpy's pairwise summation).
            let n = Double(values.count)
            let mean = Float(values.reduce(0.0) { $0 + Double($1) } / n)
            values = values.map { $0 - mean }
            let centre = Float(values.reduce(0.0) { $0 + Double($1) } / n)
            let sd = Float(values.reduce(0.0) { $0 + Double(($1 - centre) * ($1 - centre)) } / n).squareRoot()
            let divisor = sd + Float(1e-5)
            values = values.map { $0 / divisor * std + 0.5 }
            if crop > 0, height > 4 * crop, width > 4 * crop {
                var cropped: [Float] = []
                for y in crop..<(height - crop) {
                    let row = (y * width + crop) * g.channels
                    cropped += values[row..<(row + (width - 2 * crop) * g.channels)]
                }
                values = cropped
                height -= 2 * crop
                width -= 2 * crop
            }
        case .range(let lo, let hi):
            values = values.map { ($0 - lo) / (hi - lo) }
        }
        // The Keras example converts with astype("uint8"), which truncates.
        let truncate: Bool
        if case .standardize = deprocess { truncate = true } else { truncate = false }
        let pixels = values.map { v -> UInt8 in
            let scaled = min(max(v, 0), 1) * 255
            return UInt8(truncate ? scaled.rounded(.towardZero) : scaled.rounded())
        }
        return try Image(width: width, height: height, channels: g.channels, pixels: pixels)
    }
}
