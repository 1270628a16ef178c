import AscentIR
import AscentImage
import AscentTestSupport
import Foundation
import Testing

private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
}

/// One PNG chunk with a correct CRC.
private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(Zlib.crc32(body))
}

private let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// A PNG from raw (already filtered) scanlines, with valid CRCs.
private func makePNG(width: UInt32, height: UInt32, depth: UInt8 = 8, color: UInt8 = 0, interlace: UInt8 = 0,
                     scanlines: [UInt8], before: [UInt8] = [], after: [UInt8] = []) throws -> [UInt8] {
    let ihdr = bigEndian(width) + bigEndian(height) + [depth, color, 0, 0, interlace]
    return try signature + chunk("IHDR", ihdr) + before + chunk("IDAT", Zlib.deflate(scanlines)) + after + chunk("IEND", [])
}

/// Decodes `bytes`, returning the AscentError thrown (nil when decoding succeeds).
private func decodeError(_ bytes: [UInt8], _ name: String = "test.png") -> AscentError? {
    do {
        _ = try PNG.decode(bytes, fileName: name)
        return nil
    } catch let error as AscentError {
        return error
    } catch {
        Issue.record("\(name): non-Ascent error \(error)")
        return nil
    }
}

private func randomImage(width: Int, height: Int, channels: Int, using rng: inout SeededRandom) throws -> Image {
    try Image(width: width, height: height, channels: channels,
              pixels: (0..<(width * height * channels)).map { _ in UInt8.random(in: 0...255, using: &rng) })
}

/// A smooth picture with some structure (what a saliency map or feature visualisation looks like).
private func smoothImage(width: Int, height: Int, channels: Int) throws -> Image {
    var pixels: [UInt8] = []
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels {
                let v = 127.5 + 127.5 * sin(Double(x) * 0.07 * Double(c + 1)) * cos(Double(y) * 0.05 + Double(c))
                pixels.append(UInt8(v.rounded()))
            }
        }
    }
    return try Image(width: width, height: height, channels: channels, pixels: pixels)
}

private let pngDirectory = TestPaths.fixture("png")

@Suite struct PNGTests {
    @Test(arguments: [1, 3, 4])
    func roundTripsOddSizes(channels: Int) throws {
        var rng = SeededRandom(UInt64(channels))
        for (w, h) in [(1, 1), (7, 3), (3, 7), (13, 17), (180, 1), (1, 31)] {
            for image in [try randomImage(width: w, height: h, channels: channels, using: &rng),
                          try smoothImage(width: w, height: h, channels: channels)] {
                let encoded = try PNG.encode(image)
                let back = try PNG.decode(encoded, fileName: "round.png")
                #expect(back == image, "\(w)×\(h)×\(channels)")
            }
        }
    }

    @Test func decodesReferenceFixtures() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: pngDirectory.path)
            .filter { $0.hasSuffix(".png") }.sorted()
        #expect(names.count >= 20)
        for name in names {
            let image = try PNG.read(path: pngDirectory.appendingPathComponent(name).path)
            let expected = try NumPy.read(path: pngDirectory.appendingPathComponent(name.dropLast(4) + ".npy").path)
            #expect(expected.dtype == .uint8)
            #expect([image.height, image.width, image.channels] == expected.shape, "\(name)")
            #expect(image.pixels == expected.scalars(as: UInt8.self), "\(name) pixels differ")
        }
    }

    /// The bundled digit pictures (named in `samples.json`, every one required) decode to the rows
    /// of `inputs.npy` they were written from: pixel / 255, within 1 ULP of NumPy's float32.
    @Test func decodesTheDigitSamples() throws {
        let folder = TestPaths.fixture("digits")
        let samples = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("samples.json"))) as? [String: Any]
        let rows = try #require(samples?["inputs_index"] as? [String: Int])
        #expect(rows.count == 3)
        let inputs = try NumPy.read(path: folder.appendingPathComponent("inputs.npy").path).floats()
        for (name, row) in rows.sorted(by: { $0.key < $1.key }) {
            let image = try PNG.read(path: folder.appendingPathComponent(name).path)
            #expect(image.width == 16 && image.height == 16 && image.channels == 1, "\(name)")
            let decoded = Tensor(shape: [256], scalars: image.pixels.map { Float($0) / 255 })
            expectULPs(decoded, Tensor(shape: [256], scalars: Array(inputs[(row * 256)..<((row + 1) * 256)])), atMost: 1, name)
        }
    }

    @Test func refusesCorruptFiles() throws {
        let path = pngDirectory.appendingPathComponent("rgb8_filters.png").path
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var badCRC = good
        badCRC[20] ^= 1  // inside IHDR data
        var badSignature = good
        badSignature[1] = UInt8(ascii: "J")
        let cases: [([UInt8], String)] = [
            (badCRC, "CRC mismatch in chunk 'IHDR'"),
            (badSignature, "bad signature"),
            (Array(good.dropLast(12)), "no IEND"),
            ([], "bad signature"),
        ]
        for (bytes, message) in cases {
            let error = try #require(decodeError(bytes, path))
            #expect(error.kind == .invalidData && error.file == path)
            #expect(error.description.contains("rgb8_filters.png"))
            #expect(error.message.contains(message), "\(error)")
        }
        for cut in 0..<good.count {
            let error = decodeError(Array(good[..<cut]), path)
            #expect(error?.kind == .invalidData && error?.file == path, "cut at \(cut)")
        }
    }

    @Test func refusesInvalidStructure() throws {
        let row: [UInt8] = [0, 1, 2, 3]  // a 3×1 gray row with filter 0
        let cases: [([UInt8], String)] = [
            (try makePNG(width: 1 << 20, height: 1 << 20, scanlines: row), "larger than"),
            (try makePNG(width: 0x8000_0000, height: 1, scanlines: row), "invalid PNG size"),
            (try makePNG(width: 0, height: 1, scanlines: row), "invalid PNG size"),
            (try makePNG(width: 3, height: 1, depth: 16, color: 3, scanlines: row), "color type 3 with bit depth 16"),
            (try makePNG(width: 3, height: 1, color: 5, scanlines: row), "color type 5"),
            (try makePNG(width: 3, height: 1, interlace: 2, scanlines: row), "interlace 2"),
            (try makePNG(width: 3, height: 1, scanlines: [5, 1, 2, 3]), "invalid filter type 5"),
            (try makePNG(width: 3, height: 1, scanlines: row + [0]), "more than the expected 4 bytes"),
            (try makePNG(width: 3, height: 2, scanlines: row), "inflates to 4 bytes, expected 8"),
            (try makePNG(width: 3, height: 1, color: 3, scanlines: row), "without a PLTE chunk"),
            (try makePNG(width: 3, height: 1, color: 3, scanlines: row, before: chunk("PLTE", [1, 2, 3, 4, 5, 6])),
             "palette index 2 is out of range"),
            (try makePNG(width: 3, height: 1, scanlines: row, before: chunk("ZZZZ", [])), "unsupported critical chunk 'ZZZZ'"),
            (try makePNG(width: 3, height: 1, scanlines: row, after: chunk("tEXt", []) + chunk("IDAT", [])),
             "IDAT chunks are not consecutive"),
            (try makePNG(width: 3, height: 1, scanlines: row, before: chunk("IHDR", [])), "more than one IHDR"),
            (try makePNG(width: 3, height: 1, scanlines: row, before: chunk("tRNS", [0, 1, 2, 3])), "tRNS chunk has 4 bytes"),
            (signature + chunk("IEND", []), "the first chunk is 'IEND'"),
            (signature + chunk("IHDR", bigEndian(1) + bigEndian(1) + [8, 0, 0, 0, 0]) + chunk("IEND", []), "no IDAT"),
            (signature + [0, 0, 0, 0, 0x49, 0x48, 0x44, 0x21, 0, 0, 0, 0], "invalid chunk type"),
            (signature + [0x80, 0, 0, 0] + Array("IHDR".utf8) + [0, 0, 0, 0], "truncated"),
        ]
        for (bytes, message) in cases {
            let error = try #require(decodeError(bytes, "bad.png"), "expected: \(message)")
            #expect(error.kind == .invalidData && error.file == "bad.png")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    /// Random corruption of the header fields and of the compressed and uncompressed image data,
    /// with CRCs repaired so the decoder gets past the chunk checks: it must never crash.
    @Test func randomCorruptionNeverCrashes() throws {
        var rng = SeededRandom(99)
        for name in ["interlaced_palette2", "rgba16", "gray2", "palette8_trns"] {
            let good = try [UInt8](Data(contentsOf: pngDirectory.appendingPathComponent(name + ".png")))
            for _ in 0..<400 {
                var bytes = good
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    bytes[Int.random(in: 8..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                _ = decodeError(bytes, name)
                _ = decodeError(repairCRCs(bytes), name)
            }
        }
        // Uncompressed scanlines with random filter bytes and contents, for every layout.
        for (depth, color): (UInt8, UInt8) in [(1, 0), (4, 3), (8, 2), (16, 6), (8, 4), (2, 0)] {
            for interlace: UInt8 in [0, 1] {
                for _ in 0..<30 {
                    let w = UInt32.random(in: 1...9, using: &rng), h = UInt32.random(in: 1...9, using: &rng)
                    let data = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...6, using: &rng) }
                    let plte = color == 3 ? chunk("PLTE", Array(repeating: 9, count: 3 * 5)) : []
                    _ = decodeError(try makePNG(width: w, height: h, depth: depth, color: color, interlace: interlace,
                                                scanlines: data, before: plte))
                }
            }
        }
    }

    @Test func missingFileIsMissingFile() throws {
        let path = pngDirectory.appendingPathComponent("no-such.png").path
        let error = try #require(throws: AscentError.self) { try PNG.read(path: path) }
        #expect(error.kind == .missingFile && error.description.contains("no-such.png"))
    }

    @Test func writesAtomically() throws {
        let folder = try TestPaths.temporaryDirectory("ascent-png")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.png").path
        let image = try smoothImage(width: 180, height: 180, channels: 3)
        try PNG.write(try smoothImage(width: 2, height: 2, channels: 1), to: path)
        try PNG.write(image, to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
        #expect(try PNG.read(path: path) == image)
        let bad = folder.appendingPathComponent("missing/out.png").path
        let error = try #require(throws: AscentError.self) { try PNG.write(image, to: bad) }
        #expect(error.kind == .missingFile && error.file == bad)
        var broken = image
        broken.pixels.removeLast()
        #expect(throws: AscentError.self) { try PNG.write(broken, to: path) }
        #expect(try PNG.read(path: path) == image)
    }

    @Test func tensorLayoutAndScaling() throws {
        let pixels: [UInt8] = (0..<18).map { UInt8($0 * 15) }
        let image = try Image(width: 3, height: 2, channels: 3, pixels: pixels)
        let tensor = image.tensor()
        #expect(tensor.dtype == .float32 && tensor.shape == [1, 2, 3, 3])
        let values = tensor.scalars(as: Float.self)
        // NHWC: element [0, y, x, c] is pixel (x, y), channel c.
        let (y, x, c) = (1, 2, 1)
        let index: Int = (y * 3 + x) * 3 + c
        let want: Float = Float(pixels[index]) / 255
        #expect(values[index] == want)
        #expect(values == pixels.map { Float($0) / 255 })
        #expect(image.tensor(scale: 1).scalars(as: Float.self) == pixels.map(Float.init))
        #expect(try Image(tensor: tensor) == image)
        #expect(try Image(tensor: tensor.reshaped([2, 3, 3])) == image)

        let odd = Tensor(shape: [1, 1, 6, 1], scalars: [Float(-1), 0.5, 2, .nan, 0.2, .infinity])
        #expect(try Image(tensor: odd).pixels == [0, 128, 255, 0, 51, 255])
        #expect(try Image(tensor: odd.converted(to: .float64)).pixels == [0, 128, 255, 0, 51, 255])
        for bad in [Tensor(shape: [2, 2], scalars: [Float](repeating: 0, count: 4)),
                    Tensor(shape: [1, 2, 2, 2], scalars: [Float](repeating: 0, count: 8)),
                    Tensor(shape: [2, 1, 1, 1], scalars: [Float](repeating: 0, count: 2)),
                    Tensor(shape: [1, 1, 1], scalars: [Int32(0)])] {
            #expect(throws: AscentError.self) { try Image(tensor: bad) }
        }
        #expect(throws: AscentError.self) { try Image(width: 2, height: 2, channels: 2, pixels: [UInt8](repeating: 0, count: 8)) }
        #expect(throws: AscentError.self) { try Image(width: Int.max, height: 2, channels: 1, pixels: []) }
    }

    @Test func zlibHelpers() throws {
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Zlib.crc32([UInt8]()) == 0)
        let text = Array(String(repeating: "ascent gradient ascent ", count: 200).utf8)
        for format in [Zlib.Format.zlib, .raw] {
            let packed = try Zlib.deflate(text, level: 9, format: format)
            #expect(packed.count < text.count / 10)
            #expect(try Zlib.inflate(packed, expectedSize: text.count, format: format) == text)
            #expect(throws: AscentError.self) { try Zlib.inflate(packed, expectedSize: text.count - 1, format: format) }
            #expect(throws: AscentError.self) { try Zlib.inflate(packed, expectedSize: text.count + 1, format: format) }
            #expect(throws: AscentError.self) { try Zlib.inflate(Array(packed.dropLast(9)), expectedSize: text.count, format: format) }
        }
        let raw = try Zlib.deflate(text, format: .raw)
        #expect(try raw.withUnsafeBytes { try Zlib.rawInflate($0, expectedSize: text.count) } == text)
        #expect(try Zlib.inflate(Zlib.deflate([UInt8]()), expectedSize: 0) == [])
        #expect(throws: AscentError.self) { try Zlib.inflate([0x78, 0x9C, 0xFF, 0xFF, 0xFF], expectedSize: 10) }
    }
}

/// Recomputes every chunk CRC (stopping at the first chunk that does not fit).
private func repairCRCs(_ input: [UInt8]) -> [UInt8] {
    var bytes = input
    var pos = 8
    while pos + 12 <= bytes.count {
        let length = Int(bytes[pos]) << 24 | Int(bytes[pos + 1]) << 16 | Int(bytes[pos + 2]) << 8 | Int(bytes[pos + 3])
        guard length <= bytes.count - pos - 12 else { break }
        let crc = bigEndian(Zlib.crc32(bytes[(pos + 4)..<(pos + 8 + length)]))
        bytes.replaceSubrange((pos + 8 + length)..<(pos + 12 + length), with: crc)
        pos += 12 + length
    }
    return bytes
}
