import AscentIR
import AscentTestSupport
import Foundation
import Testing

@Suite struct AscentFileTests {
    /// A graph whose initializers cover every dtype, including empty and scalar tensors.
    func everyDTypeGraph() -> Graph {
        var g = sampleGraph()
        let base = Tensor(shape: [2, 3], scalars: [Double(-1.5), 0, 2.25, 1e10, -7, .nan])
        for dtype in DType.allCases {
            g.initializers["extra/\(dtype.rawValue)"] = base.converted(to: dtype)
        }
        g.initializers["extra/empty"] = try! Tensor(zeros: .float32, shape: [0, 3])
        g.initializers["extra/scalar"] = Tensor(scalar: Int64.min)
        return g
    }

    @Test func roundTripIsExact() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("model.ascent").path
        let graph = everyDTypeGraph()
        try AscentFile.write(graph, to: path)
        let loaded = try AscentFile.read(path: path)
        #expect(loaded.printed() == graph.printed())
        #expect(loaded.initializers.keys.sorted() == graph.initializers.keys.sorted())
        for (name, tensor) in graph.initializers {
            let back = try #require(loaded.initializers[name])
            #expect(back.bitwiseEqual(tensor), "\(name)")
            #expect(back.storage.isBorrowed, "\(name) should borrow the mapped file")
        }
        #expect(loaded.nodes == graph.nodes)
        // Writing the loaded graph again gives the same bytes.
        let again = dir.appendingPathComponent("again.ascent").path
        try AscentFile.write(loaded, to: again)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(contentsOf: URL(fileURLWithPath: again)))
    }

    @Test func layoutFollowsSafetensors() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("m.ascent").path
        try AscentFile.write(sampleGraph(), to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + n) % 64 == 0)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let kernel = try #require(header["conv/kernel"] as? [String: Any])
        #expect(kernel["dtype"] as? String == "F32")
        #expect((kernel["shape"] as? [Int]) == [3, 3, 1, 4])
        let meta = try #require(header["__metadata__"] as? [String: String])
        #expect(meta["format"] == "ascent")
        #expect(meta["ascent_graph"]?.contains("\"op\":\"Conv\"") == true)
    }

    @Test func missingFileIsMissing() {
        let e = caught { _ = try AscentFile.read(path: "/nonexistent/model.ascent") }
        #expect(e?.kind == .missingFile)
        #expect(e?.description.hasPrefix("/nonexistent/model.ascent: ") == true)
    }

    @Test func truncationsAndCorruptionsAreRefused() throws {
        let dir = try TestPaths.temporaryDirectory()
        let good = dir.appendingPathComponent("good.ascent").path
        try AscentFile.write(sampleGraph(), to: good)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let bad = dir.appendingPathComponent("bad.ascent").path
        let cuts = Set((0..<32).map { $0 * bytes.count / 32 } + [1, 7, 8, 9, bytes.count - 1])
        for cut in cuts.sorted() {
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: bad))
            let e = caught { _ = try AscentFile.read(path: bad) }
            #expect(e?.kind == .invalidData, "cut at \(cut)")
            #expect(e?.description.hasPrefix(bad + ": ") == true, "cut at \(cut): \(String(describing: e))")
        }
        var rng = SeededRandom(73)
        for _ in 0..<64 {
            var mutant = bytes
            let i = Int.random(in: 0..<mutant.count, using: &rng)
            mutant[i] ^= UInt8.random(in: 1...255, using: &rng)
            try Data(mutant).write(to: URL(fileURLWithPath: bad))
            // Either it still loads (a flipped weight bit) or it is refused cleanly.
            if let e = caught({ _ = try AscentFile.read(path: bad) }) { #expect(e.kind == .invalidData) }
        }
        try Data("not a safetensors file at all".utf8).write(to: URL(fileURLWithPath: bad))
        #expect(caught { _ = try AscentFile.read(path: bad) }?.description.contains("header length") == true)
    }

    @Test func writeIsAtomicAndKeepsExistingFileOnFailure() throws {
        let dir = try TestPaths.temporaryDirectory()
        let path = dir.appendingPathComponent("keep.ascent").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        var g = sampleGraph()
        g.initializers["__attr__/4/value"] = Tensor(scalar: Float(1))  // collides with a reserved key
        #expect(throws: AscentError.self) { try AscentFile.write(g, to: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["keep.ascent"])
    }

    private func caught(_ body: () throws -> Void) -> AscentError? {
        do { try body(); return nil } catch let e as AscentError { return e } catch {
            Issue.record("non-Ascent error \(error)")
            return nil
        }
    }
}

@Suite struct AscentFileSafetensorsTests {
    /// The reference `safetensors` library reads an `.ascent` file's weights.
    @Test func safetensorsReadsTheWeights() throws {
        var graph = sampleGraph()
        // NumPy (the reference reader's framework here) has no bfloat16 or narrow types; the file
        // with them is read below.
        for dtype in DType.allCases where dtype != .bfloat16 && !dtype.isNarrow {
            graph.initializers["extra/\(dtype.rawValue)"] = Tensor(shape: [3], scalars: [Double(-2), 0.5, 7]).converted(to: dtype)
        }
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("w.ascent").path
        try AscentFile.write(graph, to: path)
        let result = try ReferencePython.script("checks/read_safetensors.py", [path])
        try #require(result.status == 0, "reference safetensors failed (run Tools/pyenv): \(result.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let tensors = try #require(json["tensors"] as? [String: [String: Any]])
        #expect((json["metadata_keys"] as? [String]) == ["ascent_graph", "format"])
        #expect(Set(tensors.keys) == Set(graph.initializers.keys).union(["__attr__/4/value"]))
        for (name, t) in graph.initializers {
            let entry = try #require(tensors[name])
            #expect((entry["shape"] as? [Int]) == t.shape, "\(name)")
            let finiteSum = t.doubles().filter(\.isFinite).reduce(0, +)
            expectClose(try #require(entry["sum"] as? Double, "\(name)"), finiteSum, scaledTolerance: 1e-9, "\(name): sum")
        }
    }

    /// A file with the narrow types opens in the reference `safetensors` (float8e4m3fn/e5m2/e8m0 under
    /// their own codes, the others as `U8` bytes named in `ascent_dtypes`), and Ascent reads it back.
    @Test func narrowTypesKeepTheFileReadable() throws {
        var graph = sampleGraph()
        let narrow = DType.allCases.filter(\.isNarrow)
        for dtype in narrow {
            graph.initializers["narrow/\(dtype.rawValue)"] = Tensor(shape: [3], scalars: [Float(-2), 0.5, 7]).converted(to: dtype)
        }
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("n.ascent").path
        try AscentFile.write(graph, to: path)
        let r = try ReferencePython.run(["-c", """
            import json, sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], framework="numpy") as f:
                u8 = {k: list(f.get_tensor(k).tobytes()) for k in f.keys() if k.startswith("narrow/") and json.loads(f.metadata()["ascent_dtypes"]).get(k)}
                print(json.dumps({"keys": sorted(f.keys()), "dtypes": json.loads(f.metadata()["ascent_dtypes"]), "u8": u8}))
            """, path])
        try #require(r.status == 0, "\(r.output)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        #expect(Set(json["keys"] as? [String] ?? []) == Set(graph.initializers.keys).union(["__attr__/4/value"]))
        let stored = try #require(json["dtypes"] as? [String: String])
        #expect(stored == Dictionary(uniqueKeysWithValues: narrow.filter { !$0.hasSafetensorsCode }.map { ("narrow/\($0.rawValue)", $0.rawValue) }))
        let bytes = try #require(json["u8"] as? [String: [Int]])
        for (key, values) in bytes {
            #expect(values.map(UInt8.init) == graph.initializers[key]!.withUnsafeBytes { Array($0) }, "\(key)")
        }
        let loaded = try AscentFile.read(path: path)
        for dtype in narrow {
            let key = "narrow/\(dtype.rawValue)"
            #expect(loaded.initializers[key]?.dtype == dtype && loaded.initializers[key]!.bitwiseEqual(graph.initializers[key]!), "\(key)")
        }
    }
}
