import Foundation
import AscentImage
import AscentIR

extension Attribution {
    /// How a map is drawn:
    /// - image inputs (`[1,H,W,C]`/`[1,C,H,W]`, 1, 3 or 4 channels): the map at the input's size —
    ///   `saliency` and `smoothgrad` reduced over channels by `max |a|` (tf-keras-vis, Captum's
    ///   visualizer) and min-max normalized; `gradient-x-input`, `integrated-gradients` and `occlusion`
    ///   as Captum's `visualize_image_attr(sign="absolute_value")`: `|Σ_c a|` divided by the value
    ///   below which 98% of the total lies (clipped to 1); the CAM maps enlarged linearly (corners
    ///   aligned, as tf-keras-vis's `zoom(order=1)`) and min-max normalized — coloured by `colormap`
    ///   and blended over the input (`alpha` for the map), enlarged to at least 256 pixels, with a
    ///   colour bar labelled with the map values at its ends;
    /// - 1-D inputs (`[1,C,W]`, `[1,W,C]`, `[1,F]`): a line plot per channel, the input in gray and the
    ///   attribution in colour (each scaled to the panel), the CAM map (enlarged) in its own panel.
    /// - Throws: `.usage` for inputs that are neither (write the map with `--save` instead).
    public func picture(of map: Map, method: Method, input: Tensor, colormap: Colormap = .viridis, alpha: Float = 0.5,
                        caption: String) throws -> Image {
        let itemShape = Array(input.shape.dropFirst())
        let x = Array(input.floats().prefix(itemShape.reduce(1, *)))
        let values = map.values.floats()
        let channelAxis = channelsLast ? itemShape.count - 1 : 0
        if itemShape.count == 3, [1, 3, 4].contains(itemShape[channelAxis]) {
            let g = ImageGeometry(shape: [1] + itemShape, channelsLast: channelsLast)!
            var heat = [Float](repeating: 0, count: g.height * g.width)
            if method.needsLayer {
                heat = Resample.linear(values, from: Array(map.values.shape.dropFirst()), to: [g.height, g.width])
            } else {
                for y in 0..<g.height {
                    for xx in 0..<g.width {
                        let channel = (0..<g.channels).map { values[g.index(0, y, xx, $0)] }
                        heat[y * g.width + xx] = [.saliency, .smoothGrad].contains(method)
                            ? channel.map(abs).max()! : abs(channel.reduce(0, +))
                    }
                }
            }
            let (normalized, low, high) = normalize(heat, method: method)
            let lo = x.min() ?? 0, hi = x.max() ?? 1
            let base = try Picture.image(from: Tensor(shape: [1] + itemShape, scalars: x), channelsLast: channelsLast,
                                         deprocess: .range(lo: lo, hi: hi > lo ? hi : lo + 1))
            let blended = try Heatmap.overlay(normalized, width: g.width, height: g.height, base: base, colormap: colormap, alpha: alpha)
            return try Heatmap.withLegend(try Heatmap.enlarged(blended, toAtLeast: 256), colormap: colormap,
                                          low: short(low), high: short(high), caption: caption)
        }
        guard (2...3).contains(itemShape.count) || itemShape.count == 1 else {
            throw AscentError(.usage, "input [1, \(itemShape.map(String.init).joined(separator: ", "))] is neither an image nor a 1-D signal: write the map with --save instead")
        }
        // 1-D: [F] is one channel; [C, W] or [W, C].
        let channels = itemShape.count == 1 ? 1 : itemShape[channelAxis]
        let length = x.count / channels
        func series(_ v: [Float], _ c: Int) -> [Float] {
            (0..<length).map { i in itemShape.count == 1 ? v[i] : channelsLast ? v[i * channels + c] : v[c * length + i] }
        }
        let red: (UInt8, UInt8, UInt8) = (220, 40, 40)
        var panels: [(curves: [LinePlot.Curve], caption: String)] = []
        for c in 0..<channels {
            var curves = [LinePlot.Curve(series(x, c), color: (150, 150, 150))]
            if !method.needsLayer { curves.append(LinePlot.Curve(series(values, c), color: red)) }
            panels.append((curves, "\(caption) channel \(c)"))
        }
        if method.needsLayer {
            let cam = Resample.linear(values, from: Array(map.values.shape.dropFirst()), to: [length])
            panels.append(([LinePlot.Curve(cam, color: red)], "\(caption) map"))
        }
        return try LinePlot.render(panels: panels)
    }

    /// The map scaled to [0, 1] for colouring, with the values its ends stand for.
    func normalize(_ heat: [Float], method: Method) -> ([Float], Float, Float) {
        switch method {
        case .gradientTimesInput, .integratedGradients, .occlusion:
            // Captum's _cumulative_sum_threshold(|a|, 98).
            let sorted = heat.sorted()
            let total = sorted.reduce(0.0) { $0 + Double($1) }
            var running = 0.0, threshold = sorted.last ?? 1
            for v in sorted {
                running += Double(v)
                if running >= 0.98 * total { threshold = v; break }
            }
            if !(threshold > 0) { threshold = 1 }
            return (heat.map { min($0 / threshold, 1) }, 0, threshold)
        default:
            let lo = heat.min() ?? 0, hi = heat.max() ?? 1
            let span = hi > lo ? hi - lo : 1
            return (heat.map { ($0 - lo) / span }, lo, hi)
        }
    }

    private func short(_ v: Float) -> String { String(format: "%.3g", Double(v)).replacingOccurrences(of: "e+", with: "e") }
}
