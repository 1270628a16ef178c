import AscentIR

/// An 8-bit raster image: `height` rows of `width` pixels, each `channels` interleaved bytes
/// (1 gray, 3 RGB, 4 RGBA), rows top to bottom with no padding.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 (gray), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `width × height × channels` bytes, row-major, channels interleaved. Keep the count
    /// unchanged when editing; ``PNG/encode(_:)`` checks it.
    public var pixels: [UInt8]

    /// An image over `pixels`. Throws `.invalidData` unless `channels` is 1, 3 or 4, the sizes
    /// are non-negative and `pixels` holds exactly `width × height × channels` bytes.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard [1, 3, 4].contains(channels) else { throw AscentError.invalid("an image has 1, 3 or 4 channels, not \(channels)") }
        guard let count = Shape.product([width, height, channels]), count == pixels.count else {
            throw AscentError.invalid("a \(width)×\(height)×\(channels) image cannot hold \(pixels.count) bytes")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The pixels as a float32 `[1, height, width, channels]` (NHWC) tensor, each byte × `scale`
    /// (by default mapping 0...255 to 0...1).
    ///
    /// When `scale` is the float reciprocal of a whole number d (as the default 1/255 is of 255),
    /// the value is computed as `pixel / d`, correctly rounded, so it equals NumPy's
    /// `pixels.astype(np.float32) / np.float32(255)` bit for bit.
    public func tensor(scale: Float = 1 / 255) -> Tensor {
        let divisor = (1 / scale).rounded()
        let divide = divisor.isFinite && divisor >= 1 && 1 / divisor == scale
        let table = (0...255).map { divide ? Float($0) / divisor : Float($0) * scale }
        return Tensor(shape: [1, height, width, channels], scalars: pixels.map { table[Int($0)] })
    }

    /// An image from a floating-point `[H, W, C]` or `[1, H, W, C]` tensor with values in 0...1
    /// and C in 1, 3, 4: each value is clipped to 0...1 (NaN becomes 0), × 255 and rounded.
    public init(tensor: Tensor) throws {
        var shape = tensor.shape
        if shape.count == 4, shape[0] == 1 { shape.removeFirst() }
        guard tensor.dtype.isFloatingPoint, shape.count == 3, [1, 3, 4].contains(shape[2]) else {
            throw AscentError.invalid("an image needs a float [H,W,C] or [1,H,W,C] tensor with C 1, 3 or 4, got \(tensor)")
        }
        let bytes = tensor.floats().map { v -> UInt8 in
            v.isNaN ? 0 : UInt8((min(max(v, 0), 1) * 255).rounded())
        }
        try self.init(width: shape[1], height: shape[0], channels: shape[2], pixels: bytes)
    }
}

/// PNG reading and writing.
///
/// Decoding accepts every standard PNG: gray, RGB, palette, gray+alpha and RGBA at all bit
/// depths, Adam7-interlaced or not, and returns 8 bits per sample. 16-bit samples are rounded
/// to 8 bits; 1/2/4-bit gray is scaled to 0...255; palettes are expanded to RGB, or RGBA when
/// a `tRNS` chunk gives alpha. Gray+alpha becomes RGBA (gray copied to R, G and B), and gray or
/// RGB with a `tRNS` transparent colour also become RGBA. Chunk CRCs are checked; ancillary
/// chunks other than `tRNS` are ignored (no gamma or colour-profile conversion), as is data
/// after the zlib stream or after `IEND`.
///
/// Errors are ``AscentError``s naming the file: `.invalidData` for a corrupt, truncated or
/// oversized PNG, `.missingFile` for a file that cannot be opened or written.
public enum PNG {
    /// Largest pixel count decoded (2^28, a 16384 × 16384 image).
    public static let maxPixels = 1 << 28
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads and decodes the PNG file at `path`.
    public static func read(path: String) throws -> Image {
        let file = try MappedFile(path: path)
        return try decode(Array(file.bytes), fileName: path)
    }

    /// Decodes the complete bytes of a PNG file; `fileName` is used in error messages.
    public static func decode(_ bytes: [UInt8], fileName: String) throws -> Image {
        do {
            return try decodePNG(bytes)
        } catch let error as AscentError {
            throw error.inFile(fileName)
        }
    }

    /// Encodes `image` as an 8-bit, non-interlaced PNG (gray, RGB or RGBA), choosing each row's
    /// filter by the minimum sum of absolute differences and compressing at zlib level 9.
    public static func encode(_ image: Image) throws -> [UInt8] {
        var out = signature
        appendChunk("IHDR", try header(image), to: &out)
        appendImageData(try compressedRows(image), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Encodes `image` (see ``encode(_:)``) and writes it to `path` atomically: a temporary
    /// file in the same folder is written, then renamed over `path`.
    public static func write(_ image: Image, to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try encode(image) } catch let error as AscentError { throw error.inFile(path) }
        try AtomicWriter.write(bytes, to: path)
    }

    // MARK: - Encoding helpers

    /// The IHDR chunk's data for an 8-bit image like `image` (checked).
    static func header(_ image: Image) throws -> [UInt8] {
        let (w, h, c) = (image.width, image.height, image.channels)
        guard (1...0x7FFF_FFFF).contains(w), (1...0x7FFF_FFFF).contains(h) else {
            throw AscentError.invalid("a PNG must be at least 1×1 and at most 2^31-1 on a side, not \(w)×\(h)")
        }
        guard [1, 3, 4].contains(c), let total = Shape.product([w, h, c]), total == image.pixels.count else {
            throw AscentError.invalid("image pixels (\(image.pixels.count) bytes) do not match \(w)×\(h)×\(c)")
        }
        return bigEndian(UInt32(w)) + bigEndian(UInt32(h)) + [8, c == 1 ? 0 : c == 3 ? 2 : 6, 0, 0, 0]
    }

    /// The image's rows, each filtered (the filter with the minimum sum of absolute
    /// differences) and zlib-compressed at level 9: the contents of IDAT (or APNG fdAT) chunks.
    static func compressedRows(_ image: Image) throws -> [UInt8] {
        let (w, h, c) = (image.width, image.height, image.channels)
        _ = try header(image)
        let rowBytes = w * c
        var filtered = [UInt8](repeating: 0, count: h * (rowBytes + 1))
        var scratch = [UInt8](repeating: 0, count: rowBytes)
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        zeros.withUnsafeBufferPointer { zeroRow in image.pixels.withUnsafeBufferPointer { px in
            filtered.withUnsafeMutableBufferPointer { out in scratch.withUnsafeMutableBufferPointer { trial in
                for y in 0..<h {
                    let row = UnsafeBufferPointer(rebasing: px[(y * rowBytes)..<((y + 1) * rowBytes)])
                    let prior = y == 0 ? zeroRow : UnsafeBufferPointer(rebasing: px[((y - 1) * rowBytes)..<(y * rowBytes)])
                    var best = (cost: Int.max, type: UInt8(0))
                    for type: UInt8 in 0...4 {
                        filterRow(type, row, prior, bpp: c, into: trial)
                        var cost = 0
                        for byte in trial { cost += abs(Int(Int8(bitPattern: byte))) }
                        if cost < best.cost { best = (cost, type) }
                    }
                    let start = y * (rowBytes + 1)
                    out[start] = best.type
                    filterRow(best.type, row, prior, bpp: c,
                              into: UnsafeMutableBufferPointer(rebasing: out[(start + 1)...(start + rowBytes)]))
                }
            } }
        } }
        return try Zlib.deflate(filtered, level: 9)
    }

    /// Appends compressed image data as IDAT chunks of at most 1 MiB.
    static func appendImageData(_ compressed: [UInt8], to out: inout [UInt8]) {
        for start in stride(from: 0, to: compressed.count, by: 1 << 20) {
            appendChunk("IDAT", compressed[start..<min(start + (1 << 20), compressed.count)], to: &out)
        }
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    static func appendChunk<C: Collection<UInt8>>(_ type: String, _ data: C, to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        out += bigEndian(Zlib.crc32(data, initial: Zlib.crc32(typeBytes)))
    }

    /// Applies PNG filter `type` to `row` given the previous (unfiltered) row `prior`.
    private static func filterRow(_ type: UInt8, _ row: UnsafeBufferPointer<UInt8>, _ prior: UnsafeBufferPointer<UInt8>,
                                  bpp: Int, into out: UnsafeMutableBufferPointer<UInt8>) {
        for i in 0..<row.count {
            let a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0
            switch type {
            case 0: out[i] = row[i]
            case 1: out[i] = row[i] &- a
            case 2: out[i] = row[i] &- b
            case 3: out[i] = row[i] &- UInt8((Int(a) + Int(b)) / 2)
            default: out[i] = row[i] &- paeth(a, b, c)
            }
        }
    }

    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    // MARK: - Decoding

    struct Header {
        var width = 0, height = 0, depth = 0, colorType = 0, interlaced = false
        /// Samples per pixel in the file.
        var samples: Int { [1, 0, 3, 1, 2, 0, 4][colorType] }
        /// Bytes of one filtered row of `width` pixels (without the filter byte).
        func rowBytes(_ width: Int) -> Int { (width * samples * depth + 7) / 8 }
    }

    static func readU32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }

    /// One chunk of a PNG stream: its type and data (CRC checked).
    struct Chunk {
        var type: String
        var data: ArraySlice<UInt8>
        /// Lower-case first letter: a decoder may skip the chunk.
        var ancillary: Bool { (type.utf8.first ?? 0) & 0x20 != 0 }
    }

    /// The chunks of a PNG stream up to and including IEND, each with its CRC checked.
    static func chunks(_ bytes: [UInt8]) throws -> [Chunk] {
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else {
            throw AscentError.invalid("not a PNG file (bad signature)")
        }
        var out: [Chunk] = []
        var pos = 8
        while true {
            guard pos + 12 <= bytes.count else {
                throw AscentError.invalid("file is truncated at byte \(pos) (no IEND chunk)")
            }
            let length = readU32(bytes, pos)
            let typeBytes = bytes[(pos + 4)..<(pos + 8)]
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0 & ~0x20) }) else {
                throw AscentError.invalid("invalid chunk type at byte \(pos + 4)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= 0x7FFF_FFFF, pos + 12 + length <= bytes.count else {
                throw AscentError.invalid("chunk '\(type)' at byte \(pos) is truncated (\(length) bytes declared)")
            }
            guard Zlib.crc32(bytes[(pos + 4)..<(pos + 8 + length)]) == UInt32(readU32(bytes, pos + 8 + length)) else {
                throw AscentError.invalid("CRC mismatch in chunk '\(type)' at byte \(pos)")
            }
            guard !out.isEmpty || type == "IHDR" else { throw AscentError.invalid("the first chunk is '\(type)', not 'IHDR'") }
            out.append(Chunk(type: type, data: bytes[(pos + 8)..<(pos + 8 + length)]))
            pos += 12 + length
            if type == "IEND" { return out }
        }
    }

    static func decodePNG(_ bytes: [UInt8]) throws -> Image {
        var header: Header?
        var palette: [UInt8]?
        var transparency: [UInt8]?
        var compressed: [UInt8] = []
        var idatState = 0  // 0 none yet, 1 inside the IDAT run, 2 after it
        for chunk in try chunks(bytes) {
            let (type, data, length) = (chunk.type, chunk.data, chunk.data.count)
            if idatState == 1 && type != "IDAT" { idatState = 2 }
            switch type {
            case "IHDR":
                guard header == nil else { throw AscentError.invalid("more than one IHDR chunk") }
                header = try parseHeader(Array(data))
            case "PLTE":
                guard palette == nil, idatState == 0, length % 3 == 0, (3...768).contains(length) else {
                    throw AscentError.invalid("invalid PLTE chunk (\(length) bytes)")
                }
                palette = Array(data)
            case "tRNS":
                guard idatState == 0 else { throw AscentError.invalid("tRNS chunk after image data") }
                transparency = Array(data)
            case "IDAT":
                guard idatState != 2 else { throw AscentError.invalid("IDAT chunks are not consecutive") }
                idatState = 1
                compressed += data
            case "IEND":
                break
            default:
                guard chunk.ancillary else {
                    throw AscentError.invalid("unsupported critical chunk '\(type)'")
                }
            }
        }
        guard let header else { throw AscentError.invalid("no IHDR chunk") }
        guard idatState != 0 else { throw AscentError.invalid("no IDAT chunk") }
        return try decodePixels(header, compressed, palette: palette, transparency: transparency)
    }

    static func parseHeader(_ d: [UInt8]) throws -> Header {
        guard d.count == 13 else { throw AscentError.invalid("IHDR chunk has \(d.count) bytes, expected 13") }
        var h = Header(width: readU32(d, 0), height: readU32(d, 4), depth: Int(d[8]), colorType: Int(d[9]))
        guard (1...0x7FFF_FFFF).contains(h.width), (1...0x7FFF_FFFF).contains(h.height) else {
            throw AscentError.invalid("invalid PNG size \(h.width)×\(h.height)")
        }
        guard h.width * h.height <= maxPixels else {
            throw AscentError.invalid("PNG of \(h.width)×\(h.height) pixels is larger than the \(maxPixels) pixels supported")
        }
        let depths: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let allowed = depths[h.colorType], allowed.contains(h.depth) else {
            throw AscentError.invalid("invalid PNG color type \(h.colorType) with bit depth \(h.depth)")
        }
        guard d[10] == 0, d[11] == 0, d[12] <= 1 else {
            throw AscentError.invalid("unsupported PNG compression \(d[10]), filter \(d[11]) or interlace \(d[12]) method")
        }
        h.interlaced = d[12] == 1
        return h
    }

    /// Adam7 passes as (x0, y0, dx, dy); a non-interlaced image is one pass.
    private static let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

    static func decodePixels(_ h: Header, _ compressed: [UInt8], palette: [UInt8]?, transparency trns: [UInt8]?) throws -> Image {
        let passes = h.interlaced ? adam7 : [(0, 0, 1, 1)]
        // Pass sizes and the exact size of the inflated data.
        var sizes: [(w: Int, h: Int)] = []
        var expected = 0
        for (x0, y0, dx, dy) in passes {
            let pw = h.width > x0 ? (h.width - x0 + dx - 1) / dx : 0
            let ph = h.height > y0 ? (h.height - y0 + dy - 1) / dy : 0
            sizes.append((pw, ph))
            if pw > 0 && ph > 0 { expected += ph * (h.rowBytes(pw) + 1) }
        }
        // Deflate cannot expand data more than about 1032:1; refuse before allocating.
        guard expected <= compressed.count * 1032 + 1024 else {
            throw AscentError.invalid("image data is truncated: \(compressed.count) compressed bytes cannot hold \(expected)")
        }
        var raw = try Zlib.inflate(compressed, expectedSize: expected)

        var paletteColors = palette ?? []
        var alphaKey: [Int]?  // the transparent gray or RGB sample values
        var outChannels = [1, 0, 3, 3, 4, 0, 4][h.colorType]
        if let trns {
            switch h.colorType {
            case 3:
                guard palette != nil, trns.count <= paletteColors.count / 3 else {
                    throw AscentError.invalid("tRNS chunk has more entries than the palette")
                }
                outChannels = 4
            case 0, 2:
                guard trns.count == h.samples * 2 else { throw AscentError.invalid("tRNS chunk has \(trns.count) bytes") }
                alphaKey = stride(from: 0, to: trns.count, by: 2).map { Int(trns[$0]) << 8 | Int(trns[$0 + 1]) }
                outChannels = 4
            default:
                break  // not allowed with an alpha channel; ignored, as libpng does
            }
        }
        if h.colorType == 3 {
            guard palette != nil else { throw AscentError.invalid("palette image without a PLTE chunk") }
            // Append alpha: RGBA entries, alpha 255 where tRNS has none.
            let alphas = trns ?? []
            paletteColors = (0..<(paletteColors.count / 3)).flatMap { i -> [UInt8] in
                [paletteColors[3 * i], paletteColors[3 * i + 1], paletteColors[3 * i + 2], i < alphas.count ? alphas[i] : 255]
            }
        }

        var pixels = [UInt8](repeating: 0, count: h.width * h.height * outChannels)
        let samples = h.samples, depth = h.depth
        let maxSample = (1 << depth) - 1
        let filterStride = max(1, samples * depth / 8)
        func scale(_ v: Int) -> UInt8 { depth == 16 ? UInt8((v * 255 + 32767) / 65535) : UInt8(v * 255 / maxSample) }
        var offset = 0
        for (pass, (x0, y0, dx, dy)) in passes.enumerated() {
            let (pw, ph) = sizes[pass]
            guard pw > 0, ph > 0 else { continue }
            let rowBytes = h.rowBytes(pw)
            var values = [Int](repeating: 0, count: samples)
            for row in 0..<ph {
                let start = offset + 1
                let type = raw[offset]
                try unfilter(&raw, type: type, start: start, count: rowBytes,
                             prior: row == 0 ? nil : start - rowBytes - 1, bpp: filterStride)
                offset = start + rowBytes
                let y = y0 + row * dy
                for col in 0..<pw {
                    for s in 0..<samples {
                        let index = col * samples + s
                        switch depth {
                        case 8: values[s] = Int(raw[start + index])
                        case 16: values[s] = Int(raw[start + 2 * index]) << 8 | Int(raw[start + 2 * index + 1])
                        default:
                            let bit = index * depth
                            values[s] = Int(raw[start + bit / 8]) >> (8 - depth - bit % 8) & maxSample
                        }
                    }
                    let out = ((y * h.width) + x0 + col * dx) * outChannels
                    if h.colorType == 3 {
                        let entry = values[0] * 4
                        guard entry + 3 < paletteColors.count else {
                            throw AscentError.invalid("palette index \(values[0]) is out of range (\(paletteColors.count / 4) colors)")
                        }
                        for k in 0..<outChannels { pixels[out + k] = paletteColors[entry + k] }
                        continue
                    }
                    switch h.colorType {
                    case 0, 4:  // gray, or gray + alpha: gray goes to R, G and B when there are 4 channels
                        let gray = scale(values[0])
                        for k in 0..<min(outChannels, 3) { pixels[out + k] = gray }
                        if h.colorType == 4 { pixels[out + 3] = scale(values[1]) }
                    default:
                        for k in 0..<samples { pixels[out + k] = scale(values[k]) }
                    }
                    if let alphaKey { pixels[out + 3] = values == alphaKey ? 0 : 255 }
                }
            }
        }
        return try Image(width: h.width, height: h.height, channels: outChannels, pixels: pixels)
    }

    /// Reverses the filter of the row at `raw[start..<start+count]` in place; `prior` is the
    /// start of the previous (already unfiltered) row of the same pass, nil for its first row.
    private static func unfilter(_ raw: inout [UInt8], type: UInt8, start: Int, count: Int, prior: Int?, bpp: Int) throws {
        raw.withUnsafeMutableBufferPointer { buffer in
            let cur = buffer.baseAddress! + start
            let up = prior.map { buffer.baseAddress! + $0 }
            for i in 0..<count {
                let a = i >= bpp ? cur[i - bpp] : 0, b = up?[i] ?? 0, c = i >= bpp ? (up?[i - bpp] ?? 0) : 0
                switch type {
                case 1: cur[i] &+= a
                case 2: cur[i] &+= b
                case 3: cur[i] &+= UInt8((Int(a) + Int(b)) / 2)
                case 4: cur[i] &+= paeth(a, b, c)
                default: return
                }
            }
        }
        guard type <= 4 else { throw AscentError.invalid("invalid filter type \(type) at byte \(start - 1) of the image data") }
    }
}
