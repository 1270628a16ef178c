import AscentIR
import AscentKeras
import AscentONNX
import AscentProbe
import AscentTestSupport
import Foundation
import Testing

/// Attribution maps against the tools people compare with, on files those tools wrote
/// (`Tools/fixtures/explain_torch.py`, `Tools/fixtures/explain_keras.py`): Captum 0.9 on PyTorch
/// models exported to ONNX, tf-keras-vis 0.8.7 on Keras models.
@Suite struct AttributionReferenceTests {
    struct Meta: Decodable {
        var target: String
        var layer: String
        var model: String?
        var occlusion_window: [Int]?
        var occlusion_stride: [Int]?
    }

    static func meta(_ folder: String) throws -> Meta {
        try JSONDecoder().decode(Meta.self, from: Data(contentsOf: TestPaths.fixture("explain/\(folder)/meta.json")))
    }

    static func npy(_ folder: String, _ name: String) throws -> Tensor {
        try NumPy.read(path: TestPaths.fixture("explain/\(folder)/\(name).npy").path)
    }

    /// ‖a − b‖ / ‖b‖ over the flattened values; NaN (which fails every comparison) when either holds one.
    static func relativeL2(_ a: Tensor, _ b: Tensor) -> Double {
        let x = a.doubles(), y = b.doubles()
        guard x.count == y.count, x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { return .nan }
        let difference = zip(x, y).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return difference / max(y.reduce(0.0) { $0 + $1 * $1 }.squareRoot(), 1e-30)
    }

    static func expectClose(_ got: Attribution.Map, _ reference: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.values.count == reference.count, "\(what): \(got.values) vs \(reference)", sourceLocation: sourceLocation)
        let error = relativeL2(got.values, reference)
        #expect(error <= 1e-4, "\(what): relative L2 \(error)", sourceLocation: sourceLocation)
    }

    func torchCase(_ folder: String) throws -> (Attribution, Tensor, Meta) {
        let meta = try Self.meta(folder)
        let graph = try ONNXImporter.load(path: TestPaths.fixture("explain/\(folder)/model.onnx").path)
        let attribution = try Attribution(graph: graph, target: try Target(parsing: meta.target))
        return (attribution, try Self.npy(folder, "input"), meta)
    }

    @Test(arguments: ["cnn", "conv1d"])
    func gradientMethodsMatchCaptum(folder: String) throws {
        let (a, x, _) = try torchCase(folder)
        Self.expectClose(try a.explain(x, method: .saliency), try Self.npy(folder, "saliency"), "\(folder) saliency")
        Self.expectClose(try a.explain(x, method: .gradientTimesInput), try Self.npy(folder, "gradient_x_input"), "\(folder) gradient-x-input")
        for (file, squared) in [("smoothgrad", false), ("smoothgrad_sq", true)] {
            var options = Attribution.Options()
            options.noiseDraws = try Self.npy(folder, "\(file)_noise")
            options.squared = squared
            options.batch = 4  // several batches, the last one short
            Self.expectClose(try a.explain(x, method: .smoothGrad, options: options), try Self.npy(folder, file), "\(folder) \(file)")
        }
    }

    @Test(arguments: ["cnn", "conv1d"])
    func integratedGradientsMatchCaptumWithEveryRule(folder: String) throws {
        let (a, x, _) = try torchCase(folder)
        for rule in QuadratureRule.allCases {
            var options = Attribution.Options()
            options.rule = rule
            let map = try a.explain(x, method: .integratedGradients, options: options)
            Self.expectClose(map, try Self.npy(folder, "ig_" + rule.rawValue.replacingOccurrences(of: "-", with: "_")), "\(folder) IG \(rule)")
        }
    }

    @Test(arguments: ["cnn", "conv1d"])
    func integratedGradientsAreComplete(folder: String) throws {
        let (a, x, _) = try torchCase(folder)
        var gaps: [Double] = []
        for steps in [50, 200] {
            var options = Attribution.Options()
            options.steps = steps
            let map = try a.explain(x, method: .integratedGradients, options: options)
            let difference = Double(map.objective) - Double(try #require(map.baselineObjective))
            let gap = abs(Double(try #require(map.completenessGap))) / abs(difference)
            let sum = map.values.doubles().reduce(0, +)
            #expect(abs(sum - difference - Double(map.completenessGap!)) <= 1e-6 * max(1, abs(difference)), "the gap is Σ − (F(x) − F(x′))")
            gaps.append(gap)
        }
        #expect(gaps[0] <= 1e-2, "\(folder): completeness gap \(gaps[0]) at 50 Gauss–Legendre steps")
        #expect(gaps[1] < gaps[0], "\(folder): the gap shrinks with more steps: \(gaps)")
    }

    @Test(arguments: ["cnn", "conv1d"])
    func gradCAMAndOcclusionMatchCaptum(folder: String) throws {
        let (a, x, meta) = try torchCase(folder)
        var options = Attribution.Options()
        options.layer = meta.layer
        let cam = try a.explain(x, method: .gradCAM, options: options)
        #expect(cam.layer == meta.layer)
        Self.expectClose(cam, try Self.npy(folder, "gradcam"), "\(folder) Grad-CAM")
        options.window = meta.occlusion_window
        options.stride = meta.occlusion_stride
        options.batch = 5
        Self.expectClose(try a.explain(x, method: .occlusion, options: options), try Self.npy(folder, "occlusion"), "\(folder) occlusion")
    }

    @Test(arguments: ["keras_digits", "keras_cnn_bn"])
    func camFamilyMatchesTfKerasVis(folder: String) throws {
        let meta = try Self.meta(folder)
        let graph = try KerasImporter.load(path: TestPaths.root.appendingPathComponent(try #require(meta.model)).path)
        let a = try Attribution(graph: graph, target: try Target(parsing: meta.target))
        let x = try Self.npy(folder, "input")
        var options = Attribution.Options()
        options.layer = meta.layer
        options.batch = 3
        for (method, file) in [(Attribution.Method.gradCAM, "gradcam"), (.gradCAMPlusPlus, "gradcam++"), (.layerCAM, "layercam"), (.scoreCAM, "scorecam")] {
            Self.expectClose(try a.explain(x, method: method, options: options), try Self.npy(folder, file), "\(folder) \(file)")
        }
    }

    /// A model whose batch axis is fixed at 1 runs one item per call and gives the same maps.
    @Test func fixedBatchOfOneRunsPerItem() throws {
        let (a, x, _) = try torchCase("conv1d")
        var graph = a.graph
        var dims = try #require(graph.inputs[0].type.shape?.dims)
        dims[0] = .known(1)
        graph.inputs[0].type.shape = Shape(dims)
        let fixed = try Attribution(graph: graph, target: a.target)
        #expect(fixed.fixedBatch == 1 && a.fixedBatch == nil)
        var options = Attribution.Options()
        options.steps = 12
        let reference = try a.explain(x, method: .integratedGradients, options: options)
        options.batch = 8
        let perItem = try fixed.explain(x, method: .integratedGradients, options: options)
        #expect(Self.relativeL2(perItem.values, reference.values) <= 1e-6)
    }

    /// Captum's quadrature: Gauss–Legendre nodes and weights as numpy's leggauss gives them.
    @Test func gaussLegendrePoints() {
        let (alphas, weights) = QuadratureRule.gaussLegendre.points(3)
        // leggauss(3): nodes ±√(3/5), 0; weights 5/9, 8/9, 5/9 — mapped to [0, 1].
        let expected = [0.5 * (1 - (0.6).squareRoot()), 0.5, 0.5 * (1 + (0.6).squareRoot())]
        for (a, e) in zip(alphas, expected) { #expect(abs(a - e) < 1e-15) }
        for (w, e) in zip(weights, [5.0 / 18, 8.0 / 18, 5.0 / 18]) { #expect(abs(w - e) < 1e-15) }
        let fifty = QuadratureRule.gaussLegendre.points(50)
        #expect(abs(fifty.weights.reduce(0, +) - 1) < 1e-13)
        #expect(abs(QuadratureRule.riemannTrapezoid.points(50).weights.reduce(0, +) - 0.98) < 1e-12)
    }
}
