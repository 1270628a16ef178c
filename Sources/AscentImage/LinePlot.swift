/// Line plots of 1-D signals: one panel per channel, each with its curves scaled to the panel.
public enum LinePlot {
    /// A curve to draw: its values, colour and whether it is scaled with the panel's other curves
    /// (false: scaled to the panel on its own, for an attribution drawn over the signal).
    public struct Curve: Sendable {
        public var values: [Float]
        public var color: (UInt8, UInt8, UInt8)
        public init(_ values: [Float], color: (UInt8, UInt8, UInt8)) { (self.values, self.color) = (values, color) }
    }

    /// Panels stacked vertically, `width` pixels wide, each `panelHeight` high with a caption; every
    /// curve is scaled to its own range (a zero line drawn for curves that cross zero).
    public static func render(panels: [(curves: [Curve], caption: String)], width: Int = 512, panelHeight: Int = 96) throws -> Image {
        let caption = BitmapFont.glyphHeight + 6, gap = 6
        let height = gap + panels.count * (panelHeight + caption + gap)
        var image = try Image(width: width, height: height, channels: 3, pixels: [UInt8](repeating: 255, count: width * height * 3))
        func plot(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let d = (y * width + x) * 3
            (image.pixels[d], image.pixels[d + 1], image.pixels[d + 2]) = (c.0, c.1, c.2)
        }
        for (k, panel) in panels.enumerated() {
            let top = gap + k * (panelHeight + caption + gap)
            for x in gap..<(width - gap) { plot(x, top + panelHeight, (200, 200, 200)) }
            for curve in panel.curves where !curve.values.isEmpty {
                let finite = curve.values.filter(\.isFinite)
                let lo = min(finite.min() ?? 0, 0), hi = max(finite.max() ?? 1, 0)
                let span = hi - lo > 0 ? hi - lo : 1
                func row(_ v: Float) -> Int { top + Int(((hi - (v.isFinite ? v : 0)) / span * Float(panelHeight - 1)).rounded()) }
                if lo < 0 { for x in gap..<(width - gap) where x % 4 < 2 { plot(x, row(0), (170, 170, 170)) } }
                let n = curve.values.count
                var previous: (Int, Int)?
                for x in gap..<(width - gap) {
                    let position = n > 1 ? Double(x - gap) / Double(width - 2 * gap - 1) * Double(n - 1) : 0
                    let i = min(Int(position), n - 1), j = min(i + 1, n - 1), f = Float(position - Double(i))
                    let y = row(curve.values[i] * (1 - f) + curve.values[j] * f)
                    if let (px, py) = previous { for yy in min(py, y)...max(py, y) { plot(px, yy, curve.color) } }
                    plot(x, y, curve.color)
                    previous = (x, y)
                }
            }
            BitmapFont.draw(panel.caption, into: &image, x: gap, y: top + panelHeight + 3, color: [0, 0, 0])
        }
        return image
    }
}
