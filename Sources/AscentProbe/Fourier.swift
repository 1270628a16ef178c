#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lucid's Fourier-space image parametrization (`param.image(fft=True, decorrelate=True)`),
/// for one batch of images, with the exact adjoint of every stage.
///
/// The parameters are, per batch item and channel, the real and imaginary parts of a
/// half-spectrum `h × nx` (`nx = w/2 + 1`, or `w/2 + 2` for odd `w` as Lucid does). The image is
///
///     t = irfft2d(spectrum · scale) / 4,   scale = √(h·w) / max(|f|, 1/max(h,w))
///     rgb = t · Mᵀ (Lucid's colour decorrelation, 3 channels only)
///     x = lo + (hi − lo) · sigmoid(rgb)
///
/// The inverse DFT is separable: a complex DFT of length `h` along y, then a real inverse DFT
/// of length `2·(nx − 1)` along x cropped to `w` — O(h²·nx + h·w·nx) per channel, fine for
/// images up to a few hundred pixels.
struct FourierImage {
    let geometry: ImageGeometry
    let decorrelate: Bool
    let range: ClosedRange<Float>
    /// Half-spectrum width and the length of the inverse real DFT along x.
    let nx: Int, lengthX: Int
    /// `scale[ky * nx + kx]`.
    let scale: [Float]
    /// cos / sin tables: along y `[ky * h + y]`, along x `[kx * w + x]`.
    let cosY: [Float], sinY: [Float], cosX: [Float], sinX: [Float]

    /// Lucid's `color_correlation_svd_sqrt` divided by its largest column norm.
    static let colorMatrix: [[Float]] = {
        let m: [[Float]] = [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]]
        let norms = (0..<3).map { j in (0..<3).map { m[$0][j] * m[$0][j] }.reduce(0, +).squareRoot() }
        let top = norms.max()!
        return m.map { row in row.map { $0 / top } }
    }()

    init(geometry: ImageGeometry, decorrelate: Bool, range: ClosedRange<Float>) {
        self.geometry = geometry
        self.decorrelate = decorrelate && geometry.channels == 3
        self.range = range
        let (h, w) = (geometry.height, geometry.width)
        nx = w % 2 == 1 ? w / 2 + 2 : w / 2 + 1
        lengthX = 2 * (nx - 1)
        func freq(_ k: Int, _ n: Int) -> Double { Double(k < (n + 1) / 2 ? k : k - n) / Double(n) }  // np.fft.fftfreq
        var scale = [Float](repeating: 0, count: h * nx)
        let floor = 1 / Double(max(w, h))
        for ky in 0..<h {
            for kx in 0..<nx {
                let fx = freq(kx, w)  // np.fft.fftfreq(w)[:nx], the odd case's extra bin included
                let f = (fx * fx + freq(ky, h) * freq(ky, h)).squareRoot()
                scale[ky * nx + kx] = Float(Double(w * h).squareRoot() / max(f, floor))
            }
        }
        self.scale = scale
        var cy = [Float](repeating: 0, count: h * h), sy = cy
        for ky in 0..<h {
            for y in 0..<h {
                let a = 2 * Double.pi * Double((ky * y) % h) / Double(h)
                cy[ky * h + y] = Float(cos(a)); sy[ky * h + y] = Float(sin(a))
            }
        }
        var cx = [Float](repeating: 0, count: nx * w), sx = cx
        for kx in 0..<nx {
            for x in 0..<w {
                let a = 2 * Double.pi * Double((kx * x) % lengthX) / Double(lengthX)
                cx[kx * w + x] = Float(cos(a)); sx[kx * w + x] = Float(sin(a))
            }
        }
        (cosY, sinY, cosX, sinX) = (cy, sy, cx, sx)
    }

    /// Parameters per batch item and channel: real and imaginary half-spectra.
    var perChannel: Int { 2 * geometry.height * nx }
    var parameterCount: Int { geometry.batch * geometry.channels * perChannel }

    /// Lucid's start: normal noise with standard deviation `sd` (Lucid: 0.01; 0 gives the
    /// flat mid-range image).
    func initialParameters<G: RandomNumberGenerator>(sd: Float = 0.01, using rng: inout G) -> [Float] {
        guard sd > 0 else { return [Float](repeating: 0, count: parameterCount) }
        return (0..<parameterCount).map { _ in
            let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(rng.next() >> 11) / Double(1 << 53)
            return Float(Double(sd) * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
    }

    /// The spatial image `t` (before colour and sigmoid), laid out like the input.
    func spatial(_ p: [Float]) -> [Float] {
        let (h, w, g) = (geometry.height, geometry.width, geometry)
        var out = [Float](repeating: 0, count: g.batch * h * w * g.channels)
        var zr = [Float](repeating: 0, count: h * nx), zi = zr
        let norm = 1 / Float(h * lengthX) / 4
        for b in 0..<g.batch {
            for c in 0..<g.channels {
                let base = (b * g.channels + c) * perChannel
                // Along y: Z[y, kx] = Σ_ky S[ky, kx] e^{2πi ky y / h}.
                for i in zr.indices { zr[i] = 0; zi[i] = 0 }
                for ky in 0..<h {
                    for kx in 0..<nx {
                        let s = scale[ky * nx + kx]
                        let sr = p[base + ky * nx + kx] * s, si = p[base + h * nx + ky * nx + kx] * s
                        if sr == 0 && si == 0 { continue }
                        for y in 0..<h {
                            let (co, sn) = (cosY[ky * h + y], sinY[ky * h + y])
                            zr[y * nx + kx] += sr * co - si * sn
                            zi[y * nx + kx] += sr * sn + si * co
                        }
                    }
                }
                // Along x: a real inverse DFT, c_k = 1 for DC and Nyquist, else 2.
                for y in 0..<h {
                    for x in 0..<w {
                        var v: Float = 0
                        for kx in 0..<nx {
                            let ck: Float = kx == 0 || 2 * kx == lengthX ? 1 : 2
                            v += ck * (zr[y * nx + kx] * cosX[kx * w + x] - zi[y * nx + kx] * sinX[kx * w + x])
                        }
                        out[g.index(b, y, x, c)] = v * norm
                    }
                }
            }
        }
        return out
    }

    /// The adjoint of ``spatial(_:)``: parameter gradient from the gradient on `t`.
    func spatialAdjoint(_ gt: [Float]) -> [Float] {
        let (h, w, g) = (geometry.height, geometry.width, geometry)
        var gp = [Float](repeating: 0, count: parameterCount)
        var gzr = [Float](repeating: 0, count: h * nx), gzi = gzr
        let norm = 1 / Float(h * lengthX) / 4
        for b in 0..<g.batch {
            for c in 0..<g.channels {
                let base = (b * g.channels + c) * perChannel
                for y in 0..<h {
                    for kx in 0..<nx {
                        let ck: Float = kx == 0 || 2 * kx == lengthX ? 1 : 2
                        var r: Float = 0, i: Float = 0
                        for x in 0..<w {
                            let v = gt[g.index(b, y, x, c)]
                            r += v * cosX[kx * w + x]
                            i -= v * sinX[kx * w + x]
                        }
                        gzr[y * nx + kx] = r * ck * norm
                        gzi[y * nx + kx] = i * ck * norm
                    }
                }
                for ky in 0..<h {
                    for kx in 0..<nx {
                        var r: Float = 0, i: Float = 0
                        for y in 0..<h {
                            let (co, sn) = (cosY[ky * h + y], sinY[ky * h + y])
                            r += gzr[y * nx + kx] * co + gzi[y * nx + kx] * sn
                            i += -gzr[y * nx + kx] * sn + gzi[y * nx + kx] * co
                        }
                        let s = scale[ky * nx + kx]
                        gp[base + ky * nx + kx] = r * s
                        gp[base + h * nx + ky * nx + kx] = i * s
                    }
                }
            }
        }
        return gp
    }

    /// `rgb = t · Mᵀ` per pixel (identity unless decorrelating).
    func colour(_ t: [Float], transpose: Bool = false) -> [Float] {
        guard decorrelate else { return t }
        let g = geometry, m = FourierImage.colorMatrix
        var out = t
        for b in 0..<g.batch {
            for y in 0..<g.height {
                for x in 0..<g.width {
                    let v = (0..<3).map { t[g.index(b, y, x, $0)] }
                    for c in 0..<3 {
                        out[g.index(b, y, x, c)] = transpose
                            ? m[0][c] * v[0] + m[1][c] * v[1] + m[2][c] * v[2]
                            : m[c][0] * v[0] + m[c][1] * v[1] + m[c][2] * v[2]
                    }
                }
            }
        }
        return out
    }

    /// The input the model sees.
    func image(_ p: [Float]) -> [Float] {
        let span = range.upperBound - range.lowerBound
        return colour(spatial(p)).map { range.lowerBound + span / (1 + exp(-$0)) }
    }

    /// ∂objective/∂parameters from ∂objective/∂input at parameters `p`.
    func gradient(_ p: [Float], inputGradient gx: [Float]) -> [Float] {
        let span = range.upperBound - range.lowerBound
        let pre = colour(spatial(p))
        var g = gx
        for i in g.indices {
            let s = 1 / (1 + exp(-pre[i]))
            g[i] *= span * s * (1 - s)
        }
        return spatialAdjoint(colour(g, transpose: true))
    }
}
