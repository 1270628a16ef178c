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
