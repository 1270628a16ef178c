import AscentIR

/// Pictures side by side in one image, each with a caption underneath: the CLI's picture of
/// several targets at once.
public enum ImageGrid {
    /// Columns for `count` cells: a divisor of `count` near its square root when one exists
    /// (10 → 5×2, 16 → 4×4), else ⌈√count⌉.
    public static func columns(for count: Int) -> Int {
        guard count > 1 else { return max(count, 1) }
        var root = 1
        while root * root < count { root += 1 }
        for c in root...(2 * root) where c <= count && count % c == 0 { return c }
        return root
    }

    /// Lays out `cells` (each with its caption) in a grid on a white background.
    ///
    /// Pictures smaller than `minimumSide` pixels are enlarged by a whole factor (nearest
    /// neighbour, so pixels stay visible); captions are cut from the left to fit their cell
    /// (the end of a target — its class or channel — is what tells the cells apart). Gray
    /// pictures give a gray grid; any colour picture makes the grid RGB; alpha is dropped.
    public static func make(_ cells: [(image: Image, caption: String)], minimumSide: Int = 96, gap: Int = 6) throws -> Image {
        guard !cells.isEmpty else { throw AscentError.invalid("a grid needs at least one picture") }
        let channels = cells.contains { $0.image.channels >= 3 } ? 3 : 1
        let side = cells.map { max($0.image.width, $0.image.height) }.max()!
        let zoom = max(1, (minimumSide + side - 1) / max(side, 1))
        let cellWidth = cells.map { $0.image.width }.max()! * zoom
        let cellHeight = cells.map { $0.image.height }.max()! * zoom
        let fontScale = cellWidth >= 160 ? 2 : 1
        let captionHeight = BitmapFont.glyphHeight * fontScale + 6
        let columns = columns(for: cells.count)
        let rows = (cells.count + columns - 1) / columns
        let width = gap + columns * (cellWidth + gap)
        let height = gap + rows * (cellHeight + captionHeight + gap)
        guard let count = Shape.product([width, height, channels]), count <= PNG.maxPixels * 4 else {
            throw AscentError.invalid("a grid of \(cells.count) pictures of \(cellWidth)×\(cellHeight) is too large")
        }
        var grid = try Image(width: width, height: height, channels: channels, pixels: [UInt8](repeating: 255, count: count))
        let maxChars = max(1, (cellWidth + 1) / (BitmapFont.advance * fontScale))
        for (k, cell) in cells.enumerated() {
            let left = gap + (k % columns) * (cellWidth + gap)
            let top = gap + (k / columns) * (cellHeight + captionHeight + gap)
            let image = cell.image
            for y in 0..<(image.height * zoom) {
                for x in 0..<(image.width * zoom) {
                    let source = ((y / zoom) * image.width + x / zoom) * image.channels
                    let target = ((top + y) * width + left + x) * channels
                    for c in 0..<channels {
                        grid.pixels[target + c] = image.channels >= 3 ? image.pixels[source + c] : image.pixels[source]
                    }
                }
            }
            let caption = cell.caption.count > maxChars ? String(cell.caption.suffix(maxChars)) : cell.caption
            let textX = left + (cellWidth - BitmapFont.width(of: caption, scale: fontScale)) / 2
            BitmapFont.draw(caption, into: &grid, x: textX, y: top + cellHeight + 3, scale: fontScale,
                            color: [UInt8](repeating: 0, count: channels))
        }
        return grid
    }
}
