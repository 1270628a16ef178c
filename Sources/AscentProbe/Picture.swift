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

    /// The channel axis (1 or 2) and channel count of a 1-D signal input `[N,T]`, `[N,C,T]` or
    /// `[N,T,C]`: the layout tag's axis when there is one (`channelsLast`), else the shorter of
    /// axes 1 and 2 (a signal is longer than its channel count). Nil for other shapes.
    public static func signalChannels(shape: [Int], channelsLast: Bool?) -> (axis: Int, count: Int)? {
        switch shape.count {
        case 2: return (1, 1)
        case 3:
            let last = channelsLast ?? (shape[2] < shape[1])
            return last ? (2, shape[2]) : (1, shape[1])
        default: return nil
        }
    }

    /// Line plots of 1-D signal inputs: one panel per batch item and channel, captioned
    /// `caption[k]` (and the channel when there are several).
    /// - Throws: when the input is not `[N,T]`, `[N,C,T]` or `[N,T,C]`.
    public static func signalPlot(from input: Tensor, channelsLast: Bool?, captions: [String]) throws -> Image {
        let shape = input.shape
        guard let (axis, channels) = signalChannels(shape: shape, channelsLast: channelsLast), channels <= 16 else {
            throw AscentError.invalid("input \(input) is not a 1-D signal (needs [N,T], [N,C,T] or [N,T,C])")
        }
        let x = input.floats()
        let perItem = x.count / max(shape[0], 1), length = perItem / channels
        var panels: [(curves: [LinePlot.Curve], caption: String)] = []
        for k in 0..<shape[0] {
            for c in 0..<channels {
                let series = (0..<length).map { i in x[k * perItem + (axis == 2 ? i * channels + c : c * length + i)] }
                let caption = (k < captions.count ? captions[k] : "item \(k)") + (channels > 1 ? " channel \(c)" : "")
                panels.append(([LinePlot.Curve(series, color: (40, 90, 200))], caption))
            }
        }
        return try LinePlot.render(panels: panels)
    }
}
