import AscentIR

/// Animated PNG (APNG): PNG chunks plus `acTL` (frame and play counts), `fcTL` (each frame's
/// rectangle, delay and compositing) and `fdAT` (a frame's image data).
///
/// A reader without APNG support (``PNG/read(path:)`` among them) sees only the default image
/// in the IDAT chunks; an APNG reader plays the frames. Ascent writes the default image as a
/// still apart from the animation (the last state of an optimization, say), so every PNG
/// viewer shows the result and a browser plays how it was reached.
public enum APNG {
    /// One decoded animation: the still every PNG reader shows, and the frames as composited on
    /// the canvas (each a full `width × height` image).
    public struct Animation: Sendable, Equatable {
        public var defaultImage: Image
        public var frames: [Image]
        /// Display time of each frame, in seconds.
        public var delays: [Double]
        /// How often the animation plays (0 = for ever).
        public var plays: Int
        /// True when the default image is the first frame of the animation.
        public var defaultImageIsFirstFrame: Bool
    }

    /// Encodes an animation of `frames` (all the size and channel count of `still`), each shown
    /// for `delay` seconds (rounded to 1/1000 s), played `plays` times (0 = for ever). `still` is
    /// the default image, outside the animation.
    public static func encode(still: Image, frames: [Image], delay: Double = 0.1, plays: Int = 0) throws -> [UInt8] {
        guard !frames.isEmpty else { throw AscentError.invalid("an animation needs at least one frame") }
        guard frames.allSatisfy({ $0.width == still.width && $0.height == still.height && $0.channels == still.channels }) else {
            throw AscentError.invalid("every frame of an animation must be \(still.width)×\(still.height)×\(still.channels)")
        }
        guard delay >= 0, delay < 65, plays >= 0, plays <= Int(UInt32.max) else {
            throw AscentError.invalid("frame delay \(delay) s or play count \(plays) out of range")
        }
        var out = PNG.signature
        PNG.appendChunk("IHDR", try PNG.header(still), to: &out)
        PNG.appendChunk("acTL", PNG.bigEndian(UInt32(frames.count)) + PNG.bigEndian(UInt32(plays)), to: &out)
        PNG.appendImageData(try PNG.compressedRows(still), to: &out)
        let milliseconds = UInt16((delay * 1000).rounded())
        var sequence: UInt32 = 0
        for frame in frames {
            var control = PNG.bigEndian(sequence) + PNG.bigEndian(UInt32(frame.width)) + PNG.bigEndian(UInt32(frame.height))
            control += PNG.bigEndian(0) + PNG.bigEndian(0)  // x and y offsets
            control += [UInt8(milliseconds >> 8), UInt8(milliseconds & 0xFF), 0x03, 0xE8]  // delay / 1000
            control += [0, 0]  // dispose: none; blend: source
            PNG.appendChunk("fcTL", control, to: &out)
            sequence += 1
            let data = try PNG.compressedRows(frame)
            for start in stride(from: 0, to: data.count, by: 1 << 20) {
                PNG.appendChunk("fdAT", PNG.bigEndian(sequence) + data[start..<min(start + (1 << 20), data.count)], to: &out)
                sequence += 1
            }
        }
        PNG.appendChunk("IEND", [], to: &out)
        return out
    }

    /// Encodes (see ``encode(still:frames:delay:plays:)``) and writes atomically to `path`.
    public static func write(still: Image, frames: [Image], delay: Double = 0.1, plays: Int = 0, to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try encode(still: still, frames: frames, delay: delay, plays: plays) } catch let e as AscentError { throw e.inFile(path) }
        try AtomicWriter.write(bytes, to: path)
    }

    /// Reads the APNG at `path` (a plain PNG reads as an animation of its one image).
    public static func read(path: String) throws -> Animation {
        let file = try MappedFile(path: path)
        do { return try decode(Array(file.bytes)) } catch let e as AscentError { throw e.inFile(path) }
    }

    /// Decodes every frame of an APNG, composited as the APNG specification says (frame
    /// rectangles, dispose and blend operations). Sequence numbers must count up from 0.
    /// A PNG without `acTL` decodes as one frame, its image.
    public static func decode(_ bytes: [UInt8]) throws -> Animation {
        let chunks = try PNG.chunks(bytes)
        let defaultImage = try PNG.decodePNG(bytes)
        guard let actl = chunks.first(where: { $0.type == "acTL" }) else {
            return Animation(defaultImage: defaultImage, frames: [defaultImage], delays: [0], plays: 1, defaultImageIsFirstFrame: true)
        }
        guard actl.data.count == 8 else { throw AscentError.invalid("acTL chunk has \(actl.data.count) bytes, expected 8") }
        let declared = u32(actl.data, 0), plays = u32(actl.data, 4)
        guard let ihdr = chunks.first, ihdr.type == "IHDR" else { throw AscentError.invalid("no IHDR chunk") }
        let header = try PNG.parseHeader(Array(ihdr.data))
        let palette = chunks.first { $0.type == "PLTE" }.map { Array($0.data) }
        let transparency = chunks.first { $0.type == "tRNS" }.map { Array($0.data) }

        // Frames: each fcTL with the data that follows it (IDAT for a first frame placed
        // before the image data, fdAT otherwise).
        var controls: [(control: ArraySlice<UInt8>, data: [UInt8])] = []
        var sequence = 0
        var firstIsDefault = false
        for chunk in chunks {
            switch chunk.type {
            case "fcTL":
                guard chunk.data.count == 26 else { throw AscentError.invalid("fcTL chunk has \(chunk.data.count) bytes, expected 26") }
                guard u32(chunk.data, 0) == sequence else { throw AscentError.invalid("APNG sequence number \(u32(chunk.data, 0)) out of order (expected \(sequence))") }
                sequence += 1
                controls.append((chunk.data, []))
            case "IDAT" where !controls.isEmpty:
                if controls.count == 1 { firstIsDefault = true; controls[0].data += chunk.data }
            case "fdAT":
                guard chunk.data.count >= 4, u32(chunk.data, 0) == sequence, !controls.isEmpty else {
                    throw AscentError.invalid("fdAT chunk out of sequence")
                }
                sequence += 1
                controls[controls.count - 1].data += chunk.data.dropFirst(4)
            default:
                break
            }
        }
        guard controls.count == declared, declared > 0 else {
            throw AscentError.invalid("acTL declares \(declared) frames, the file holds \(controls.count)")
        }
        // Compositing on an RGBA-or-not canvas of the image's channel count.
        let channels = defaultImage.channels
        var canvas = try Image(width: header.width, height: header.height, channels: channels,
                               pixels: [UInt8](repeating: 0, count: header.width * header.height * channels))
        var frames: [Image] = []
        var delays: [Double] = []
        for (k, (control, data)) in controls.enumerated() {
            let (w, h, x0, y0) = (u32(control, 4), u32(control, 8), u32(control, 12), u32(control, 16))
            let numerator = Int(control[control.startIndex + 20]) << 8 | Int(control[control.startIndex + 21])
            let denominator = Int(control[control.startIndex + 22]) << 8 | Int(control[control.startIndex + 23])
            let dispose = control[control.startIndex + 24], blend = control[control.startIndex + 25]
            guard w > 0, h > 0, x0 + w <= header.width, y0 + h <= header.height, dispose <= 2, blend <= 1 else {
                throw AscentError.invalid("frame \(k) (\(w)×\(h) at \(x0),\(y0)) does not fit the \(header.width)×\(header.height) canvas")
            }
            guard !data.isEmpty else { throw AscentError.invalid("frame \(k) has no image data") }
            var frameHeader = header
            frameHeader.width = w
            frameHeader.height = h
            let frame = try PNG.decodePixels(frameHeader, data, palette: palette, transparency: transparency)
            guard frame.channels == channels else { throw AscentError.invalid("frame \(k) has \(frame.channels) channels, the image \(channels)") }
            let previous = canvas
            for y in 0..<h {
                for x in 0..<w {
                    let source = (y * w + x) * channels, target = ((y0 + y) * header.width + x0 + x) * channels
                    if blend == 1, channels == 4 {
                        // The PNG specification's "over": αo = αs + αd(1 − αs), Co = (Cs·αs + Cd·αd(1 − αs)) / αo,
                        // in units of 1/255, rounded.
                        let a = Double(frame.pixels[source + 3]) / 255, b = Double(canvas.pixels[target + 3]) / 255
                        let out = a + b * (1 - a)
                        for c in 0..<3 {
                            let mixed = out == 0 ? 0 : (Double(frame.pixels[source + c]) * a + Double(canvas.pixels[target + c]) * b * (1 - a)) / out
                            canvas.pixels[target + c] = UInt8(min(255, mixed.rounded()))
                        }
                        canvas.pixels[target + 3] = UInt8((out * 255).rounded())
                    } else {
                        for c in 0..<channels { canvas.pixels[target + c] = frame.pixels[source + c] }
                    }
                }
            }
            frames.append(canvas)
            delays.append(Double(numerator) / Double(denominator == 0 ? 100 : denominator))
            switch dispose {
            case 1:
                for y in y0..<(y0 + h) { for x in x0..<(x0 + w) { for c in 0..<channels { canvas.pixels[(y * header.width + x) * channels + c] = 0 } } }
            case 2:
                canvas = previous
            default:
                break
            }
        }
        return Animation(defaultImage: defaultImage, frames: frames, delays: delays, plays: plays, defaultImageIsFirstFrame: firstIsDefault)
    }

    private static func u32(_ b: ArraySlice<UInt8>, _ at: Int) -> Int {
        let i = b.startIndex + at
        return Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }
}
