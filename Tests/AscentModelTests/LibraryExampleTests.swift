import AscentImage
import AscentIR
import AscentModel
import AscentProbe
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// The README's library example, compiled and run (from a folder holding `Fixtures`, as the
/// README runs it from the repository root); the test also checks that the README still shows
/// exactly this code.
@Suite struct LibraryExampleTests {
    @Test func theReadmeExampleRuns() throws {
        let dir = try TestPaths.temporaryDirectory("library-example")
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("Fixtures"), withDestinationURL: TestPaths.root.appendingPathComponent("Fixtures"))
        let previous = FileManager.default.currentDirectoryPath
        #expect(FileManager.default.changeCurrentDirectoryPath(dir.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        try example()
        #expect(try PNG.read(path: dir.appendingPathComponent("3.png").path).width == 16)
        #expect(try AscentFile.read(path: dir.appendingPathComponent("digits.ascent").path).nodes.count == 14)
    }

    @Test func theReadmeShowsThisCode() throws {
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let start = try #require(source.range(of: "    func example() throws {\n"))
        let end = try #require(source.range(of: "\n    }\n// end of the README example", range: start.upperBound..<source.endIndex))
        let body = source[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        #expect(readme.contains(body + "\n```\n"), "README's library example differs from LibraryExampleTests.example()")
    }

    func example() throws {
        // Any model file: .onnx, .h5, .keras or .ascent.
        let model = try Model.load(path: "Fixtures/digits/digits.h5")
        print(model.graph.printed())                                   // stable text form

        // Inputs from files: a PNG fitted to the input (16×16 grayscale here), or .npy as stored.
        let feeds = try model.feeds([InputFile(path: "Fixtures/digits/sample_7.png")], options: InputOptions(resize: true))
        let session = try Session(graph: model.graph)                  // plans per input shape, caches
        let probs = try session.run(feeds)["probs"]!
        print(probs.floats().indices.max { probs.floats()[$0] < probs.floats()[$1] }!)  // 7

        // Gradients: a graph transformation; the backward pass is IR too.
        let objective = try Objective(.logit(3), on: model.graph)
        let grad = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: ["input"])
        let g = try Session(graph: grad.graph).run(feeds)[grad.gradients["input"]!]!
        print(g.shape)                                                 // [1, 16, 16, 1]

        // Attribution maps: Captum's and tf-keras-vis's conventions, batched.
        let attribution = try Attribution(graph: model.graph, target: .logit(3))
        var options = Attribution.Options()
        options.rule = .gaussLegendre
        let ig = try attribution.explain(feeds["input"]!, method: .integratedGradients, options: options)
        print(ig.completenessGap!)                                     // Σ attributions vs F(x) − F(x′)

        // Activation maximization, and the picture.
        let probe = try Probe(graph: model.graph, target: .logit(3), options: .lucid(range: 0...1))
        let result = try probe.run { step in if step.step % 64 == 0 { print(step.step, step.objective) } }
        let picture = try Picture.image(from: result.input, channelsLast: probe.channelsLast, deprocess: probe.options.deprocess)
        try PNG.write(picture, to: "3.png")
        try AscentFile.write(model.graph, to: "digits.ascent")        // safetensors + graph metadata
    }
// end of the README example
}
