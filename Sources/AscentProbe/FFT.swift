#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A complex discrete Fourier transform of any length `n`, unnormalized, over a batch of sequences:
///
///     X[k] = Σ_j x[j] · e^{sign · 2πi·jk/n},   sign = −1 (forward) or +1 (inverse)
///
/// Data are split complex (real and imaginary parts in separate buffers) and element-major:
/// element `j` of sequence `b` sits at `j·batch + b`, so a 2-D transform's columns are one batched
/// call on the row-major array. Mixed-radix Stockham autosort (decimation in frequency,
/// ping-ponging between the data and a work buffer): radix-4 passes, one radix-2 pass, the other
/// prime factors done directly; every pass's inner loop runs over the contiguous
/// `stride × batch` independent sub-transforms, which the compiler vectorizes. A length with a
/// prime factor above ``FFT/largestDirectRadix`` goes through Bluestein's chirp-z algorithm on a
/// power-of-two transform instead, so every length costs O(n log n). Twiddles are computed in
/// double precision; data are float32.
struct FFT: Sendable {
    /// Prime factors up to this are combined directly (O(p²) per output group).
    static let largestDirectRadix = 31

    let count: Int
    let sign: Float
    private let factors: [Int]
    /// e^{sign · 2πi·k/n} for k in 0..<n: real parts, imaginary parts.
    private let cosines: [Float], sines: [Float]
    private let bluestein: Bluestein?

    private final class Bluestein: Sendable {
        /// Power-of-two transforms of length `m ≥ 2n − 1`.
        let forward: FFT, inverse: FFT
        /// The chirp e^{sign · πi·k²/n}.
        let chirpRe: [Float], chirpIm: [Float]
        /// The forward transform of the conjugate chirp wrapped to length m, scaled by 1/m.
        let kernelRe: [Float], kernelIm: [Float]

        init(count n: Int, sign: Float) {
            var m = 1
            while m < 2 * n - 1 { m *= 2 }
            forward = FFT(count: m, sign: -1)
            inverse = FFT(count: m, sign: 1)
            var cr = [Float](repeating: 0, count: n), ci = cr
            for k in 0..<n {
                // k² mod 2n keeps the angle exact for large k.
                let a = Double(sign) * Double.pi * Double((k * k) % (2 * n)) / Double(n)
                cr[k] = Float(cos(a)); ci[k] = Float(sin(a))
            }
            var kr = [Float](repeating: 0, count: m), ki = kr
            for k in 0..<n {
                kr[k] = cr[k]; ki[k] = -ci[k]
                if k > 0 { kr[m - k] = cr[k]; ki[m - k] = -ci[k] }
            }
            forward.transform(re: &kr, im: &ki)
            let scale = 1 / Float(m)
            for i in 0..<m { kr[i] *= scale; ki[i] *= scale }
            (chirpRe, chirpIm, kernelRe, kernelIm) = (cr, ci, kr, ki)
        }

        /// One sequence (contiguous) in place.
        func transform(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, count n: Int) {
            let m = kernelRe.count
            var ar = [Float](repeating: 0, count: m), ai = ar
            for k in 0..<n {
                let (xr, xi, cr, ci) = (re[k], im[k], chirpRe[k], chirpIm[k])
                ar[k] = xr * cr - xi * ci; ai[k] = xr * ci + xi * cr
            }
            forward.transform(re: &ar, im: &ai)
            for k in 0..<m {
                let (xr, xi, kr, ki) = (ar[k], ai[k], kernelRe[k], kernelIm[k])
                ar[k] = xr * kr - xi * ki; ai[k] = xr * ki + xi * kr
            }
            inverse.transform(re: &ar, im: &ai)
            for k in 0..<n {
                let (xr, xi, cr, ci) = (ar[k], ai[k], chirpRe[k], chirpIm[k])
                re[k] = xr * cr - xi * ci; im[k] = xr * ci + xi * cr
            }
        }
    }

    init(count: Int, sign: Float) {
        precondition(count > 0)
        self.count = count
        self.sign = sign
        var primes: [Int] = [], rest = count, p = 2
        while rest > 1 {
            if p * p > rest { p = rest }
            while rest % p == 0 { primes.append(p); rest /= p }
            p += p == 2 ? 1 : 2
        }
        if primes.contains(where: { $0 > FFT.largestDirectRadix }) {
            (factors, cosines, sines) = ([], [], [])
            bluestein = Bluestein(count: count, sign: sign)
            return
        }
        // Pairs of 2s become radix-4 passes, done first; then a lone 2; then the odd primes.
        let twos = primes.filter { $0 == 2 }.count
        factors = [Int](repeating: 4, count: twos / 2) + (twos % 2 == 1 ? [2] : []) + primes.filter { $0 != 2 }
        var c = [Float](repeating: 0, count: count), s = c
        for k in 0..<count {
            let a = Double(sign) * 2 * Double.pi * Double(k) / Double(count)
            c[k] = Float(cos(a)); s[k] = Float(sin(a))
        }
        (cosines, sines, bluestein) = (c, s, nil)
    }

    /// Transforms one sequence in place.
    func transform(re: inout [Float], im: inout [Float]) {
        precondition(re.count == count && im.count == count)
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in transform(re: r.baseAddress!, im: i.baseAddress!, batch: 1) }
        }
    }

    /// Transforms `batch` sequences stored element-major (element `j` of sequence `b` at `j·batch + b`)
    /// in place.
    func transform(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, batch: Int) {
        if count == 1 || batch == 0 { return }
        if let b = bluestein {
            var (sr, si) = ([Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
            for s in 0..<batch {
                for k in 0..<count { sr[k] = re[k * batch + s]; si[k] = im[k * batch + s] }
                sr.withUnsafeMutableBufferPointer { r in
                    si.withUnsafeMutableBufferPointer { i in b.transform(re: r.baseAddress!, im: i.baseAddress!, count: count) }
                }
                for k in 0..<count { re[k * batch + s] = sr[k]; im[k * batch + s] = si[k] }
            }
            return
        }
        let total = count * batch
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * total) { work in
            cosines.withUnsafeBufferPointer { wc in
                sines.withUnsafeBufferPointer { ws in
                    var (xr, xi) = (re, im)
                    var (yr, yi) = (work.baseAddress!, work.baseAddress! + total)
                    var (n, s) = (count, 1)
                    for p in factors {
                        pass(radix: p, length: n, run: s * batch, xr, xi, yr, yi, wc.baseAddress!, ws.baseAddress!)
                        swap(&xr, &yr); swap(&xi, &yi)
                        n /= p; s *= p
                    }
                    if xr != re { re.update(from: xr, count: total); im.update(from: xi, count: total) }
                }
            }
        }
    }

    /// One decimation-in-frequency pass: with `m = length / p`, each of the `run` contiguous
    /// lanes (sub-transform × batch) of element `j + r·m` goes to
    ///
    ///     y[(p·j + t)·run + v] = (Σ_r x[(j + r·m)·run + v] · W_p^{rt}) · W_length^{jt},
    ///
    /// leaving sub-transforms of length `m` with `run · p` lanes for the next pass.
    private func pass(radix p: Int, length: Int, run: Int,
                      _ xr: UnsafeMutablePointer<Float>, _ xi: UnsafeMutablePointer<Float>,
                      _ yr: UnsafeMutablePointer<Float>, _ yi: UnsafeMutablePointer<Float>,
                      _ wc: UnsafePointer<Float>, _ ws: UnsafePointer<Float>) {
        let m = length / p, unit = count / length  // W_length^k = W_n^{k·unit}; j·t < length keeps it below n
        switch p {
        case 2:
            for j in 0..<m {
                let (wr, wi) = (wc[j * unit], ws[j * unit])
                let (ar, ai, br, bi) = (xr + j * run, xi + j * run, xr + (j + m) * run, xi + (j + m) * run)
                let (o0r, o0i, o1r, o1i) = (yr + 2 * j * run, yi + 2 * j * run, yr + (2 * j + 1) * run, yi + (2 * j + 1) * run)
                for v in 0..<run {
                    let (dr, di) = (ar[v] - br[v], ai[v] - bi[v])
                    o0r[v] = ar[v] + br[v]; o0i[v] = ai[v] + bi[v]
                    o1r[v] = dr * wr - di * wi; o1i[v] = dr * wi + di * wr
                }
            }
        case 4:
            // W_4 = sign·i: t1 = d02 + W·d13, t3 = d02 − W·d13 with d02 = a0 − a2, d13 = a1 − a3.
            let sg = sign
            for j in 0..<m {
                let (w1r, w1i, w2r, w2i, w3r, w3i) = (wc[j * unit], ws[j * unit], wc[2 * j * unit], ws[2 * j * unit],
                                                      wc[3 * j * unit], ws[3 * j * unit])
                let (a0r, a0i) = (xr + j * run, xi + j * run)
                let (a1r, a1i) = (xr + (j + m) * run, xi + (j + m) * run)
                let (a2r, a2i) = (xr + (j + 2 * m) * run, xi + (j + 2 * m) * run)
                let (a3r, a3i) = (xr + (j + 3 * m) * run, xi + (j + 3 * m) * run)
                let (o0r, o0i) = (yr + 4 * j * run, yi + 4 * j * run)
                let (o1r, o1i) = (o0r + run, o0i + run)
                let (o2r, o2i) = (o0r + 2 * run, o0i + 2 * run)
                let (o3r, o3i) = (o0r + 3 * run, o0i + 3 * run)
                for v in 0..<run {
                    let (s02r, s02i, d02r, d02i) = (a0r[v] + a2r[v], a0i[v] + a2i[v], a0r[v] - a2r[v], a0i[v] - a2i[v])
                    let (s13r, s13i, d13r, d13i) = (a1r[v] + a3r[v], a1i[v] + a3i[v], a1r[v] - a3r[v], a1i[v] - a3i[v])
                    let (rr, ri) = (-sg * d13i, sg * d13r)  // W·d13
                    o0r[v] = s02r + s13r; o0i[v] = s02i + s13i
                    let (t1r, t1i, t2r, t2i, t3r, t3i) = (d02r + rr, d02i + ri, s02r - s13r, s02i - s13i, d02r - rr, d02i - ri)
                    o1r[v] = t1r * w1r - t1i * w1i; o1i[v] = t1r * w1i + t1i * w1r
                    o2r[v] = t2r * w2r - t2i * w2i; o2i[v] = t2r * w2i + t2i * w2r
                    o3r[v] = t3r * w3r - t3i * w3i; o3i[v] = t3r * w3i + t3i * w3r
                }
            }
        default:
            let pUnit = count / p
            for j in 0..<m {
                for t in 0..<p {
                    let (or, oi) = (yr + (p * j + t) * run, yi + (p * j + t) * run)
                    for v in 0..<run { or[v] = 0; oi[v] = 0 }
                    var rt = 0  // r·t mod p, stepped
                    for r in 0..<p {
                        let (cr, ci) = (wc[rt * pUnit], ws[rt * pUnit])
                        let (ar, ai) = (xr + (j + r * m) * run, xi + (j + r * m) * run)
                        for v in 0..<run {
                            or[v] += ar[v] * cr - ai[v] * ci
                            oi[v] += ar[v] * ci + ai[v] * cr
                        }
                        rt += t
                        if rt >= p { rt -= p }
                    }
                    let (wr, wi) = (wc[j * t * unit], ws[j * t * unit])
                    for v in 0..<run {
                        let (sr, si) = (or[v], oi[v])
                        or[v] = sr * wr - si * wi; oi[v] = sr * wi + si * wr
                    }
                }
            }
        }
    }
}
