import AscentIR
import AscentKeras
import AscentONNX
import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// Gradients of the Keras fixture zoo (`Fixtures/keras/<model>/grad_*.npy`, computed by
/// TensorFlow's GradientTape; definitions in each `meta.json`'s `"gradients"` block) against
/// Ascent's gradient graphs, for every Keras file format of each model:
///
/// - `grad_input_logit[_1].npy`: d(Σ over the batch of logit[:, 1])/d(input 0 [1]), the logits
///   being output 0 before a final softmax (as the probe's `logit:K` target);
/// - `grad_input_feature.npy`: d(mean over N, H, W of channel 2 of `feature_layer`'s output,
///   after its activation)/d(input 0) — the probe's `layer:NAME:2` objective divided by N;
/// - `grad_weight_<layer>_<weight>.npy`: d(Σ output 0²)/d(the initializer `<layer>/<weight>`);
/// - `text_conv1d`'s and `text_bilstm`'s `grad_embedding_*.npy`: the same objectives w.r.t. the
///   Embedding's output (`text_bilstm`'s with the tokens' mask applied).
///
/// The tf2onnx exports are checked on the input gradient of the logit.
///
/// Bound: ‖ours − tf‖ ≤ 1e-4 · ‖tf‖ (relative L2).
@Suite struct GradientTensorFlowTests {
    static let bound = 1e-4

    struct Variant: CustomStringConvertible, Sendable {
        var model: String
        var file: String
        var config: String?
        var description: String { "\(model)/\(file)" }
    }

    static let variants: [Variant] = KerasZooTests.variants
        .filter { !$0.file.hasSuffix(".onnx") }
        .map { Variant(model: $0.model, file: $0.file, config: $0.config) }

    /// The forward graph extended with objective nodes.
    struct Objectives {
        var graph: Graph
        var used: Set<String>

        init(_ graph: Graph) {
            self.graph = graph
            used = Set(graph.inputs.map(\.name)).union(graph.initializers.keys)
            for n in graph.nodes { used.formUnion(n.outputs) }
        }

        mutating func fresh(_ base: String) -> String {
            var name = base, i = 1
            while used.contains(name) { name = "\(base)_\(i)"; i += 1 }
            used.insert(name)
            return name
        }

        mutating func emit(_ op: String, _ inputs: [String], _ attributes: [String: Attribute] = [:]) -> String {
            let out = fresh("test/\(op)")
            graph.nodes.append(Node(name: "test", op: op, inputs: inputs, outputs: [out], attributes: attributes))
            return out
        }

        mutating func constant(_ t: Tensor) -> String {
            let name = fresh("test/const")
            graph.initializers[name] = t
            return name
        }

        /// Index `k` of the last axis of `v`, kept as a size-1 axis.
        mutating func lastAxis(_ v: String, _ k: Int) -> String {
            func ints(_ x: Int) -> Tensor { Tensor(shape: [1], scalars: [Int64(x)]) }
            return emit("Slice", [v, constant(ints(k)), constant(ints(k + 1)), constant(ints(-1))])
        }

        /// Σ over the batch of logit `k` of output 0, read before a final Softmax.
        mutating func logit(_ k: Int) -> String {
            var v = graph.outputs[0].name
            let producers = graph.producers
            while let p = producers[v], ["Softmax", "LogSoftmax", "Identity"].contains(graph.nodes[p].op) {
                v = graph.nodes[p].inputs[0]
            }
            return emit("ReduceSum", [lastAxis(v, k)], ["keepdims": .int(0)])
        }

        /// The value a layer named `name` outputs (its last node's output: after the activation).
        func layerOutput(_ name: String) throws -> String {
            try #require(graph.nodes.last { $0.name == name }?.outputs.first, "no layer '\(name)'")
        }

        /// The mean over N and the spatial axes of channel `c` (channels last) of `value`.
        mutating func featureMean(_ value: String, channel c: Int, rank: Int, batch: Int) -> String {
            let perItem = emit("ReduceMean", [lastAxis(value, c)], ["axes": .ints(Array(1..<rank)), "keepdims": .int(0)])
            let total = emit("ReduceSum", [perItem], ["keepdims": .int(0)])
            return emit("Mul", [total, constant(Tensor(scalar: Float(1) / Float(batch)))])
        }

        /// Σ output 0².
        mutating func sumOfSquares() -> String {
            let y = graph.outputs[0].name
            return emit("ReduceSum", [emit("Mul", [y, y])], ["keepdims": .int(0)])
        }
    }

    /// Compares one gradient; returns the relative L2 error.
    ///
    /// A reference at float32 noise level next to the other gradients of the same objective
    /// (‖tf‖ ≤ 1e-6 · `scale`, the largest of them) is a gradient that is zero in exact
    /// arithmetic (misc_layers' LayerNormalization beta feeds a softmax over the axis it is
    /// constant along): there a relative error means nothing, and ours must be as small,
    /// ‖ours − tf‖ ≤ 1e-6 · `scale`.
    @discardableResult
    static func compare(_ ours: Tensor?, _ reference: URL, _ what: String, scale: Double? = nil, depthwise: Bool = false,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        let tf = try NumPy.read(path: reference.path)
        var mine = try #require(ours, "\(what): no gradient", sourceLocation: sourceLocation)
        // A depthwise kernel is [k..., 1, C·m] here and [k..., C, m] in Keras: the same elements in the same order.
        if depthwise, mine.shape != tf.shape, mine.count == tf.count {
            mine = try mine.reshaped(tf.shape)
        }
        let label = "\(what) \(reference.lastPathComponent)"
        let report: Closeness.Report
        if let scale, Closeness.l2Norm(tf) <= 1e-6 * scale {
            report = expectRelativeL2(mine, tf, atMost: 1e-6, floor: scale, "\(label) (zero in exact arithmetic)", sourceLocation: sourceLocation)
        } else {
            report = expectRelativeL2(mine, tf, atMost: bound, label, sourceLocation: sourceLocation)
        }
        if ProcessInfo.processInfo.environment["ASCENT_PRINT_GRADIENT_ERRORS"] != nil {
            print(String(format: "gradient-error %@ %.3e (|tf| %.3e)", label, report.measured, Closeness.l2Norm(tf)))
        }
        return report.measured
    }

    @Test(arguments: variants)
    func gradientsMatchTensorFlow(_ v: Variant) throws {
        let dir = TestPaths.fixture("keras/\(v.model)")
        let graph = try KerasZooTests.load(KerasZooTests.Variant(model: v.model, file: v.file, config: v.config))
        let meta = try KerasZooTests.meta(v.model)
        let spec = try #require(meta["gradients"] as? [String: Any])
        // Every key the fixture script writes is required: a missing one is a broken fixture, not a default.
        let logitIndex = try #require(spec["logit_index"] as? Int, "meta.json: gradients.logit_index")
        let channel = try #require(spec["feature_channel"] as? Int, "meta.json: gradients.feature_channel")
        try #require(spec.keys.contains("feature_layer"), "meta.json: gradients.feature_layer (null when there is none)")
        var feeds: [String: Tensor] = [:]
        for (i, input) in graph.inputs.enumerated() {
            feeds[input.name] = try NumPy.read(path: dir.appendingPathComponent("inputs_\(i).npy").path)
        }
        let batch = try #require(feeds[graph.inputs[0].name]?.shape.first)
        func url(_ f: String) -> URL { dir.appendingPathComponent(f) }
        func exists(_ f: String) -> Bool { FileManager.default.fileExists(atPath: url(f).path) }
        func gradients(_ objective: (inout Objectives) throws -> String, _ wrt: (Objectives) throws -> [String]) throws -> [String: Tensor] {
            var o = Objectives(graph)
            let value = try objective(&o)
            let values = try wrt(o)
            let built = try GradientBuilder.build(o.graph, of: value, withRespectTo: values)
            let out = try Session(graph: built.graph).run(feeds)
            var result: [String: Tensor] = [:]
            for w in values { result[w] = out[built.gradients[w] ?? ""] }
            return result
        }
        // The embedding model's integer input has no gradient: its references are w.r.t. the embedding's output.
        let embedding = spec["grad_embedding_logit"] != nil
        let inputs = graph.inputs.map(\.name)

        // Logits.
        let logitWrt: (Objectives) throws -> [String] = { o in embedding ? [try o.layerOutput("embedding")] : inputs }
        let logitGrads = try gradients({ $0.logit(logitIndex) }, logitWrt)
        let logitValues = try logitWrt(Objectives(graph))
        if embedding {
            try Self.compare(logitGrads[logitValues[0]], url("grad_embedding_logit.npy"), v.description)
        } else {
            try Self.compare(logitGrads[inputs[0]], url("grad_input_logit.npy"), v.description)
            // The second input's gradient exactly when meta.json lists it.
            #expect(exists("grad_input_logit_1.npy") == (spec["grad_input_logit_1"] != nil), "grad_input_logit_1")
            if spec["grad_input_logit_1"] != nil {
                try Self.compare(logitGrads[inputs[1]], url("grad_input_logit_1.npy"), v.description)
            }
        }

        // The feature layer's channel.
        #expect((spec["feature_layer"] is String) == (spec["grad_input_feature"] != nil || spec["grad_embedding_feature"] != nil))
        if let layer = spec["feature_layer"] as? String {
            let types = try graph.inferTypes()
            let probe = Objectives(graph)
            let value = try probe.layerOutput(layer)
            let rank = try #require(types[value]?.shape?.rank)
            let wrt = embedding ? try probe.layerOutput("embedding") : inputs[0]
            let grads = try gradients({ $0.featureMean(value, channel: channel, rank: rank, batch: batch) }, { _ in [wrt] })
            try Self.compare(grads[wrt], url(embedding ? "grad_embedding_feature.npy" : "grad_input_feature.npy"), v.description)
        }

        // Weights, under Σ output². The importer names a weight `<layer>/<weight>` (nested layers
        // behind their model's name); a DepthwiseConv2D's Keras 3 "kernel" keeps Keras 2's name.
        let weights = try #require(spec["grad_weights"] as? [[String: Any]])
        var files: [(initializer: String, file: String)] = []
        for w in weights {
            let layer = try #require(w["layer"] as? String), weight = try #require(w["weight"] as? String)
            let candidates = ["\(layer)/\(weight)", w["path"] as? String ?? ""] + (weight == "kernel" ? ["\(layer)/depthwise_kernel"] : [])
            let name = candidates.first { graph.initializers[$0] != nil }
            #expect(name != nil, "\(v): no initializer among \(candidates)")
            if let name { files.append((name, try #require(w["file"] as? String))) }
        }
        let weightGrads = try gradients({ $0.sumOfSquares() }, { _ in files.map(\.initializer) })
        let scale = try files.map { Closeness.l2Norm(try NumPy.read(path: url($0.file).path)) }.max() ?? 0
        for (name, file) in files {
            try Self.compare(weightGrads[name], url(file), v.description, scale: scale, depthwise: name.hasSuffix("depthwise_kernel"))
        }
    }

    static let onnxModels: [String] = KerasZooTests.variants.filter { $0.file.hasSuffix(".onnx") }.map(\.model)

    /// The tf2onnx exports (channels-first convolutions behind transposes, ONNX-style ops) give
    /// TensorFlow's input gradient of the logit too.
    @Test(arguments: onnxModels)
    func onnxInputGradientsMatchTensorFlow(_ model: String) throws {
        let dir = TestPaths.fixture("keras/\(model)")
        let graph = try ONNXImporter.load(path: dir.appendingPathComponent("model.onnx").path)
        let spec = try #require(try KerasZooTests.meta(model)["gradients"] as? [String: Any])
        var o = Objectives(graph)
        let value = o.logit(try #require(spec["logit_index"] as? Int, "meta.json: gradients.logit_index"))
        let input = graph.inputs[0].name
        let built = try GradientBuilder.build(o.graph, of: value, withRespectTo: [input])
        let x = try NumPy.read(path: dir.appendingPathComponent("inputs_0.npy").path)
        let out = try Session(graph: built.graph).run([input: x])
        try Self.compare(out[built.gradients[input] ?? ""], dir.appendingPathComponent("grad_input_logit.npy"), "\(model)/model.onnx")
    }

    /// `ascent grad` on the digits model (the CLI path: probe objective, gradient graph, session).
    @Test func digitsGradCLI() throws {
        let dir = try TestPaths.temporaryDirectory("grad-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.npy").path
        let result = try CLI.run(["grad", TestPaths.fixture("digits/digits.h5").path,
                                  "--input", TestPaths.fixture("digits/sample_7.png").path,
                                  "--target", "logit:7", "--output", out])
        #expect(result.status == 0, "\(result.stderr)")
        let g = try NumPy.read(path: out)
        #expect(g.shape == [1, 16, 16, 1])
        #expect(g.floats().contains { $0 != 0 } && g.floats().allSatisfy(\.isFinite))
    }

    /// `ascent grad --target logit:K` on the Keras fixtures (each single-output model with float
    /// inputs, in its .h5, .keras and tf2onnx forms) against TensorFlow's GradientTape gradient of
    /// the same objective (`grad_input_logit[_1].npy`): the CLI end to end, an independent reference.
    /// A two-input model is differentiated for each input in turn with `--wrt`.
    static let cliModels = KerasZooTests.variants.filter {
        $0.file == "model.h5" && $0.model != "two_in_two_out"
            && (try? KerasZooTests.meta($0.model)["gradients"] as? [String: Any])?["grad_embedding_logit"] == nil  // integer inputs
    }.map(\.model)

    @Test(arguments: cliModels)
    func gradCLIMatchesTensorFlow(_ model: String) throws {
        let dir = TestPaths.fixture("keras/\(model)")
        let spec = try #require(try KerasZooTests.meta(model)["gradients"] as? [String: Any])
        let k = try #require(spec["logit_index"] as? Int)
        let out = try TestPaths.temporaryDirectory("grad-tf")
        defer { try? FileManager.default.removeItem(at: out) }
        var checked = 0
        for file in ["model.h5", "model.keras", "model.onnx"] where FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) {
            let graph = try KerasZooTests.load(KerasZooTests.Variant(model: model, file: file, config: nil))
            let inputs = graph.inputs.indices.flatMap { ["--input", "\(graph.inputs[$0].name)=\(dir.appendingPathComponent("inputs_\($0).npy").path)"] }
            for (i, input) in graph.inputs.enumerated() {
                let g = out.appendingPathComponent("\(file)-\(i).npy").path
                let wrt = graph.inputs.count > 1 ? ["--wrt", input.name] : []
                let r = try CLI.run(["grad", dir.appendingPathComponent(file).path] + inputs + ["--target", "logit:\(k)", "--output", g] + wrt)
                try #require(r.status == 0, "\(model)/\(file): \(r.stderr)")
                #expect(r.stdout.hasPrefix("logit:\(k) "), "\(r.stdout)")
                let reference = dir.appendingPathComponent(i == 0 ? "grad_input_logit.npy" : "grad_input_logit_\(i).npy")
                expectRelativeL2(try NumPy.read(path: g), try NumPy.read(path: reference.path), atMost: Self.bound, "\(model)/\(file) d/d \(input.name)")
                checked += 1
            }
        }
        #expect(checked >= 2, "\(model): \(checked) gradients checked")
    }

    /// `ascent grad` gives the same gradient from every format of the digits model: the Keras
    /// files, the tf2onnx export, and the `.ascent` file converted from the ONNX one.
    @Test func gradCLIOnEveryFormat() throws {
        let dir = try TestPaths.temporaryDirectory("grad-formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let native = dir.appendingPathComponent("digits.ascent").path
        let converted = try CLI.run(["convert", TestPaths.fixture("digits/digits.onnx").path, "--output", native])
        #expect(converted.status == 0, "\(converted.stderr)")
        var gradients: [String: [Float]] = [:]
        for model in [TestPaths.fixture("digits/digits.h5").path, TestPaths.fixture("digits/digits.keras").path,
                      TestPaths.fixture("digits/digits.onnx").path, native] {
            let out = dir.appendingPathComponent("g-\(gradients.count).npy").path
            let r = try CLI.run(["grad", model, "--input", TestPaths.fixture("digits/sample_3.png").path,
                                 "--target", "logit:3", "--output", out])
            #expect(r.status == 0, "\(model): \(r.stderr)")
            gradients[(model as NSString).lastPathComponent] = try NumPy.read(path: out).floats()
        }
        let reference = try #require(gradients["digits.h5"])
        #expect(reference.contains { $0 != 0 })
        for (name, g) in gradients { expectRelativeL2(g, reference, atMost: 1e-5, "\(name) vs digits.h5") }
    }
}
