/// Colormaps from [0, 1] to 8-bit RGB, for heat maps.
public enum Colormap: String, CaseIterable, Sendable {
    /// matplotlib's perceptually uniform viridis (dark purple → blue → green → yellow), linear between
    /// ten samples of its table.
    case viridis
    /// The classic jet (blue → cyan → yellow → red), as OpenCV's COLORMAP_JET and matplotlib draw it.
    case jet

    private static let viridisSamples: [(Double, Double, Double)] = [
        (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x4A, 0x89), (0x31, 0x68, 0x8E), (0x26, 0x82, 0x8E),
        (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6D, 0xCD, 0x59), (0xB4, 0xDE, 0x2C), (0xFD, 0xE7, 0x25),
    ]

    /// The colour of `v` (clamped to [0, 1]; NaN draws as 0).
    public func color(_ v: Float) -> (UInt8, UInt8, UInt8) {
        let t = v.isNaN ? 0 : Double(min(max(v, 0), 1))
        switch self {
        case .viridis:
            let s = Colormap.viridisSamples
            let position = t * Double(s.count - 1)
            let i = min(Int(position), s.count - 2), f = position - Double(i)
            func mix(_ a: Double, _ b: Double) -> UInt8 { UInt8((a + (b - a) * f).rounded()) }
            return (mix(s[i].0, s[i + 1].0), mix(s[i].1, s[i + 1].1), mix(s[i].2, s[i + 1].2))
        case .jet:
            func channel(_ offset: Double) -> UInt8 {
                UInt8((min(max(1.5 - abs(4 * t - offset), 0), 1) * 255).rounded())
            }
            return (channel(3), channel(2), channel(1))
        }
    }
}
