import AscentIR

/// The tests' one random generator: SplitMix64 from a fixed seed, so every run draws the same
/// numbers on every machine. Use it for anything random in a test (inputs, mutations, picks);
/// never `SystemRandomNumberGenerator` or `.random()` without `using:`.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    /// The generator whose first output comes from `seed + 0x9E3779B97F4A7C15` (SplitMix64's step).
    public init(_ seed: UInt64) { state = seed }

    /// A seed made from a name (FNV-1a of its UTF-8), for one stream per test case.
    public init(name: String) {
        state = name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// `count` floats uniform in [lo, hi).
    public mutating func floats(_ count: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(lo + (hi - lo) * nextUnit()) }
    }

    /// A float32 tensor uniform in [lo, hi).
    public mutating func uniform(_ shape: [Int], _ lo: Double = -1, _ hi: Double = 1) -> Tensor {
        Tensor(shape: shape, scalars: floats(shape.reduce(1, *), lo, hi))
    }

    /// A float32 tensor roughly N(0, 1): the sum of four uniforms, centred and scaled.
    public mutating func normal(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
            Float((nextUnit() + nextUnit() + nextUnit() + nextUnit() - 2) * 1.732)
        })
    }

    /// `count` bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// One draw of `uniform(shape, lo, hi)` from a fresh generator.
    public static func uniform(seed: UInt64, _ shape: [Int], _ lo: Double = -1, _ hi: Double = 1) -> Tensor {
        var r = SeededRandom(seed)
        return r.uniform(shape, lo, hi)
    }
}
