@testable import AscentProbe
import Testing

/// The README's numbers for each `maximize` preset are the options the preset sets. (What they
/// do is checked elsewhere: keras-example against TensorFlow, lucid's pieces against Lucid.)
@Suite struct PresetTests {
    /// "Lucid's transformation stack (pad 12, jitter 8, scale 0.9–1.1, rotate ±10°, jitter 4) ...
    /// Adam lr 0.05, 256 steps"; "pad and jitter are scaled to the image (size/128, never up)".
    @Test func lucid() {
        let o = ProbeOptions.lucid()
        #expect(o.steps == 256 && o.learningRate == 0.05 && o.optimizer == .adam())
        #expect(o.parametrization == .fourier(decorrelate: true, range: 0...1))
        let t = RobustnessTransforms.lucid
        #expect(o.transforms == t && t.pad == 12 && t.jitter1 == 8 && t.jitter2 == 4)
        #expect(t.scales.min() == 0.9 && t.scales.max() == 1.1 && t.angles.min() == -10 && t.angles.max() == 10)
        #expect(t.scaled(toImageSize: 256) == t, "never scaled up")
        let small = t.scaled(toImageSize: 64)
        #expect(small.pad == 6 && small.jitter1 == 4 && small.jitter2 == 2)
    }

    /// "init (U(0,1)−0.5)·0.25, x += 10·g/‖g‖ for 30 steps, a 2-pixel border left out of layer:
    /// objectives, pictures standardized to std 0.15, cropped by 25 px".
    @Test func kerasExample() {
        let o = ProbeOptions.kerasExample
        #expect(o.steps == 30 && o.learningRate == 10 && o.optimizer == .normalizedGradient)
        #expect(o.initialization == .noise(scale: 0.25) && o.border == 2)
        #expect(o.deprocess == .standardize(std: 0.15, crop: 25))
    }

    /// "smooth: Adam within the input range, total variation, L2, blur every 4 steps, jitter".
    @Test func smooth() {
        let o = ProbeOptions.smooth(range: 0...255)
        #expect(o.optimizer == .adam() && o.clip == 0...255 && o.totalVariation > 0 && o.l2 > 0)
        #expect(o.blurEvery == 4 && o.jitter > 0)
    }
}
