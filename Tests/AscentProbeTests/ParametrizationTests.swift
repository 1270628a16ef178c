import AscentIR
@testable import AscentProbe
import AscentTestSupport
import Foundation
import Testing

/// The Lucid preset's pieces: the Fourier image against Lucid's numpy code, and every stage's
/// gradient against central finite differences (in double-checked float32: the linear stages
/// are compared through `⟨w, f(p + h·v)⟩ − ⟨w, f(p − h·v)⟩`, which is exact up to roundoff).
@Suite struct ParametrizationTests {
    var rng = SeededRandom(42)

    mutating func noise(_ n: Int, _ scale: Float = 1) -> [Float] { (0..<n).map { _ in (Float(rng.nextUnit()) * 2 - 1) * scale } }

    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }

    /// Central difference of `⟨w, f(p)⟩` along `v` vs `⟨adjoint(w), v⟩`; returns the relative error.
    func directional(_ f: ([Float]) -> [Float], adjoint: [Float], at p: [Float], along v: [Float], cotangent w: [Float], h: Float) -> Double {
        let plus = f(zip(p, v).map { $0 + h * $1 }), minus = f(zip(p, v).map { $0 - h * $1 })
        let numeric = (dot(w, plus) - dot(w, minus)) / (2 * Double(h))
        let analytic = dot(adjoint, v)
        return Closeness.relativeL2(Tensor(scalar: numeric), Tensor(scalar: analytic), atMost: .infinity, floor: 1e-6).measured
    }

    func geometry(_ b: Int, _ h: Int, _ w: Int, _ c: Int) -> ImageGeometry { ImageGeometry(shape: [b, h, w, c], channelsLast: true)! }

    @Test func fourierImageMatchesLucid() throws {
        for (h, w, c) in [(8, 6, 3), (7, 9, 1), (16, 16, 1)] {
            let name = "probe/fourier_\(h)x\(w)x\(c)"
            let spectrum = try NumPy.read(path: TestPaths.fixture("\(name)_spectrum.npy").path)
            let expected = try NumPy.read(path: TestPaths.fixture("\(name)_image.npy").path).floats()
            let f = FourierImage(geometry: geometry(1, h, w, c), decorrelate: true, range: 0...1)
            #expect(spectrum.shape == [2, c, h, f.nx])
            // Lucid's [2, C, H, nx] → ours: per channel, the real then the imaginary half-spectrum.
            let s = spectrum.floats()
            var p = [Float](repeating: 0, count: f.parameterCount)
            for part in 0..<2 { for ch in 0..<c { for i in 0..<(h * f.nx) {
                p[ch * f.perChannel + part * h * f.nx + i] = s[(part * c + ch) * h * f.nx + i]
            } } }
            let image = f.image(p)  // [1, h, w, c] in the same order as numpy's [h, w, c]
            let report = expectClose(image, expected, rtol: 0, atol: 1e-5, "fourier \(h)x\(w)x\(c) vs Lucid/numpy")
            print("fourier \(h)x\(w)x\(c): max |Ascent − Lucid/numpy| = \(report.measured)")
        }
    }

    /// The FFT against a direct double-precision DFT, for power-of-two, mixed-radix and prime
    /// lengths (37 and 97 go through Bluestein's algorithm), both signs, one sequence and a batch
    /// of three stored element-major.
    @Test mutating func fftMatchesDirectDFT() {
        for n in [1, 2, 3, 5, 8, 12, 30, 37, 49, 97, 224, 225] {
            for sign: Float in [-1, 1] {
                let batch = 3
                let xr = noise(n * batch), xi = noise(n * batch)
                let fft = FFT(count: n, sign: sign)
                var (yr, yi) = (xr, xi)
                yr.withUnsafeMutableBufferPointer { r in
                    yi.withUnsafeMutableBufferPointer { i in fft.transform(re: r.baseAddress!, im: i.baseAddress!, batch: batch) }
                }
                var worst = 0.0, scale = 0.0
                for b in 0..<batch {
                    var (sr, si) = ((0..<n).map { xr[$0 * batch + b] }, (0..<n).map { xi[$0 * batch + b] })
                    let (x0r, x0i) = (sr, si)
                    fft.transform(re: &sr, im: &si)
                    for k in 0..<n {
                        var re = 0.0, im = 0.0
                        for j in 0..<n {
                            let a = Double(sign) * 2 * Double.pi * Double((j * k) % n) / Double(n)
                            re += Double(x0r[j]) * cos(a) - Double(x0i[j]) * sin(a)
                            im += Double(x0r[j]) * sin(a) + Double(x0i[j]) * cos(a)
                        }
                        worst = max(worst, abs(re - Double(sr[k])), abs(im - Double(si[k])),
                                    abs(re - Double(yr[k * batch + b])), abs(im - Double(yi[k * batch + b])))
                        scale = max(scale, abs(re), abs(im))
                    }
                }
                #expect(worst <= 1e-5 * max(1, scale), "FFT n=\(n) sign \(sign): max error \(worst) (scale \(scale))")
            }
        }
    }

    @Test mutating func fourierStagesHaveExactGradients() {
        for (b, h, w, c) in [(1, 8, 6, 3), (2, 7, 9, 1), (1, 5, 5, 3)] {
            let f = FourierImage(geometry: geometry(b, h, w, c), decorrelate: true, range: -1...2)
            let p = noise(f.parameterCount, 0.05), v = noise(f.parameterCount)
            let n = b * h * w * c
            let w1 = noise(n)
            // The DFT alone (linear), the colour matrix alone (linear), and the whole map with its sigmoid.
            let e1 = directional(f.spatial, adjoint: f.spatialAdjoint(w1), at: p, along: v, cotangent: w1, h: 0.5)
            let t = noise(n), vt = noise(n)
            let e2 = directional({ f.colour($0) }, adjoint: f.colour(w1, transpose: true), at: t, along: vt, cotangent: w1, h: 0.5)
            let e3 = directional({ f.image($0) }, adjoint: f.gradient(p, inputGradient: w1), at: p, along: v, cotangent: w1, h: 1e-2)
            print("fourier b\(b) \(h)x\(w)x\(c): DFT \(e1), colour \(e2), full with sigmoid \(e3)")
            #expect(e1 < 1e-4)
            #expect(e2 < 1e-4)
            #expect(e3 < 2e-3)
        }
        // Decorrelation is off for other channel counts, as Lucid only decorrelates RGB.
        #expect(!FourierImage(geometry: geometry(1, 4, 4, 1), decorrelate: true, range: 0...1).decorrelate)
    }

    @Test mutating func transformsHaveExactAdjoints() {
        let g = geometry(2, 11, 13, 3)
        let cases: [(String, AffineSampler.Parameters)] = [
            ("jitter", .init(shift1: (3, -4), scale: 1, degrees: 0, shift2: (0, 0))),
            ("half-pixel jitter", .init(shift1: (0.5, -1.5), scale: 1, degrees: 0, shift2: (2, -1))),
            ("scale", .init(shift1: (0, 0), scale: 1.1, degrees: 0, shift2: (0, 0))),
            ("shrink", .init(shift1: (0, 0), scale: 0.9, degrees: 0, shift2: (0, 0))),
            ("rotate", .init(shift1: (0, 0), scale: 1, degrees: -10, shift2: (0, 0))),
            ("all", .init(shift1: (-4, 2), scale: 0.94, degrees: 7, shift2: (1, -2))),
        ]
        let n = 2 * 11 * 13 * 3
        for (name, parameters) in cases {
            let s = AffineSampler(geometry: g, parameters: parameters, fill: 0.5)
            let x = noise(n), v = noise(n), w = noise(n)
            let e = directional(s.forward, adjoint: s.adjoint(w), at: x, along: v, cotangent: w, h: 0.5)
            print("transform \(name): adjoint rel. error \(e)")
            #expect(e < 1e-4, "\(name)")
        }
        // An integer jitter is an exact shift, with the fill where the window leaves the image.
        let s = AffineSampler(geometry: g, parameters: .init(shift1: (2, -3), scale: 1, degrees: 0, shift2: (0, 0)), fill: 0.5)
        let x = noise(n), y = s.forward(x)
        for b in 0..<2 { for yy in 0..<11 { for xx in 0..<13 { for c in 0..<3 {
            let (sy, sx) = (yy + 2, xx - 3)
            let want = sy < 11 && sx >= 0 ? x[g.index(b, sy, sx, c)] : 0.5
            expectClose(y[g.index(b, yy, xx, c)], want, rtol: 0, atol: 1e-6, "[\(b),\(yy),\(xx),\(c)]")
        } } } }
        // A 90° rotation of a square image is a transpose-and-flip.
        let sq = geometry(1, 5, 5, 1)
        let r = AffineSampler(geometry: sq, parameters: .init(shift1: (0, 0), scale: 1, degrees: 90, shift2: (0, 0)), fill: 0)
        let img = (0..<25).map(Float.init), rotated = r.forward(img)
        #expect(Set(rotated.map { Int($0.rounded()) }) == Set(0..<25))
        expectClose(rotated, rotated.map { $0.rounded() }, rtol: 0, atol: 1e-4, "90° rotation lands on pixel centres")
    }

    @Test func lucidDrawsStayInLucidsRanges() {
        var rng = SeededRandom(3)
        for _ in 0..<200 {
            let p = RobustnessTransforms.lucid.draw(using: &rng)
            #expect(abs(p.shift1.0) <= 4 && abs(p.shift1.1) <= 4 && abs(p.shift2.0) <= 2 && abs(p.shift2.1) <= 2)
            #expect(p.scale >= 0.9 - 1e-6 && p.scale <= 1.1 + 1e-6)
            #expect(abs(p.degrees) <= 10)
        }
    }
}
