#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Transformation robustness (Lucid's `transform.standard_transforms`): before each step the
/// image is padded, jittered, scaled and rotated at random; the model sees the transformed
/// image and the gradient goes back through the exact adjoint (the transpose of the
/// bilinear resampling).
///
/// Lucid's stack — pad 12 (constant 0.5), jitter 8, scale 0.9…1.1, rotate ±10°, jitter 4 —
/// grows and shrinks the image; models with a fixed input size need the model's own size, so
/// the stack is composed into one affine map from each model-input pixel to a point of the
/// (padded) image: the model sees a window of its own size, shifted by up to ±4 then ±2 pixels,
/// scaled and rotated about the centre, with the pad value wherever the window leaves the
/// image. Differences from Lucid, which feeds its variable-size InceptionV1 the whole
/// transformed canvas (about `(H + 12)·scale` pixels): the window keeps the model's size, and
/// the pad value extends as far as the window reaches (at scale 0.9 and 10° the corners of a
/// 96-pixel window reach ~20 px beyond the image; Lucid's 12 px pad ends there and its rotation
/// fills with zeros).
public struct RobustnessTransforms: Sendable, Equatable {
    /// Constant padding, in pixels (documentation of Lucid's pad; the sampler pads as needed).
    public var pad: Int = 12
    /// First and second jitter: a random crop offset in `0...jitter` (Lucid's `jitter(d)`).
    public var jitter1: Int = 8
    public var jitter2: Int = 4
    /// Scales drawn uniformly from this list (Lucid: `1 + (i − 5)/50`, i = 0…10).
    public var scales: [Float] = (0...10).map { 1 + Float($0 - 5) / 50 }
    /// Angles in degrees drawn uniformly from this list (Lucid: −10…10 plus five more 0s).
    public var angles: [Float] = (-10...10).map(Float.init) + [0, 0, 0, 0, 0]

    public init() {}

    /// Lucid's standard transforms.
    public static let lucid = RobustnessTransforms()

    /// Lucid's pixel amounts were chosen for images of ~128–224 px; on a smaller image the
    /// same shifts move most of it away (on the 16-px digits model, 4 of 10 class logits then
    /// end on inputs the model does not classify as the class). This scales pad and jitter by
    /// `size / 128` (never up), keeping at least 1 pixel of each jitter.
    public func scaled(toImageSize size: Int) -> RobustnessTransforms {
        let factor = min(1, Double(size) / 128)
        guard factor < 1 else { return self }
        var t = self
        func scale(_ v: Int) -> Int { v == 0 ? 0 : max(1, Int((Double(v) * factor).rounded())) }
        t.pad = scale(pad)
        t.jitter1 = scale(jitter1)
        t.jitter2 = scale(jitter2)
        return t
    }

    /// One random draw of the stack.
    func draw<G: RandomNumberGenerator>(using rng: inout G) -> AffineSampler.Parameters {
        // jitter(d) crops `size − d` at an offset in 0...d: relative to the centre, a shift of
        // offset − d/2.
        func shift(_ d: Int) -> Float { d == 0 ? 0 : Float(Int(rng.next() % UInt64(d + 1))) - Float(d) / 2 }
        let (dy1, dx1) = (shift(jitter1), shift(jitter1))
        let scale = scales.isEmpty ? 1 : scales[Int(rng.next() % UInt64(scales.count))]
        let angle = angles.isEmpty ? 0 : angles[Int(rng.next() % UInt64(angles.count))]
        let (dy2, dx2) = (shift(jitter2), shift(jitter2))
        return .init(shift1: (dy1, dx1), scale: scale, degrees: angle, shift2: (dy2, dx2))
    }
}

/// Bilinear resampling of an image through an affine map, and its transpose.
///
/// Output pixel `p` (centre `c`) reads the source at
/// `q = c + shift1 + R(−θ) · (p − c + shift2) / scale`, bilinearly; source points outside the
/// image read `fill`. The map is linear in the source plus a constant, so the adjoint sends
/// each output gradient back to the (up to) four source pixels it read, with the same weights.
struct AffineSampler {
    struct Parameters: Equatable {
        var shift1: (Float, Float) = (0, 0)
        var scale: Float = 1
        var degrees: Float = 0
        var shift2: (Float, Float) = (0, 0)

        static func == (a: Parameters, b: Parameters) -> Bool {
            a.shift1 == b.shift1 && a.scale == b.scale && a.degrees == b.degrees && a.shift2 == b.shift2
        }
    }

    let geometry: ImageGeometry
    let fill: Float
    /// Per output pixel p = y·w + x: four source pixels `source[4p + k]` with bilinear weights
    /// `weight[4p + k]` (a tap outside the picture has weight 0 and adds `fill` times its weight
    /// to `constant[p]` instead).
    private let source: [Int32], weight: [Float], constant: [Float]

    init(geometry: ImageGeometry, parameters p: Parameters, fill: Float) {
        self.geometry = geometry
        self.fill = fill
        let (h, w) = (geometry.height, geometry.width)
        let (cy, cx) = (Float(h - 1) / 2, Float(w - 1) / 2)
        let theta = p.degrees * Float.pi / 180
        let (co, sn) = (cos(theta), sin(theta))
        var source = [Int32](repeating: 0, count: 4 * h * w), weight = [Float](repeating: 0, count: 4 * h * w)
        var constant = [Float](repeating: 0, count: h * w)
        for y in 0..<h {
            for x in 0..<w {
                let (vy, vx) = ((Float(y) - cy + p.shift2.0) / p.scale, (Float(x) - cx + p.shift2.1) / p.scale)
                // R(−θ) applied to (vx, vy): rotating the picture by +θ.
                let qy = cy + p.shift1.0 + (-sn * vx + co * vy)
                let qx = cx + p.shift1.1 + (co * vx + sn * vy)
                let (y0, x0) = (Int(qy.rounded(.down)), Int(qx.rounded(.down)))
                let (fy, fx) = (qy - Float(y0), qx - Float(x0))
                let pixel = y * w + x
                func tap(_ k: Int, _ yy: Int, _ xx: Int, _ wt: Float) {
                    if yy >= 0 && yy < h && xx >= 0 && xx < w {
                        source[4 * pixel + k] = Int32(yy * w + xx); weight[4 * pixel + k] = wt
                    } else {
                        constant[pixel] += fill * wt
                    }
                }
                tap(0, y0, x0, (1 - fy) * (1 - fx)); tap(1, y0, x0 + 1, (1 - fy) * fx)
                tap(2, y0 + 1, x0, fy * (1 - fx)); tap(3, y0 + 1, x0 + 1, fy * fx)
            }
        }
        (self.source, self.weight, self.constant) = (source, weight, constant)
    }

    /// Calls `body(base, pixelStride)` for every (batch item, channel) plane: element `p` of the
    /// plane is at `base + p · pixelStride`.
    private func forEachPlane(_ body: (Int, Int) -> Void) {
        let g = geometry
        for b in 0..<g.batch { for c in 0..<g.channels { body(b * g.batchStride + c * g.channelStride, g.pixelStride) } }
    }

    /// The resampled image (same layout and size).
    func forward(_ v: [Float]) -> [Float] {
        var out = v
        v.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { out in
                forEachPlane { base, ps in
                    for p in 0..<constant.count {
                        var s = constant[p]
                        for k in 4 * p..<(4 * p + 4) { s += weight[k] * v[base + Int(source[k]) * ps] }
                        out[base + p * ps] = s
                    }
                }
            }
        }
        return out
    }

    /// The transpose: the gradient on the source from the gradient on the output.
    func adjoint(_ gout: [Float]) -> [Float] {
        var gin = [Float](repeating: 0, count: gout.count)
        gout.withUnsafeBufferPointer { gout in
            gin.withUnsafeMutableBufferPointer { gin in
                forEachPlane { base, ps in
                    for p in 0..<constant.count {
                        let go = gout[base + p * ps]
                        for k in 4 * p..<(4 * p + 4) { gin[base + Int(source[k]) * ps] += weight[k] * go }
                    }
                }
            }
        }
        return gin
    }
}
