import AscentImage
import Testing

@Suite struct ImageGridTests {
    @Test func columnsPreferAnEvenSplitNearTheSquareRoot() {
        #expect([1, 2, 3, 4, 9, 10, 12, 16, 7].map(ImageGrid.columns(for:)) == [1, 2, 3, 2, 3, 5, 4, 4, 3])
    }

    @Test func picturesAreEnlargedAndCaptioned() throws {
        let black = try Image(width: 4, height: 2, channels: 1, pixels: [UInt8](repeating: 0, count: 8))
        let red = try Image(width: 4, height: 2, channels: 3, pixels: (0..<8).flatMap { _ in [UInt8(255), 0, 0] })
        let grid = try ImageGrid.make([(black, "A"), (red, "1")], minimumSide: 8, gap: 2)
        // Two columns of 8×4 cells (×2), a 13-px caption strip, 2-px gaps; RGB because one picture is.
        #expect(grid.width == 2 + 2 * (8 + 2) && grid.height == 2 + 4 + 13 + 2 && grid.channels == 3)
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(grid.pixels[((y * grid.width + x) * 3)..<((y * grid.width + x) * 3 + 3)]) }
        #expect(pixel(2, 2) == [0, 0, 0] && pixel(9, 5) == [0, 0, 0])
        #expect(pixel(12, 2) == [255, 0, 0] && pixel(0, 0) == [255, 255, 255])
        // The caption "A" (5×7, centred under the first cell) has its apex at row 0 of the glyph.
        let captionTop = 2 + 4 + 3, left = 2 + (8 - 5) / 2
        #expect(pixel(left + 2, captionTop) == [0, 0, 0] && pixel(left, captionTop) == [255, 255, 255])
        #expect(BitmapFont.width(of: "logit:3") == 41)
    }

    @Test func longCaptionsKeepTheirEnd() throws {
        let picture = try Image(width: 6, height: 6, channels: 1, pixels: [UInt8](repeating: 128, count: 36))
        // A 12-px cell holds 2 characters: "…:7" is cut to ":7"; drawing must stay inside the image.
        let grid = try ImageGrid.make([(picture, "layer:very_long_name:7")], minimumSide: 12, gap: 1)
        #expect(grid.width == 14)
    }
}
