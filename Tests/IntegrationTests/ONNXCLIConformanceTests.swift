import AscentIR
@testable import AscentONNX
import AscentTestSupport
import Foundation
import Testing

/// The ONNX backend node tests as a user meets them: every generated test run through the `ascent`
/// executable (`ascent run model.onnx --input NAME=input_N.npy ... --output-dir D`), its inputs
/// written as `.npy` in their declared dtypes (float16, bfloat16 as `<V2`, float64, uint16/32/64
/// included; float8/float4/int4/int2 as `<V1`, as `ml_dtypes` writes them), each written output read back and compared with `output_N.pb` in the output's declared
/// dtype exactly as the in-process harness does (``ONNXConformance/compare(_:_:declared:)``). The
/// CLI must pass exactly the tests the manifest (`onnx-node-tests.txt`) lists as `pass`, so the
/// manifest's count, the README's, is the CLI's.
///
/// Sharded into ``shards`` test cases (each a few hundred tests, run one `ascent` process at a time).
@Suite(.serialized) struct ONNXCLIConformanceTests {
    static let shards = 8

    enum Outcome: Equatable {
        case pass
        case fail(String)
    }

    @Test(arguments: 0..<shards)
    func cliAgreesWithTheManifest(shard: Int) throws {
        let folder = try ONNXConformance.generated.get()
        let (entries, _) = ONNXConformance.parseManifest(try String(contentsOf: ONNXConformance.manifestURL, encoding: .utf8))
        let mine = entries.sorted { $0.name < $1.name }.enumerated().filter { $0.offset % Self.shards == shard }.map(\.element)
        let scratch = try TestPaths.temporaryDirectory("ascent-cli-conformance")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var passed = 0
        for entry in mine {
            let outcome = Self.run(folder.appendingPathComponent(entry.name), scratch: scratch.appendingPathComponent(entry.name))
            switch (outcome, entry.pass) {
            case (.pass, true): passed += 1
            case (.fail(let why), true): Issue.record("\(entry.name) is listed as passing, through the CLI: \(why)")
            case (.pass, false): Issue.record("\(entry.name) passes through the CLI but is listed as skipped (\(entry.reason))")
            case (.fail, false): break
            }
        }
        print("ONNX conformance through ascent run, shard \(shard)/\(Self.shards): \(passed) of \(mine.count) pass")
    }

    /// One node test through `ascent run`: tensor inputs as `.npy`, a sequence input as a
    /// comma-separated list of `.npy` files (`[]` when empty), an empty optional as `none`; a tensor
    /// output read from the `.npy` it wrote, a sequence output from the folder it wrote (`0.npy`,
    /// `1.npy`...), an empty optional known by its `NAME: none` line.
    static func run(_ test: URL, scratch: URL) -> Outcome {
        do {
            let model = try ONNXModelProto.load(path: test.appendingPathComponent("model.onnx").path)
            if let reason = ONNXConformance.unsupportedSignature(model.graph) { return .fail(reason) }
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let data = test.appendingPathComponent("test_data_set_0")
            var arguments = ["run", test.appendingPathComponent("model.onnx").path]
            for (j, input) in model.graph.inputs.enumerated() {
                let value = try ONNXTensorFile.loadValue(path: data.appendingPathComponent("input_\(j).pb").path,
                                                         kind: ONNXConformance.kind(input))
                func npy(_ t: Tensor, _ suffix: String) throws -> String {
                    let path = scratch.appendingPathComponent("input_\(j)\(suffix).npy").path
                    try NumPy.write(t, to: path)
                    return path
                }
                let text: String
                switch value {
                case .tensor(let t): text = try npy(t, "")
                case .sequence(let ts): text = ts.isEmpty ? "[]" : try ts.enumerated().map { try npy($1, "_\($0)") }.joined(separator: ",")
                case .none: text = "none"
                }
                arguments += ["--input", "\(input.name)=\(text)"]
            }
            let outputs = scratch.appendingPathComponent("out")
            arguments += ["--output-dir", outputs.path, "--top", "0", "--threads", "1"]
            let r = try CLI.run(arguments)
            guard r.status == 0 else {
                return .fail("exit \(r.status): \(r.stderr.split(separator: "\n").first.map(String.init) ?? "")")
            }
            // Per output, in the graph's order: `  wrote PATH.npy`, `  wrote DIR/ (N tensors)` or `NAME: none`.
            let written = r.stdout.split(separator: "\n").compactMap { line -> String? in
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("wrote ") { return String(text.dropFirst(6)) }
                return text.hasSuffix(": none (an optional without a value; nothing written)") ? "" : nil
            }
            guard written.count == model.graph.outputs.count else {
                return .fail("\(written.count) of \(model.graph.outputs.count) outputs written")
            }
            var problems: [String] = []
            for (j, (output, path)) in zip(model.graph.outputs, written).enumerated() {
                let expected = try ONNXTensorFile.loadValue(path: data.appendingPathComponent("output_\(j).pb").path,
                                                            kind: ONNXConformance.kind(output))
                let actual: GraphValue
                if path.isEmpty {
                    actual = .none
                } else if let slash = path.range(of: "/ (") {
                    let folder = URL(fileURLWithPath: String(path[..<slash.lowerBound]))
                    var ts: [Tensor] = []
                    while FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(ts.count).npy").path) {
                        ts.append(try NumPy.read(path: folder.appendingPathComponent("\(ts.count).npy").path))
                    }
                    actual = .sequence(ts)
                } else {
                    actual = .tensor(try NumPy.read(path: path, opaque: ONNXConformance.declaredDType(output.elemType)))
                }
                if let problem = ONNXConformance.compare(actual, expected, declared: output.elemType) {
                    problems.append("'\(output.name)' \(problem)")
                }
            }
            return problems.isEmpty ? .pass : .fail(problems.joined(separator: "; "))
        } catch {
            return .fail("\(error)")
        }
    }
}
