import AscentImage
import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// Animated PNG, checked against Pillow both ways; resizing and colour conversion against Pillow.
@Suite struct APNGTests {
    static func pillow(_ arguments: [String]) throws -> [(size: [Int], mode: String, pixels: [UInt8])] {
        let r = try ReferencePython.script("checks/pil_image.py", arguments)
        try #require(r.status == 0, "\(r.output)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [[String: Any]])
        return list.map { ($0["size"] as? [Int] ?? [], $0["mode"] as? String ?? "", ($0["pixels"] as? [Int] ?? []).map(UInt8.init)) }
    }

    static func gradient(_ w: Int, _ h: Int, _ c: Int, shift: Int = 0) throws -> Image {
        try Image(width: w, height: h, channels: c, pixels: (0..<(w * h * c)).map { UInt8(($0 * 7 + shift * 31) % 256) })
    }

    @Test(arguments: [1, 3, 4])
    func writtenAnimationsReadBackHereAndInPillow(channels: Int) throws {
        let frames = try (0..<5).map { try Self.gradient(9, 6, channels, shift: $0) }
        let still = try Self.gradient(9, 6, channels, shift: 9)
        let path = try TestPaths.temporaryDirectory("apng").appendingPathComponent("a.png").path
        try APNG.write(still: still, frames: frames, delay: 0.25, plays: 2, to: path)
        let ours = try APNG.read(path: path)
        #expect(ours.frames == frames && ours.defaultImage == still && ours.plays == 2 && ours.delays == [0.25, 0.25, 0.25, 0.25, 0.25])
        #expect(try PNG.read(path: path) == still, "a plain PNG reader sees the still")
        let r = try ReferencePython.script("checks/apng_frames.py", [path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any], "\(r.output)")
        #expect(json["frames"] as? Int == 5 && json["default_image_apart"] as? Bool == true && json["loop"] as? Int == 2)
        #expect(json["durations"] as? [Double] == [250, 250, 250, 250, 250])
        #expect((json["pixels"] as? [[Int]])?.map { $0.map(UInt8.init) } == frames.map(\.pixels))
        #expect((json["default"] as? [Int])?.map(UInt8.init) == still.pixels)
    }

    /// Pillow's APNG stores changed sub-rectangles with dispose and blend operations; Ascent
    /// composites them to the frames Pillow shows.
    @Test func pillowsAnimationsComposite() throws {
        let path = try TestPaths.temporaryDirectory("apng").appendingPathComponent("p.png").path
        let expected = try Self.pillow(["apng", path])
        let ours = try APNG.read(path: path)
        #expect(ours.frames.count == expected.count && ours.defaultImageIsFirstFrame)
        for (k, (frame, reference)) in zip(ours.frames, expected).enumerated() {
            #expect(frame.channels == 4 && [frame.width, frame.height] == reference.size)
            let worst = zip(frame.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
            #expect(worst <= 1, "frame \(k): largest difference \(worst)")
        }
    }

    /// "Over" with partial alpha, by the PNG specification's formula (Pillow's reader differs).
    @Test func blendOverFollowsTheSpecification() throws {
        // A 1×1 RGBA animation: an opaque frame, then (200, 30, 90, 128) blended over it.
        let opaque = try Image(width: 1, height: 1, channels: 4, pixels: [20, 40, 60, 255])
        let half = try Image(width: 1, height: 1, channels: 4, pixels: [200, 30, 90, 128])
        var bytes = try APNG.encode(still: opaque, frames: [opaque, half])
        // Set the second fcTL's blend op to "over" (its last data byte), fixing the CRC.
        let fctl = Array("fcTL".utf8)
        let second = try #require((0..<(bytes.count - 4)).filter { bytes[$0..<($0 + 4)].elementsEqual(fctl) }.dropFirst().first)
        bytes[second + 4 + 25] = 1
        let crc = Zlib.crc32(bytes[second..<(second + 30)])
        bytes.replaceSubrange((second + 30)..<(second + 34), with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        // αo = 128 + 255·127/255 = 255; Co = (Cs·128 + Cd·255·127/255) / 255.
        #expect(try APNG.decode(bytes).frames.last?.pixels == [110, 35, 75, 255])
    }

    @Test func refusesBrokenAnimations() throws {
        let frame = try Self.gradient(4, 4, 1)
        var bytes = try APNG.encode(still: frame, frames: [frame, frame])
        // Declare 3 frames in acTL (and fix its CRC): the count no longer matches.
        let actl = try #require((0..<(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual(Array("acTL".utf8)) })
        bytes[actl + 7] = 3
        let crc = Zlib.crc32(bytes[actl..<(actl + 12)])
        bytes.replaceSubrange((actl + 12)..<(actl + 16), with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        #expect(throws: AscentError.self) { _ = try APNG.decode(bytes) }
        #expect(throws: AscentError.self) { _ = try APNG.encode(still: frame, frames: []) }
        #expect(throws: AscentError.self) { _ = try APNG.encode(still: frame, frames: [try Self.gradient(5, 4, 1)]) }
    }

    @Test(arguments: [(32, 24, 8, 6), (30, 20, 16, 16), (256, 256, 16, 16), (5, 4, 17, 9)])
    func resizingMatchesPillow(_ c: (Int, Int, Int, Int)) throws {
        let (w, h, nw, nh) = c
        for channels in [1, 3] {
            let image = try Self.gradient(w, h, channels)
            let path = try TestPaths.temporaryDirectory("resize").appendingPathComponent("in.png").path
            try PNG.write(image, to: path)
            let reference = try #require(try Self.pillow(["resize", path, "\(nw)", "\(nh)", "bilinear"]).first)
            let ours = try image.resized(width: nw, height: nh)
            #expect([ours.width, ours.height] == reference.size)
            let worst = zip(ours.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
            #expect(worst <= 1, "\(c) × \(channels) channels: largest difference \(worst)")
        }
    }

    @Test func colourConversionMatchesPillow() throws {
        let rgb = try Self.gradient(7, 5, 3)
        let path = try TestPaths.temporaryDirectory("convert").appendingPathComponent("in.png").path
        try PNG.write(rgb, to: path)
        let gray = try #require(try Self.pillow(["convert", path, "L"]).first)
        let worst = zip(try rgb.converted(channels: 1).pixels, gray.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 1, "luma differs by \(worst)")
        let back = try rgb.converted(channels: 1).converted(channels: 3)
        #expect(back.pixels.count == 7 * 5 * 3 && stride(from: 0, to: back.pixels.count, by: 3).allSatisfy { back.pixels[$0] == back.pixels[$0 + 2] })
    }
}
