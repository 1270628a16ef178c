import AscentIR
import AscentONNX
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// ONNX files imported and run by Ascent, compared with onnxruntime's outputs on the same
/// inputs (written by Tools/fixtures: digits.py, onnx_cases.py).
@Suite struct ONNXModelTests {
    @Test func digitsMatchesOnnxruntimeAndKeras() throws {
        let graph = try ONNXImporter.load(path: TestPaths.fixture("digits/digits.onnx").path)
        let session = try Session(graph: graph)
        let out = try session.run([graph.inputs[0].name: try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)])
        let probs = try #require(out[graph.outputs[0].name])
        expectClose(probs, try NumPy.read(path: TestPaths.fixture("digits/onnx_probs.npy").path), scaledTolerance: ONNXRuntimeCrossCheckTests.tolerance, "onnxruntime")
        expectClose(probs, try NumPy.read(path: TestPaths.fixture("digits/keras_probs.npy").path), scaledTolerance: DigitsModelTests.kerasTolerance, "keras")
    }

    /// The old-opset fixtures with onnxruntime's outputs stored beside them.
    static var opsetCases: [String] {
        let dir = TestPaths.fixture("onnx/opsets")
        return TestPaths.list("onnx/opsets").filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("\($0)/output_0.npy").path) }
    }

    /// The ones without: onnxruntime 1.32 has no kernel for the opset (< 7) form, or (Reshape-4)
    /// the generator stored none. Their references come from elsewhere (ONNXExportRoundTripTests).
    static let opsetCasesWithoutReference: Set<String> = ["add6_broadcast", "batchnorm6", "cast5", "reshape4"]

    /// Old-opset forms (Softmax-11 flattening, Clip-6 attributes, Slice-9...) converted at import.
    @Test(arguments: opsetCases)
    func oldOpsetsMatchOnnxruntime(name: String) throws {
        let dir = TestPaths.fixture("onnx/opsets/\(name)")
        let graph = try ONNXImporter.load(path: dir.appendingPathComponent("model.onnx").path)
        var feeds: [String: Tensor] = [:]
        for (i, input) in graph.inputs.enumerated() {
            feeds[input.name] = try NumPy.read(path: dir.appendingPathComponent("input_\(i).npy").path)
        }
        let out = try Session(graph: graph).run(feeds)
        for (i, output) in graph.outputs.enumerated() {
            let reference = try NumPy.read(path: dir.appendingPathComponent("output_\(i).npy").path)
            let ours = try #require(out[output.name])
            expectClose(ours, reference, scaledTolerance: ONNXRuntimeCrossCheckTests.tolerance, "\(name) output \(i)")
        }
    }

    @Test func opsetCasesArePresent() {
        #expect(Self.opsetCases.count >= 9)
        #expect(Set(TestPaths.list("onnx/opsets")).subtracting(Self.opsetCases) == Self.opsetCasesWithoutReference)
    }
}
