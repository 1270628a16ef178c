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
/// The inverse transform is separable: a complex inverse FFT of length `h` along y, then a real
/// inverse FFT of length `2·(nx − 1)` along x (the half-spectrum's Hermitian extension) cropped
/// to `w`; the adjoint runs the forward transforms in the reverse order. O(h·w·log(h·w)) per
/// channel, for any size (``FFT``).
struct FourierImage {
    let geometry: ImageGeometry
    let decorrelate: Bool
    let range: ClosedRange<Float>
    /// Half-spectrum width and the length of the inverse real DFT along x.
    let nx: Int, lengthX: Int
    /// `scale[ky * nx + kx]`.
    let scale: [Float]
    /// Inverse and forward transforms along y (length h) and along x (length `lengthX`).
    let inverseY: FFT, forwardY: FFT, inverseX: FFT, forwardX: FFT

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
        inverseY = FFT(count: h, sign: 1); forwardY = FFT(count: h, sign: -1)
        inverseX = FFT(count: lengthX, sign: 1); forwardX = FFT(count: lengthX, sign: -1)
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
        let (h, w, g, L) = (geometry.height, geometry.width, geometry, lengthX)
        let pairs = (h + 1) / 2
        var out = [Float](repeating: 0, count: g.batch * h * w * g.channels)
        var zr = [Float](repeating: 0, count: h * nx), zi = zr  // [y][kx]
        var rr = [Float](repeating: 0, count: L * pairs), ri = rr  // [kx][row pair]
        let norm = 1 / Float(h * L) / 4
        for b in 0..<g.batch {
            for c in 0..<g.channels {
                let base = (b * g.channels + c) * perChannel
                // Along y, every column at once: Z[y, kx] = Σ_ky S[ky, kx] e^{2πi ky y / h}.
                for i in 0..<(h * nx) {
                    zr[i] = p[base + i] * scale[i]
                    zi[i] = p[base + h * nx + i] * scale[i]
                }
                zr.withUnsafeMutableBufferPointer { r in
                    zi.withUnsafeMutableBufferPointer { i in inverseY.transform(re: r.baseAddress!, im: i.baseAddress!, batch: nx) }
                }
                // Along x: the real inverse transform of each row's half-spectrum through its
                // Hermitian extension, two rows per complex sequence (row 2q in the real part, row
                // 2q + 1 in the imaginary part). The imaginary parts of the DC and Nyquist bins do
                // not reach a real output, so they are left out of the extension.
                for kx in 0..<nx {
                    let edge = kx == 0 || 2 * kx == L
                    for q in 0..<pairs {
                        let (y0, y1) = (2 * q, 2 * q + 1)
                        let (ar, ai) = (zr[y0 * nx + kx], edge ? 0 : zi[y0 * nx + kx])
                        let (br, bi): (Float, Float) = y1 < h ? (zr[y1 * nx + kx], edge ? 0 : zi[y1 * nx + kx]) : (0, 0)
                        rr[kx * pairs + q] = ar - bi; ri[kx * pairs + q] = ai + br  // A + iB
                        if !edge {  // A[L−k] + iB[L−k] = conj(A[k]) + i·conj(B[k])
                            rr[(L - kx) * pairs + q] = ar + bi; ri[(L - kx) * pairs + q] = br - ai
                        }
                    }
                }
                rr.withUnsafeMutableBufferPointer { r in
                    ri.withUnsafeMutableBufferPointer { i in inverseX.transform(re: r.baseAddress!, im: i.baseAddress!, batch: pairs) }
                }
                for q in 0..<pairs {
                    for x in 0..<w {
                        out[g.index(b, 2 * q, x, c)] = rr[x * pairs + q] * norm
                        if 2 * q + 1 < h { out[g.index(b, 2 * q + 1, x, c)] = ri[x * pairs + q] * norm }
                    }
                }
            }
        }
        return out
    }

    /// The adjoint of ``spatial(_:)``: parameter gradient from the gradient on `t`.
    func spatialAdjoint(_ gt: [Float]) -> [Float] {
        let (h, w, g, L) = (geometry.height, geometry.width, geometry, lengthX)
        let pairs = (h + 1) / 2
        var gp = [Float](repeating: 0, count: parameterCount)
        var zr = [Float](repeating: 0, count: h * nx), zi = zr  // [y][kx]
        var rr = [Float](repeating: 0, count: L * pairs), ri = rr  // [x][row pair]
        let norm = 1 / Float(h * L) / 4
        for b in 0..<g.batch {
            for c in 0..<g.channels {
                let base = (b * g.channels + c) * perChannel
                // Along x: the forward transform of each row (zero beyond w), two real rows per
                // complex sequence, separated by conjugate symmetry:
                // A[k] = (C[k] + conj(C[L−k]))/2, B[k] = (C[k] − conj(C[L−k]))/2i; weighted like the sum.
                for i in rr.indices { rr[i] = 0; ri[i] = 0 }
                for q in 0..<pairs {
                    for x in 0..<w {
                        rr[x * pairs + q] = gt[g.index(b, 2 * q, x, c)]
                        if 2 * q + 1 < h { ri[x * pairs + q] = gt[g.index(b, 2 * q + 1, x, c)] }
                    }
                }
                rr.withUnsafeMutableBufferPointer { r in
                    ri.withUnsafeMutableBufferPointer { i in forwardX.transform(re: r.baseAddress!, im: i.baseAddress!, batch: pairs) }
                }
                for kx in 0..<nx {
                    let weight: Float = (kx == 0 || 2 * kx == L ? 1 : 2) * norm / 2
                    let mirror = kx == 0 ? 0 : L - kx
                    for q in 0..<pairs {
                        let (cr, ci, mr, mi) = (rr[kx * pairs + q], ri[kx * pairs + q], rr[mirror * pairs + q], ri[mirror * pairs + q])
                        zr[2 * q * nx + kx] = (cr + mr) * weight
                        zi[2 * q * nx + kx] = (ci - mi) * weight
                        if 2 * q + 1 < h {
                            zr[(2 * q + 1) * nx + kx] = (ci + mi) * weight
                            zi[(2 * q + 1) * nx + kx] = (mr - cr) * weight
                        }
                    }
                }
                // Along y, every column at once: the forward transform, times the frequency scale.
                zr.withUnsafeMutableBufferPointer { r in
                    zi.withUnsafeMutableBufferPointer { i in forwardY.transform(re: r.baseAddress!, im: i.baseAddress!, batch: nx) }
                }
                for i in 0..<(h * nx) {
                    gp[base + i] = zr[i] * scale[i]
                    gp[base + h * nx + i] = zi[i] * scale[i]
                }
            }
        }
        return gp
    }

    /// `rgb = t · Mᵀ` per pixel (identity unless decorrelating).
    func colour(_ t: [Float], transpose: Bool = false) -> [Float] {
        guard decorrelate else { return t }
        let g = geometry, m = FourierImage.colorMatrix
        let k: [Float] = transpose ? (0..<9).map { m[$0 % 3][$0 / 3] } : (0..<9).map { m[$0 / 3][$0 % 3] }
        let (ps, cs, pixels) = (g.pixelStride, g.channelStride, g.height * g.width)
        var out = t
        for b in 0..<g.batch {
            let base = b * g.batchStride
            for p in 0..<pixels {
                let i = base + p * ps
                let (v0, v1, v2) = (t[i], t[i + cs], t[i + 2 * cs])
                out[i] = k[0] * v0 + k[1] * v1 + k[2] * v2
                out[i + cs] = k[3] * v0 + k[4] * v1 + k[5] * v2
                out[i + 2 * cs] = k[6] * v0 + k[7] * v1 + k[8] * v2
            }
        }
        return out
    }

    /// `sigmoid(colour(spatial(p)))`, the input before its affine map to `range`.
    func squashed(_ p: [Float]) -> [Float] { colour(spatial(p)).map { 1 / (1 + exp(-$0)) } }

    /// The input the model sees, from ``squashed(_:)``.
    func image(squashed s: [Float]) -> [Float] {
        let (lo, span) = (range.lowerBound, range.upperBound - range.lowerBound)
        return s.map { lo + span * $0 }
    }

    /// The input the model sees.
    func image(_ p: [Float]) -> [Float] { image(squashed: squashed(p)) }

    /// ∂objective/∂parameters from ∂objective/∂input, at the parameters whose ``squashed(_:)`` is `s`.
    func gradient(squashed s: [Float], inputGradient gx: [Float]) -> [Float] {
        let span = range.upperBound - range.lowerBound
        var g = gx
        for i in g.indices { g[i] *= span * s[i] * (1 - s[i]) }
        return spatialAdjoint(colour(g, transpose: true))
    }

    /// ∂objective/∂parameters from ∂objective/∂input at parameters `p`.
    func gradient(_ p: [Float], inputGradient gx: [Float]) -> [Float] { gradient(squashed: squashed(p), inputGradient: gx) }
}
