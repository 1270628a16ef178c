import AscentIR
import AscentTestSupport
import Testing

/// The comparison helpers every test uses (`AscentTestSupport/Closeness.swift`) fail where they
/// must: on NaN, on an unmatched infinity, on a dtype change, on a shape change, and on a value
/// just outside the tolerance — and pass on what is within it.
@Suite struct ClosenessTests {
    let x = Tensor(shape: [2, 3], scalars: [Float(1), -2, 3, 0.5, 0, 1e-3])

    func with(_ t: Tensor, _ index: Int, _ value: Float) -> Tensor {
        var s = t.floats()
        s[index] = value
        return Tensor(shape: t.shape, scalars: s)
    }

    @Test func equalTensorsAreCloseInEveryForm() {
        #expect(Closeness.elementwise(x, x, rtol: 0, atol: 0).isClose)
        #expect(Closeness.scaled(x, x, tolerance: 0).isClose)
        #expect(Closeness.relativeL2(x, x, atMost: 0).isClose)
        #expect(Closeness.ulps(x, x, atMost: 0).isClose)
    }

    /// A NaN where a number is expected fails every form, wherever it sits (the old `.max()` over
    /// differences skipped a NaN after the first element; `abs(NaN) > worst` is false).
    @Test(arguments: [0, 4, 5])
    func nanFailsEveryForm(at index: Int) {
        let bad = with(x, index, .nan)
        for report in [Closeness.elementwise(bad, x, rtol: 1, atol: 1), Closeness.scaled(bad, x, tolerance: 1),
                       Closeness.relativeL2(bad, x, atMost: 1), Closeness.ulps(bad, x, atMost: .max - 1)] {
            #expect(!report.isClose, "NaN at \(index) passed: \(report)")
            #expect(report.measured == .infinity)
        }
        // The report names the element.
        let e = Closeness.elementwise(bad, x, rtol: 1e-4, atol: 1e-5)
        #expect(e.mismatch?.contains("at \(Closeness.index(index, in: [2, 3])): nan vs expected") == true, "\(e)")
        // And the expectation records an issue at the caller.
        withKnownIssue { expectClose(bad, x, rtol: 1, atol: 1) }
        withKnownIssue { expectClose(bad, x, scaledTolerance: 1) }
        withKnownIssue { expectRelativeL2(bad, x, atMost: 1) }
        withKnownIssue { expectULPs(bad, x, atMost: 1_000_000) }
        // An expected NaN is also not matched by a number.
        #expect(!Closeness.elementwise(x, bad, rtol: 1, atol: 1).isClose)
    }

    @Test func nanMatchesNaNAndInfinityOnlyTheSameInfinity() {
        let special = Tensor(shape: [3], scalars: [Float.nan, .infinity, -.infinity])
        #expect(Closeness.elementwise(special, special, rtol: 0, atol: 0).isClose)
        #expect(Closeness.scaled(special, special, tolerance: 0).isClose)
        #expect(Closeness.relativeL2(special, special, atMost: 0).isClose)
        #expect(Closeness.ulps(special, special, atMost: 0).isClose)
        let flipped = Tensor(shape: [3], scalars: [Float.nan, -.infinity, -.infinity])
        let finite = Tensor(shape: [3], scalars: [Float.nan, .greatestFiniteMagnitude, -.infinity])
        for other in [flipped, finite] {
            #expect(!Closeness.elementwise(other, special, rtol: 1, atol: 1).isClose)
            #expect(!Closeness.scaled(other, special, tolerance: 1).isClose)
            #expect(!Closeness.relativeL2(other, special, atMost: 1).isClose)
        }
    }

    @Test func aDTypeChangeFails() {
        let wider = x.converted(to: .float64)
        for report in [Closeness.elementwise(wider, x, rtol: 1, atol: 1), Closeness.scaled(wider, x, tolerance: 1),
                       Closeness.relativeL2(wider, x, atMost: 1), Closeness.ulps(wider, x, atMost: 1)] {
            #expect(report.mismatch == "dtype float64, expected float32", "\(report)")
        }
        withKnownIssue { expectClose(wider, x, rtol: 1, atol: 1) }
        // Integer widths count too.
        let i32 = Tensor(shape: [2], scalars: [Int32(1), 2]), i64 = Tensor(shape: [2], scalars: [Int64(1), 2])
        #expect(!Closeness.elementwise(i32, i64, rtol: 0, atol: 0).isClose)
        // Only when the test says so do float widths mix.
        #expect(Closeness.elementwise(wider, x, rtol: 0, atol: 0, dtypes: .anyFloatingPoint).isClose)
        #expect(!Closeness.elementwise(i64, i64.converted(to: .float32), rtol: 0, atol: 0, dtypes: .anyFloatingPoint).isClose)
    }

    @Test func aShapeChangeFails() throws {
        let flat = try x.reshaped([6]), transposed = try x.reshaped([3, 2])
        for other in [flat, transposed] {
            for report in [Closeness.elementwise(other, x, rtol: 1, atol: 1), Closeness.scaled(other, x, tolerance: 1),
                           Closeness.relativeL2(other, x, atMost: 1), Closeness.ulps(other, x, atMost: 1)] {
                #expect(report.mismatch?.hasPrefix("shape ") == true, "\(report)")
            }
        }
        withKnownIssue { expectClose(flat, x, rtol: 1, atol: 1) }
        withKnownIssue { expectClose([Float(1), 2], [Float(1)], rtol: 1, atol: 1) }
    }

    @Test func tolerancesAreTheStatedOnes() {
        // elementwise: |a − e| ≤ atol + rtol·|e|.
        let e = Tensor(shape: [2], scalars: [Double(100), 0])
        #expect(Closeness.elementwise(Tensor(shape: [2], scalars: [100.1, 0.01]), e, rtol: 1e-3, atol: 0.01).isClose)
        #expect(!Closeness.elementwise(Tensor(shape: [2], scalars: [100.1001, 0]), e, rtol: 1e-3, atol: 0).isClose)
        #expect(!Closeness.elementwise(Tensor(shape: [2], scalars: [100, 0.0101]), e, rtol: 1e-3, atol: 0.01).isClose)
        // scaled: the limit is tolerance × max(1, max |e|) over finite e.
        #expect(Closeness.scaled(Tensor(shape: [2], scalars: [100, 0.0099]), e, tolerance: 1e-4).isClose)
        #expect(!Closeness.scaled(Tensor(shape: [2], scalars: [100, 0.0101]), e, tolerance: 1e-4).isClose)
        let small = Tensor(shape: [1], scalars: [0.001])
        #expect(!Closeness.scaled(Tensor(shape: [1], scalars: [0.0012]), small, tolerance: 1e-4).isClose)  // floor of 1
        // relative L2.
        let r = Closeness.relativeL2(Tensor(shape: [2], scalars: [3.0, 4.03]), Tensor(shape: [2], scalars: [3.0, 4.0]), atMost: 1e-2)
        #expect(r.isClose, "\(r)")
        #expect(Closeness.elementwise(Tensor(scalar: r.measured), Tensor(scalar: 0.006), rtol: 0, atol: 1e-12).isClose, "\(r)")
        #expect(!Closeness.relativeL2(Tensor(shape: [2], scalars: [3.0, 4.06]), Tensor(shape: [2], scalars: [3.0, 4.0]), atMost: 1e-2).isClose)
        // ULPs, in the tensor's own format.
        let one = Tensor(shape: [2], scalars: [Float(1), -0.0]), next = Tensor(shape: [2], scalars: [Float(1).nextUp, 0.0])
        #expect(Closeness.ulps(next, one, atMost: 1).isClose)
        #expect(!Closeness.ulps(next, one, atMost: 0).isClose)
        let half = Tensor(shape: [1], scalars: [Float16(1)]), halfNext = Tensor(shape: [1], scalars: [Float16(1).nextUp.nextUp])
        #expect(Closeness.ulps(halfNext, half, atMost: 2).measured == 2)
        let across = Closeness.ulps(Tensor(shape: [1], scalars: [-Float.leastNonzeroMagnitude]),
                                    Tensor(shape: [1], scalars: [Float.leastNonzeroMagnitude]), atMost: 2)
        #expect(across.isClose && across.measured == 2)
    }

    @Test func integersAndBooleansAreExact() {
        let big = Tensor(shape: [1], scalars: [Int64.max]), nearBig = Tensor(shape: [1], scalars: [Int64.max - 1])
        #expect(!Closeness.elementwise(nearBig, big, rtol: 0, atol: 0).isClose)  // equal as doubles, not as integers
        #expect(Closeness.elementwise(nearBig, big, rtol: 0, atol: 1).isClose)
        #expect(!Closeness.elementwise(Tensor(shape: [2], scalars: [true, false]), Tensor(shape: [2], scalars: [true, true]),
                                       rtol: 0, atol: 0).isClose)
    }

    @Test func theWorstElementIsNamed() {
        let expected = Tensor(shape: [2, 2], scalars: [Float(1), 2, 3, 4])
        let actual = Tensor(shape: [2, 2], scalars: [Float(1.1), 2, 3, 4.5])
        let r = Closeness.elementwise(actual, expected, rtol: 0, atol: 0.01)
        #expect(r.mismatch == "2 of 4 elements differ (rtol 0.0, atol 0.01); worst at [1,1]: 4.5 vs expected 4.0, limit 0.01", "\(r)")
    }

    /// SplitMix64 from the seed: the published first outputs for seed 0.
    @Test func seededRandomIsSplitMix64() {
        var r = SeededRandom(0)
        #expect([r.next(), r.next(), r.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        var a = SeededRandom(name: "case"), b = SeededRandom(name: "case"), c = SeededRandom(name: "other")
        #expect(a.next() == b.next() && a.next() != c.next())
    }
}
