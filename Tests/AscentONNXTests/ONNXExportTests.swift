import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// Runs `Tools/checks/check_onnx.py` (onnx checker with full_check, then onnxruntime against
/// reference outputs) on many exported files in one Python process.
enum ExportCheck {
    struct Case {
        var model: String
        var inputs: [String] = []
        var outputs: [String] = []
    }

    /// One result object per case (`ok`, `checker`, `outputs`, `ops`, `transpose_chains`, `error`...).
    static func run(_ cases: [Case], in dir: URL) throws -> [[String: Any]] {
        let list = cases.map { ["model": $0.model, "inputs": $0.inputs, "outputs": $0.outputs] as [String: Any] }
        let manifest = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: list).write(to: manifest)
        let (_, output) = try ReferencePython.script("checks/check_onnx.py", ["--batch", manifest.path])
        let line = try #require(output.split(separator: "\n").last, "check_onnx.py printed nothing")
        let json = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                                "check_onnx.py: \(output)")
        let results = try #require(json["results"] as? [[String: Any]])
        try #require(results.count == cases.count)
        return results
    }

    /// A readable reason when `result` is not a pass.
    static func failure(_ result: [String: Any]) -> String? {
        if result["ok"] as? Bool == true { return nil }
        return "\(result["error"] ?? "") \(result["outputs"] ?? "")"
    }
}

/// One reference case of `Fixtures/ops/<name>/` (a one-node graph with onnxruntime's or
/// TensorFlow's outputs), as a graph whose first input is a graph input and whose other inputs are
/// constants, as weights and index lists are in models (or, with `dynamic`, graph inputs too).
struct ExportOpCase: CustomStringConvertible {
    let name: String
    let graph: Graph
    let dir: URL
    var description: String { name }

    static let directory = TestPaths.fixture("ops")

    static let all = TestPaths.opCaseNames

    init(_ name: String, dynamic: Bool = false) throws {
        self.name = name
        dir = Self.directory.appendingPathComponent(name)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("case.json"))) as? [String: Any])
        let op = try #require(json["op"] as? String)
        let inputNames = try #require(json["inputs"] as? [String])
        let outputNames = try #require(json["outputs"] as? [String])
        let kinds = Dictionary(uniqueKeysWithValues: (OpRegistry.definition(op)?.attributes ?? []).map { ($0.name, $0.kind) })
        var attributes: [String: Attribute] = [:]
        for (key, value) in json["attributes"] as? [String: Any] ?? [:] {
            attributes[key] = try Self.attribute(value, kind: kinds[key])
        }
        var inputs: [ValueInfo] = []
        var initializers: [String: Tensor] = [:]
        for (i, input) in inputNames.enumerated() where !input.isEmpty {
            let t = try NumPy.read(path: dir.appendingPathComponent("input_\(i).npy").path)
            if i == 0 || dynamic {
                inputs.append(ValueInfo(name: input, type: ValueType(t.dtype, Shape(t.shape))))
            } else {
                initializers[input] = t
            }
        }
        var outputs: [ValueInfo] = []
        for (i, output) in outputNames.enumerated() {
            let t = try NumPy.read(path: dir.appendingPathComponent("output_\(i).npy").path)
            outputs.append(ValueInfo(name: output, type: ValueType(t.dtype, nil)))
        }
        graph = Graph(name: name, inputs: inputs, outputs: outputs, initializers: initializers,
                      nodes: [Node(name: name, op: op, inputs: inputNames, outputs: outputNames, attributes: attributes)])
    }

    /// A case.json attribute as an IR attribute (`kind` from the op's schema when it lists it).
    static func attribute(_ value: Any, kind: String?) throws -> Attribute {
        func number(_ v: Any) -> Double? { (v as? NSNumber)?.doubleValue }
        if let s = value as? String { return .string(s) }
        if let d = value as? [String: Any], let t = d["tensor"] as? [String: Any] {
            let dtype = try #require((t["dtype"] as? String).flatMap(DType.init(rawValue:)))
            let shape = try #require(t["shape"] as? [Int])
            let values = (t["values"] as? [Any] ?? []).compactMap(number)
            return .tensor(Tensor(shape: shape, scalars: values).converted(to: dtype))
        }
        if let list = value as? [Any] {
            let numbers = list.compactMap(number)
            let isFloat = kind == "floats" || (kind == nil && numbers.contains { $0 != $0.rounded() })
            return isFloat ? .floats(numbers) : .ints(numbers.map { Int($0) })
        }
        let v = try #require(number(value))
        switch kind {
        case "float": return .float(v)
        case "int": return .int(Int(v))
        default: return v == v.rounded() ? .int(Int(v)) : .float(v)
        }
    }

    /// The checker arguments: the graph inputs' files and every reference output.
    func check(model: String) -> ExportCheck.Case {
        let inputNames = graph.nodes[0].inputs
        let inputs = graph.inputs.map { input in
            "\(input.name)=\(dir.appendingPathComponent("input_\(inputNames.firstIndex(of: input.name)!).npy").path)"
        }
        return ExportCheck.Case(model: model, inputs: inputs,
                                outputs: graph.outputs.indices.map { dir.appendingPathComponent("output_\($0).npy").path })
    }
}

/// The exporter's rules, one at a time: opset forms, layouts, folding, names, errors, files.
@Suite struct ONNXExportTests {
    // MARK: - Every op fixture through onnxruntime

    /// Op cases an opset cannot express (the export must refuse them, naming why).
    static let refused: [String: (below: Int, reason: String)] = [
        "pad_wrap": (19, "mode 'wrap' needs opset 19"),
        "avgpool_dilation": (19, "'dilations' = [2,2] needs opset 19"),
    ]

    /// Every `Fixtures/ops` case, exported at opsets 13, 17 and 21, passes the checker and
    /// onnxruntime reproduces its reference outputs. The channels-last cases run again with their
    /// weights as graph inputs (kernels transposed by a node, BatchNormalization between transposes).
    @Test func everyOpFixtureExportsAndRunsInOnnxruntime() throws {
        #expect(ExportOpCase.all.count > 200, "Fixtures/ops is missing")
        let dir = try TestPaths.temporaryDirectory("onnx-export-ops")
        var cases: [ExportCheck.Case] = []
        var labels: [String] = []
        let variants = ExportOpCase.all.map { ($0, false) } + ExportOpCase.all.filter { $0.contains("nhwc") }.map { ($0, true) }
        for (name, dynamic) in variants {
            let c = try ExportOpCase(name, dynamic: dynamic)
            for opset in [13, 17, 21] {
                if let refusal = Self.refused[name], opset < refusal.below {
                    let e = try #require(throws: AscentError.self) { try ONNXExporter.export(c.graph, options: .init(opset: opset)) }
                    #expect(e.message.contains(refusal.reason), "\(name) at opset \(opset): \(e)")
                    continue
                }
                let label = "\(name)\(dynamic ? " (dynamic weights)" : "") at opset \(opset)"
                let path = dir.appendingPathComponent("\(name)\(dynamic ? "_dynamic" : "")_\(opset).onnx").path
                do {
                    try ONNXExporter.write(c.graph, to: path, options: .init(opset: opset))
                } catch {
                    Issue.record("\(label): \(error)")
                    continue
                }
                cases.append(c.check(model: path))
                labels.append(label)
            }
        }
        #expect(cases.count > 700)
        let results = try ExportCheck.run(cases, in: dir)
        for (label, result) in zip(labels, results) {
            #expect(ExportCheck.failure(result) == nil, "\(label): \(ExportCheck.failure(result) ?? "")")
        }
    }

    // MARK: - Layout

    /// A small Keras-style model: NHWC input → Conv (SAME) → Relu → BatchNormalization(axis 3) →
    /// Conv (VALID, 1×1) → Relu, and a Flatten → Dense head.
    static func kerasChain(head: Bool = false) -> Graph {
        func filled(_ shape: [Int], _ f: (Int) -> Float) -> Tensor {
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map(f))
        }
        var g = Graph(name: "chain", inputs: [ValueInfo(name: "image", type: ValueType(.float32, Shape([.symbol("N"), 8, 8, 3]), layout: .nhwc))])
        g.initializers = [
            "conv_a/kernel": filled([3, 3, 3, 4]) { Float($0 % 7) * 0.1 - 0.3 },
            "conv_a/bias": filled([4]) { Float($0) * 0.05 },
            "bn/gamma": filled([4]) { 1 + Float($0) * 0.1 }, "bn/beta": filled([4]) { Float($0) * -0.1 },
            "bn/moving_mean": filled([4]) { Float($0) * 0.2 }, "bn/moving_variance": filled([4]) { 0.5 + Float($0) },
            "conv_b/kernel": filled([1, 1, 4, 5]) { Float($0 % 5) * 0.2 - 0.4 },
        ]
        let same: [String: Attribute] = ["data_format": .string("NHWC"), "auto_pad": .string("SAME_UPPER"),
                                         "kernel_shape": .ints([3, 3]), "strides": .ints([1, 1]), "dilations": .ints([1, 1])]
        var valid = same
        valid["auto_pad"] = .string("VALID")
        valid["kernel_shape"] = .ints([1, 1])
        g.nodes = [
            Node(name: "conv_a", op: "Conv", inputs: ["image", "conv_a/kernel", "conv_a/bias"], outputs: ["conv_a/preact"], attributes: same),
            Node(name: "conv_a", op: "Relu", inputs: ["conv_a/preact"], outputs: ["conv_a"]),
            Node(name: "bn", op: "BatchNormalization", inputs: ["conv_a", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"],
                 outputs: ["bn"], attributes: ["epsilon": .float(1e-3), "axis": .int(3)]),
            Node(name: "conv_b", op: "Conv", inputs: ["bn", "conv_b/kernel"], outputs: ["conv_b/preact"], attributes: valid),
            Node(name: "conv_b", op: "Relu", inputs: ["conv_b/preact"], outputs: ["conv_b"]),
        ]
        g.outputs = [ValueInfo(name: "conv_b", type: ValueType(.float32, Shape([.symbol("N"), 8, 8, 5]), layout: .nhwc))]
        if head {
            g.initializers["fc/kernel"] = filled([320, 2]) { Float($0 % 11) * 0.01 }
            g.nodes += [
                Node(name: "flatten", op: "Flatten", inputs: ["conv_b"], outputs: ["flatten"], attributes: ["axis": .int(1)]),
                Node(name: "fc", op: "MatMul", inputs: ["flatten", "fc/kernel"], outputs: ["fc"]),
            ]
            g.outputs = [ValueInfo(name: "fc", type: ValueType(.float32, Shape([.symbol("N"), 2])))]
        }
        return g
    }

    @Test func convChainHasTransposesOnlyAtItsEnds() throws {
        let g = try ONNXExporter.onnxGraph(Self.kerasChain(), opset: 17)
        #expect(g.nodes.map(\.op) == ["Transpose", "Conv", "Relu", "Mul", "Add", "Conv", "Relu", "Transpose"])
        #expect(g.nodes.first?.inputs == ["image"] && g.nodes.first?.attributes["perm"] == .ints([0, 3, 1, 2]))
        #expect(g.nodes.last?.outputs == ["conv_b"] && g.nodes.last?.attributes["perm"] == .ints([0, 2, 3, 1]))
        // Inputs and outputs keep their NHWC shapes and symbolic batch.
        #expect(g.inputs.map(\.type.shape) == [Shape([.symbol("N"), 8, 8, 3])])
        #expect(g.outputs.map(\.type.shape) == [Shape([.symbol("N"), 8, 8, 5])])
        // Kernels transposed once into [out, in, kh, kw], in place; SAME/VALID as explicit pads.
        #expect(g.initializers["conv_a/kernel"]?.shape == [4, 3, 3, 3])
        #expect(g.initializers["conv_b/kernel"]?.shape == [5, 4, 1, 1])
        let conv = try #require(g.nodes.first { $0.name == "conv_a" })
        #expect(conv.attributes["pads"] == .ints([1, 1, 1, 1]) && conv.attributes["auto_pad"] == nil && conv.attributes["data_format"] == nil)
        let original = Self.kerasChain().initializers["conv_a/kernel"]!
        #expect(try original.transposed([3, 2, 0, 1]).bitwiseEqual(g.initializers["conv_a/kernel"]!))
        // Keras layer names carried to node names, every name once.
        #expect(g.nodes.map(\.name) == ["conv_a/to_channels_first", "conv_a", "conv_a/Relu", "bn", "bn/shift", "conv_b",
                                        "conv_b/Relu", "conv_b/to_channels_last"])
    }

    @Test func batchNormalizationOnTheLastAxisFoldsIntoScaleAndShift() throws {
        let source = Self.kerasChain()
        let g = try ONNXExporter.onnxGraph(source, opset: 17)
        let scale = try #require(g.initializers["bn/scale"]), shift = try #require(g.initializers["bn/shift"])
        // Per channel, broadcast against the channels-first value the Mul now reads.
        #expect(scale.shape == [4, 1, 1] && shift.shape == [4, 1, 1])
        let gamma = source.initializers["bn/gamma"]!.floats(), beta = source.initializers["bn/beta"]!.floats()
        let mean = source.initializers["bn/moving_mean"]!.floats(), variance = source.initializers["bn/moving_variance"]!.floats()
        let s = (0..<4).map { gamma[$0] / (variance[$0] + 1e-3).squareRoot() }
        expectClose(scale.floats(), s, rtol: 0, atol: 1e-6, "scale")
        expectClose(shift.floats(), (0..<4).map { beta[$0] - mean[$0] * s[$0] }, rtol: 0, atol: 1e-6, "shift")
        // Axis 1 stays ONNX's BatchNormalization, without the IR's axis attribute.
        var nchw = Graph(name: "bn", inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape([1, 4, 2, 2])))])
        for p in ["g", "b", "m", "v"] { nchw.initializers[p] = Tensor(shape: [4], scalars: [Float](repeating: 1, count: 4)) }
        nchw.nodes = [Node(name: "bn", op: "BatchNormalization", inputs: ["x", "g", "b", "m", "v"], outputs: ["y"], attributes: ["axis": .int(1)])]
        nchw.outputs = [ValueInfo(name: "y", type: ValueType(.float32, Shape([1, 4, 2, 2])))]
        let kept = try ONNXExporter.onnxGraph(nchw, opset: 17)
        #expect(kept.nodes.map(\.op) == ["BatchNormalization"] && kept.nodes[0].attributes["axis"] == nil)
    }

    @Test func flattenAfterChannelsLastFoldsIntoTheDenseWeights() throws {
        let source = Self.kerasChain(head: true)
        let g = try ONNXExporter.onnxGraph(source, opset: 17)
        #expect(g.nodes.filter { $0.op == "Transpose" }.count == 1, "\(g.nodes.map(\.op))")
        #expect(g.nodes.map(\.op).suffix(2) == ["Flatten", "MatMul"])
        // Rows reordered from (h, w, c) to (c, h, w).
        let w = source.initializers["fc/kernel"]!, folded = try #require(g.initializers["fc/kernel"])
        let expected = try w.reshaped([8, 8, 5, 2]).transposed([2, 0, 1, 3]).reshaped([320, 2])
        #expect(folded.bitwiseEqual(expected))
    }

    @Test func noTransposeReadsAnotherAndUserTransposesCompose() throws {
        // x → Transpose(NHWC→NCHW) → Transpose(back) → Relu: the pair cancels.
        var g = Graph(name: "t", inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape([1, 2, 3, 4])))])
        g.nodes = [
            Node(name: "a", op: "Transpose", inputs: ["x"], outputs: ["a"], attributes: ["perm": .ints([0, 3, 1, 2])]),
            Node(name: "b", op: "Transpose", inputs: ["a"], outputs: ["b"], attributes: ["perm": .ints([0, 2, 3, 1])]),
            Node(name: "c", op: "Relu", inputs: ["b"], outputs: ["c"]),
            Node(name: "d", op: "Transpose", inputs: ["c"], outputs: ["d"], attributes: ["perm": .ints([0, 2, 1, 3])]),
            Node(name: "e", op: "Transpose", inputs: ["d"], outputs: ["e"], attributes: ["perm": .ints([3, 1, 2, 0])]),
        ]
        g.outputs = [ValueInfo(name: "e", type: ValueType(.float32, nil))]
        let out = try ONNXExporter.onnxGraph(g, opset: 17)
        #expect(out.nodes.map(\.op) == ["Relu", "Transpose"])
        #expect(out.nodes[1].attributes["perm"] == .ints([3, 2, 1, 0]) && out.nodes[1].outputs == ["e"])
    }

    @Test func transposesMoveThroughConcatAndSoftmaxWithTheirAxes() throws {
        // NHWC conv → Concat(axis -1) with a constant → Softmax(axis -1): all in channels-first.
        var g = Graph(name: "cat", inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape([1, 4, 4, 2]), layout: .nhwc))])
        g.initializers = ["k": Tensor(shape: [1, 1, 2, 3], scalars: (0..<6).map { Float($0) }),
                          "extra": Tensor(shape: [1, 4, 4, 1], scalars: [Float](repeating: 0.5, count: 16))]
        g.nodes = [
            Node(name: "conv", op: "Conv", inputs: ["x", "k"], outputs: ["c"],
                 attributes: ["data_format": .string("NHWC"), "kernel_shape": .ints([1, 1])]),
            Node(name: "cat", op: "Concat", inputs: ["c", "extra"], outputs: ["cat"], attributes: ["axis": .int(-1)]),
            Node(name: "soft", op: "Softmax", inputs: ["cat"], outputs: ["y"], attributes: ["axis": .int(-1)]),
        ]
        g.outputs = [ValueInfo(name: "y", type: ValueType(.float32, Shape([1, 4, 4, 4])))]
        let out = try ONNXExporter.onnxGraph(g, opset: 17)
        #expect(out.nodes.map(\.op) == ["Transpose", "Conv", "Concat", "Softmax", "Transpose"])
        #expect(out.nodes[2].attributes["axis"] == .int(1) && out.nodes[3].attributes["axis"] == .int(1))
        // The constant keeps its rank (Concat needs it), its axes moved to channels-first.
        #expect(out.initializers["extra"]?.shape == [1, 1, 4, 4])
        #expect(out.outputs.map(\.type.shape) == [Shape([1, 4, 4, 4])])
        let dir = try TestPaths.temporaryDirectory("onnx-export")
        let path = dir.appendingPathComponent("cat.onnx").path
        try ONNXExporter.write(g, to: path)
        let result = try ExportCheck.run([ExportCheck.Case(model: path)], in: dir)[0]
        #expect(ExportCheck.failure(result) == nil, "\(ExportCheck.failure(result) ?? "")")
    }

    // MARK: - Opset forms

    static func unary(_ op: String, _ attributes: [String: Attribute] = [:], extra: [String] = [], shape: [Int] = [2, 3]) -> Graph {
        Graph(name: op, inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape(shape)))],
              outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
              nodes: [Node(name: "n", op: op, inputs: ["x"] + extra, outputs: ["y"], attributes: attributes)])
    }

    static func ops(_ g: Graph, _ opset: Int) throws -> [String] {
        try ONNXExporter.onnxGraph(g, opset: opset).nodes.map(\.op)
    }

    @Test func newerActivationsAreDecomposedBelowTheirOpset() throws {
        #expect(try Self.ops(Self.unary("Gelu"), 19) == ["Mul", "Erf", "Add", "Mul", "Mul"])
        #expect(try Self.ops(Self.unary("Gelu"), 20) == ["Gelu"])
        #expect(try Self.ops(Self.unary("Gelu", ["approximate": .string("tanh")]), 17).contains("Tanh"))
        #expect(try Self.ops(Self.unary("Mish"), 17) == ["Softplus", "Tanh", "Mul"])
        #expect(try Self.ops(Self.unary("Mish"), 18) == ["Mish"])
        #expect(try Self.ops(Self.unary("HardSwish"), 13) == ["HardSigmoid", "Mul"])
        #expect(try Self.ops(Self.unary("HardSwish"), 14) == ["HardSwish"])
        #expect(try Self.ops(Self.unary("Swish"), 21) == ["Sigmoid", "Mul"])
        #expect(try Self.ops(Self.unary("Swish", ["alpha": .float(1.5)]), 21) == ["Mul", "Sigmoid", "Mul"])
        var ln = Self.unary("LayerNormalization", ["axis": .int(-1), "epsilon": .float(1e-3)], extra: ["scale"])
        ln.initializers["scale"] = Tensor(shape: [3], scalars: [Float(1), 2, 3])
        #expect(try Self.ops(ln, 17) == ["LayerNormalization"])
        let decomposed = try ONNXExporter.onnxGraph(ln, opset: 16)
        #expect(decomposed.nodes.map(\.op) == ["ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul"])
        #expect(decomposed.nodes[0].attributes["axes"] == .ints([-1]))
    }

    @Test func reduceAxesAreAnAttributeOrAnInputAsTheOpsetWants() throws {
        let mean = Self.unary("ReduceMean", ["axes": .ints([1]), "keepdims": .int(0)])
        let at17 = try ONNXExporter.onnxGraph(mean, opset: 17).nodes[0]
        #expect(at17.attributes["axes"] == .ints([1]) && at17.inputs == ["x"])
        let at18 = try ONNXExporter.onnxGraph(mean, opset: 18)
        #expect(at18.nodes[0].attributes["axes"] == nil && at18.nodes[0].inputs.count == 2)
        #expect(at18.initializers[at18.nodes[0].inputs[1]]?.int64s() == [1])
        // ReduceSum takes its axes as an input from opset 13.
        let sum = try ONNXExporter.onnxGraph(Self.unary("ReduceSum", ["axes": .ints([0])]), opset: 13).nodes[0]
        #expect(sum.attributes["axes"] == nil && sum.inputs.count == 2)
        // Axes given as an input go back to the attribute below 18.
        var given = Self.unary("ReduceMax", extra: ["axes"])
        given.initializers["axes"] = Tensor(shape: [1], scalars: [Int64(-1)])
        let max = try ONNXExporter.onnxGraph(given, opset: 13).nodes[0]
        #expect(max.attributes["axes"] == .ints([-1]) && max.inputs == ["x"])
    }

    @Test func splitPadUnsqueezeAndShapeFollowTheOpset() throws {
        var split = Self.unary("Split", ["axis": .int(1)], shape: [2, 6])
        split.nodes[0].outputs = ["a", "b", "c"]
        split.outputs = ["a", "b", "c"].map { ValueInfo(name: $0, type: ValueType(.float32, nil)) }
        #expect(try ONNXExporter.onnxGraph(split, opset: 18).nodes[0].attributes["num_outputs"] == .int(3))
        #expect(try ONNXExporter.onnxGraph(split, opset: 17).nodes[0].attributes["num_outputs"] == nil)
        // Unevenly: explicit sizes below 18.
        split.inputs[0].type.shape = Shape([2, 7])
        let uneven = try ONNXExporter.onnxGraph(split, opset: 17)
        #expect(uneven.initializers[uneven.nodes[0].inputs[1]]?.int64s() == [3, 3, 1])

        var pad = Self.unary("Pad", extra: ["pads", "", "axes"], shape: [1, 2, 3])
        pad.initializers["pads"] = Tensor(shape: [2], scalars: [Int64(1), 2])
        pad.initializers["axes"] = Tensor(shape: [1], scalars: [Int64(-1)])
        let pad17 = try ONNXExporter.onnxGraph(pad, opset: 17)
        #expect(pad17.nodes[0].inputs.count == 2 && pad17.initializers[pad17.nodes[0].inputs[1]]?.int64s() == [0, 0, 1, 0, 0, 2])
        #expect(try ONNXExporter.onnxGraph(pad, opset: 18).nodes[0].inputs.count == 4)

        let unsqueeze = try ONNXExporter.onnxGraph(Self.unary("Unsqueeze", ["axes": .ints([0])]), opset: 13)
        #expect(unsqueeze.nodes[0].attributes.isEmpty && unsqueeze.initializers[unsqueeze.nodes[0].inputs[1]]?.int64s() == [0])

        var shape = Self.unary("Shape", ["start": .int(1)])
        shape.outputs[0].type = ValueType(.int64, nil)
        #expect(try Self.ops(shape, 14) == ["Shape", "Slice"])
        #expect(try Self.ops(shape, 15) == ["Shape"])
    }

    // MARK: - Errors

    @Test func unsupportedAndGradientNodesFailWithOneErrorListingThemAll() throws {
        var g = Self.unary("Relu")
        g.nodes = [
            .unsupported(name: "lambda_1", sourceOp: "Lambda", source: "Keras", inputs: ["x"], outputs: ["a"]),
            Node(name: "dx", op: "SumTo", inputs: ["a", "x"], outputs: ["b"]),
            .unsupported(name: "nms", sourceOp: "NonMaxSuppression", source: "ai.onnx opset 17", inputs: ["b"], outputs: ["y"]),
        ]
        let dir = try TestPaths.temporaryDirectory("onnx-export")
        let path = dir.appendingPathComponent("m.onnx").path
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: AscentError.self) { try ONNXExporter.write(g, to: path) }
        #expect(e.kind == .invalidData)
        #expect(e.message.hasPrefix("cannot export to ONNX opset 17: 3 nodes have no ONNX form: "))
        for part in ["'lambda_1' (Lambda, Keras)", "'dx' (SumTo): gradient-only op", "'nms' (NonMaxSuppression, ai.onnx opset 17)"] {
            #expect(e.message.contains(part), "\(e.message)")
        }
        // A failed export leaves the existing file alone and no temporary file behind.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.onnx"])
    }

    @Test func opsetsOutsideTheRangeAreUsageErrors() throws {
        for opset in [0, 29] {
            let e = try #require(throws: AscentError.self) { try ONNXExporter.export(Self.unary("Relu"), options: .init(opset: opset)) }
            #expect(e.kind == .usage && e.message.contains("opsets 1 to 28"))
        }
    }

    @Test func writingIntoAMissingFolderFails() throws {
        let e = try #require(throws: AscentError.self) { try ONNXExporter.write(Self.unary("Relu"), to: "/nonexistent/dir/m.onnx") }
        #expect(e.kind == .missingFile)
    }

    // MARK: - The file

    @Test func modelHeaderInterfaceAndInitializers() throws {
        var g = Self.kerasChain()
        // Two identical constants are stored once.
        g.initializers["c1"] = Tensor(shape: [1], scalars: [Float(2)])
        g.initializers["c2"] = Tensor(shape: [1], scalars: [Float(2)])
        g.nodes += [Node(name: "m1", op: "Mul", inputs: ["conv_b", "c1"], outputs: ["m1"]),
                    Node(name: "m2", op: "Mul", inputs: ["m1", "c2"], outputs: ["m2"])]
        g.outputs = [ValueInfo(name: "m2", type: ValueType(.float32, Shape([.symbol("N"), 8, 8, 5])))]
        g.metadata = ["source_format": "keras-h5"]
        for opset in [13, 17, 21] {
            let bytes = try ONNXExporter.export(g, options: .init(opset: opset, producerVersion: "9.9"))
            let model = try ONNXModelProto.decode(bytes: bytes, fileName: "exported")
            #expect(model.producerName == "ascent" && model.producerVersion == "9.9")
            #expect(model.docString.hasPrefix("ascent"))
            #expect(model.opsetImports == [ONNXOperatorSet(domain: "", version: Int64(opset))])
            #expect(model.irVersion == [13: 7, 17: 8, 21: 10][opset])
            #expect(model.graph.inputs.map(\.name) == ["image"])
            #expect(model.graph.inputs[0].elemType == 1)
            #expect(model.graph.inputs[0].shape == [.param("N"), .value(8), .value(8), .value(3)])
            #expect(model.graph.outputs.map(\.name) == ["m2"])
            #expect(model.graph.outputs[0].shape == [.param("N"), .value(8), .value(8), .value(5)])
            let names = model.graph.initializers.map(\.name)
            #expect(names.contains("c1") && !names.contains("c2"), "\(names)")
            #expect(Set(names).count == names.count)
            #expect(Set(model.graph.nodes.map(\.name)).count == model.graph.nodes.count)
            // The importer reads it back to a valid graph with the same interface.
            let back = try ONNXImporter.load(model: model, folder: ".", fileName: "exported")
            #expect(back.inputs.map(\.name) == ["image"] && back.outputs.map(\.name) == ["m2"])
            #expect(back.unsupportedNodes.isEmpty)
        }
    }
}
