import AscentTestSupport
import Foundation
import Testing

@Suite struct InspectConvertTests {
    @Test func inspectTextShowsLayersShapesAndTotals() throws {
        let r = try CLI.run(["inspect", "Fixtures/digits/digits.h5"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.hasPrefix("digits  (keras-h5, keras 3.15.1, tensorflow backend)\n"))
        #expect(r.stdout.contains("  input  float32[N,16,16,1] NHWC\n"))
        #expect(r.stdout.contains("conv2d") == false)
        let conv1 = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("conv1 ") && $0.contains("Conv ") })
        #expect(conv1.contains("float32[N,16,16,8] NHWC") && conv1.contains(" 80 ") && conv1.hasSuffix("18,432"))
        #expect(r.stdout.contains("14 nodes, 6,282 parameters, 64,832 MACs per batch item\n"))
        #expect(r.stdout.hasSuffix("unsupported: none\n"))
        #expect(try CLI.run(["inspect", "Fixtures/digits/digits.h5", "--format", "text"]).stdout == r.stdout, "--format text is the default")
    }

    @Test(arguments: ["digits.h5", "digits.keras"])
    func inspectJSONMatchesKeras(file: String) throws {
        let r = try CLI.run(["inspect", "Fixtures/digits/\(file)", "--format", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("digits/metadata.json"))) as? [String: Any])
        #expect(json["format"] as? String == (file.hasSuffix(".h5") ? "keras-h5" : "keras"))
        #expect(json["parameters"] as? Int == meta["count_params"] as? Int)
        let inputs = try #require(json["inputs"] as? [[String: Any]])
        #expect(inputs.first?["name"] as? String == "input")
        #expect((inputs.first?["shape"] as? [Any])?.count == 4)
        #expect((json["unsupported"] as? [Any])?.isEmpty == true)
        #expect((json["nodes"] as? [[String: Any]])?.count == 14)
    }

    @Test func inspectDotIsAGraphvizDigraph() throws {
        let r = try CLI.run(["inspect", "Fixtures/digits/digits.keras", "--format", "dot"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("digraph \"digits\" {"))
        #expect(r.stdout.contains("[label=\"Conv\\nconv1\\nfloat32[N,16,16,8] NHWC\"]"))
        #expect(r.stdout.hasSuffix("}\n"))
    }

    @Test func convertToAscentRoundTrips() throws {
        let dir = try TestPaths.temporaryDirectory()
        let out = dir.appendingPathComponent("digits.ascent").path
        let c = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", out])
        #expect(c.status == 0, "\(c.stderr)")
        let original = try CLI.run(["inspect", "Fixtures/digits/digits.h5", "--format", "json"])
        let converted = try CLI.run(["inspect", out, "--format", "json"])
        #expect(converted.status == 0, "\(converted.stderr)")
        func nodes(_ s: String) throws -> String {
            let j = try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
            let kept = j.filter { ["nodes", "parameters", "inputs", "outputs"].contains($0.key) }
            return String(decoding: try JSONSerialization.data(withJSONObject: kept, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try nodes(original.stdout) == nodes(converted.stdout))
    }

    @Test func exitCodesFollowTheContract() throws {
        let dir = try TestPaths.temporaryDirectory()
        let garbage = dir.appendingPathComponent("garbage.h5")
        try Data("definitely not HDF5".utf8).write(to: garbage)
        let cases: [([String], Int32)] = [
            (["inspect", "/nonexistent/model.h5"], 66),
            (["inspect", garbage.path], 65),
            (["inspect", "Fixtures/digits/inputs.npy"], 64),
            (["inspect"], 64),
            (["inspect", "Fixtures/digits/digits.h5", "--format", "yaml"], 64),
            (["convert", "Fixtures/digits/digits.h5", "--output", dir.appendingPathComponent("x.txt").path], 64),
        ]
        for (args, code) in cases {
            let r = try CLI.run(args)
            #expect(r.status == code, "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args)")
            if code != 64 {
                #expect(r.stderr.split(separator: "\n").count == 1, "\(args): one line, got \(r.stderr)")
                #expect(r.stderr.contains(args[1]), "\(args): names the file")
            }
        }
    }
}

/// `--input-shape` and the JSON form of ONNX files.
@Suite struct InspectInputShapeTests {
    static func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try CLI.run(["inspect"] + arguments + ["--format", "json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// Every dimension of every node output and graph output.
    static func dims(_ j: [String: Any]) -> [Any] {
        let nodes = (j["nodes"] as? [[String: Any]] ?? []).flatMap { ($0["shapes"] as? [Any] ?? []) }
        let outputs = (j["outputs"] as? [[String: Any]] ?? []).map { $0["shape"] ?? NSNull() }
        return (nodes + outputs).flatMap { ($0 as? [Any]) ?? [NSNull()] }
    }

    @Test func symbolicSizesStayUnlessFixed() throws {
        let free = try Self.json(["Fixtures/digits/digits.onnx"])
        let input = try #require((free["inputs"] as? [[String: Any]])?.first)
        #expect((input["shape"] as? [Any])?.first as? String == "unk__51")
        #expect(Self.dims(free).contains { !($0 is Int) }, "some inferred shape keeps the free batch size")

        let fixed = try Self.json(["Fixtures/digits/digits.onnx", "--input-shape", "input=3,16,16,1"])
        #expect((fixed["inputs"] as? [[String: Any]])?.first?["shape"] as? [Int] == [3, 16, 16, 1])
        #expect((fixed["outputs"] as? [[String: Any]])?.first?["shape"] as? [Int] == [3, 10])
        let unknown = Self.dims(fixed).filter { !($0 is Int) }
        #expect(unknown.isEmpty, "not concrete: \(unknown)")

        let keras = try CLI.run(["inspect", "Fixtures/digits/digits.keras", "--input-shape", "input=2,16,16,1"])
        #expect(keras.stdout.contains("  probs  float32[2,10]\n"), "\(keras.stdout)")
        #expect(keras.stdout.contains("14 nodes, 6,282 parameters, 129,664 MACs\n"), "2 × 64,832, no longer per item")
    }

    @Test func badInputShapesAreRefused() throws {
        let cases: [(String, Int32, String)] = [
            ("inptu=1,16,16,1", 65, "--input-shape inptu=1,16,16,1: no input 'inptu'; closest: 'input'"),
            ("input=1,16,16", 65, "input 'input' has rank 4 ([N,16,16,1]), given 3 sizes"),
            ("input=1,16,15,1", 65, "dimension 2 of input 'input' is 16 ([N,16,16,1])"),
            ("input=1,x,16,1", 64, "--input-shape 'input=1,x,16,1' needs positive integer sizes"),
            ("input=0,16,16,1", 64, "needs positive integer sizes"),
            ("input", 64, "--input-shape 'input' is not NAME=d0,d1,..."),
        ]
        for (spec, code, message) in cases {
            let r = try CLI.run(["inspect", "Fixtures/digits/digits.h5", "--input-shape", spec])
            #expect(r.status == code, "\(spec): \(r.stderr)")
            #expect(r.stdout.isEmpty)
            #expect(r.stderr.contains(message), "\(spec): \(r.stderr)")
            if code == 65 { #expect(r.stderr.hasPrefix("ascent: Fixtures/digits/digits.h5: ") && r.stderr.split(separator: "\n").count == 1) }
        }
        let mixed = try CLI.run(["inspect", "Fixtures/keras/two_in_two_out/model.keras", "--input-shape", "a=1,2"])
        #expect(mixed.status == 65 && mixed.stderr.contains("no input 'a'; closest: "), "\(mixed.stderr)")
    }

    /// An old-opset file the importer rewrites into several IR nodes is still listed as the file's
    /// one node (whole output compared).
    @Test func onnxNodesAreTheFileNodes() throws {
        let r = try CLI.run(["inspect", "Fixtures/onnx/opsets/softmax11/model.onnx", "--format", "json"])
        #expect(r.status == 0)
        #expect(r.stdout == """
            {"format":"onnx","inputs":[{"dtype":"float32","name":"x","shape":[2,3,4]}],"nodes":[{"inputs":["x"],\
            "name":"softmax","op":"Softmax","outputs":["y"],"shapes":[[2,3,4]]}],"outputs":[{"dtype":"float32",\
            "name":"y","shape":[2,3,4]}],"parameters":0,"producer":"onnx_cases.py 1","unsupported":[]}

            """)
        let add = try Self.json(["Fixtures/onnx/opsets/add6_broadcast/model.onnx"])
        #expect((add["nodes"] as? [[String: Any]])?.map { $0["op"] as? String } == ["Add"])
        #expect(add["parameters"] as? Int == 0, "the axes constant the importer adds is no weight")
        let text = try CLI.run(["inspect", "Fixtures/onnx/opsets/add6_broadcast/model.onnx"])
        #expect(text.stdout.contains("\n1 node, 0 parameters, 0 MACs\nops: Add ×1\n"), "\(text.stdout)")
    }
}

/// The README's inspect and convert examples are what the commands print.
@Suite struct ReadmeExampleTests {
    /// The fenced block after the first line containing `marker`.
    static func block(after marker: String, in readme: String) throws -> [Substring] {
        let start = try #require(readme.range(of: marker), "README lacks \(marker)")
        let rest = readme[start.upperBound...]
        let open = try #require(rest.range(of: "```\n"))
        let close = try #require(rest[open.upperBound...].range(of: "\n```"))
        return rest[open.upperBound..<close.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
    }

    @Test func examplesMatchTheCommands() throws {
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        // Abridged: the shown lines, in order, with `...` standing for any number of lines.
        let text = try Self.block(after: "Example (`COLUMNS=100 ascent inspect Fixtures/digits/digits.h5`, abridged):", in: readme)
        // As the README runs it: 100 columns.
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["inspect", "Fixtures/digits/digits.h5"]
        process.currentDirectoryURL = TestPaths.root
        process.environment = ProcessInfo.processInfo.environment.merging(["COLUMNS": "100"]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var lines = printed.split(separator: "\n", omittingEmptySubsequences: false)[...]
        for shown in text where shown != "..." {
            let found = try #require(lines.firstIndex(of: shown), "README line not printed: \(shown)")
            lines = lines[(found + 1)...]
        }
        let json = try Self.block(after: "`ascent inspect Fixtures/onnx/opsets/squeeze11/model.onnx --format json` prints", in: readme)
        #expect(try CLI.run(["inspect", "Fixtures/onnx/opsets/squeeze11/model.onnx", "--format", "json"]).stdout == json.joined(separator: "\n") + "\n")
        let tail = try Self.block(after: "`ascent inspect Fixtures/digits/digits.onnx --input-shape input=8,16,16,1` ends", in: readme)
        let fixed = try CLI.run(["inspect", "Fixtures/digits/digits.onnx", "--input-shape", "input=8,16,16,1"])
        #expect(fixed.stdout.hasSuffix(tail.joined(separator: "\n") + "\n"), "\(fixed.stdout)")

        let dir = try TestPaths.temporaryDirectory()
        let convert = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", dir.appendingPathComponent("digits.onnx").path])
        let wrote = convert.stdout.replacingOccurrences(of: dir.path + "/", with: "").trimmingCharacters(in: .newlines)
        #expect(readme.contains("`ascent convert Fixtures/digits/digits.h5 --output digits.onnx` prints\n`\(wrote)`"), "\(wrote)")
    }
}
