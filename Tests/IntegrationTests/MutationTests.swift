import AscentImage
import AscentIR
import AscentKeras
import AscentONNX
import AscentTestSupport
import Foundation
import Testing

/// Every fixture file, truncated at 16 evenly spaced offsets and corrupted by 64 seeded
/// random byte changes: each mutant loads (and validates), or is refused with an
/// `AscentError` — never a crash, never another error type.
///
/// HDF5-based files (`.h5`, `.keras`) go through the CLI, which parses them in a child
/// process because libhdf5 1.10 can crash on corrupt global heaps (see IsolatedImport in
/// the CLI): there the check is the CLI contract — exit 0, 65 or 66 with one line on stderr —
/// with 24 corruptions instead of 64, since each costs two process starts.
@Suite struct MutationTests {
    static let viaCLI: @Sendable (String) throws -> Void = { path in
        let r = try CLI.run(["inspect", path, "--format", "json"])
        guard r.status == 0 else {
            let kind: AscentError.Kind = r.status == 66 ? .missingFile : r.status == 65 ? .invalidData : .internal
            if kind == .internal || r.stderr.split(separator: "\n").count != 1 {
                throw MutationFailure(message: "exit \(r.status): \(r.stderr)")
            }
            throw AscentError(kind, r.stderr)
        }
    }

    static let loaders: [String: @Sendable (String) throws -> Void] = [
        "h5": viaCLI,
        "keras": viaCLI,
        "onnx": { _ = try ONNXImporter.load(path: $0) },
        "npy": { _ = try NumPy.read(path: $0) },
        "png": { _ = try PNG.read(path: $0) },
        "ascent": { _ = try AscentFile.read(path: $0) },
    ]

    /// Fixture files by path relative to Fixtures/ (symbolic links and external-data
    /// side files left out), the fuzzing regression inputs (`.ascent`, `.onnx`) among them.
    static let files: [String] = {
        let root = TestPaths.fixture("")
        var out: [String] = []
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isSymbolicLinkKey, .isRegularFileKey])
        while let url = e?.nextObject() as? URL {
            let values = try? url.resourceValues(forKeys: [.isSymbolicLinkKey, .isRegularFileKey])
            guard values?.isRegularFile == true, values?.isSymbolicLink != true,
                  loaders[url.pathExtension] != nil else { continue }
            out.append(String(url.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        }
        return out.sorted()
    }()

    @Test func coversTheFixtures() {
        #expect(Self.files.count >= 100)
        #expect(Set(Self.files.map { ($0 as NSString).pathExtension }) == ["h5", "keras", "onnx", "npy", "png", "ascent"])
    }

    @Test(arguments: files)
    func mutantsAreRefusedCleanly(_ file: String) throws {
        let source = TestPaths.fixture(file)
        let bytes = [UInt8](try Data(contentsOf: source))
        let load = Self.loaders[source.pathExtension]!
        let dir = try TestPaths.temporaryDirectory("mutant")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mutant = dir.appendingPathComponent(source.lastPathComponent)
        func check(_ data: [UInt8], _ what: String) throws {
            try Data(data).write(to: mutant)
            do { try load(mutant.path) } catch let e as AscentError {
                #expect(e.kind == .invalidData || e.kind == .missingFile, "\(file) \(what): \(e)")
                #expect(!e.description.isEmpty)
            } catch {
                Issue.record("\(file) \(what): not an AscentError: \(error)")
            }
        }
        for i in 0..<16 { try check(Array(bytes.prefix(i * bytes.count / 16)), "truncated at \(i * bytes.count / 16)") }
        var rng = SeededRandom(file.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) })
        let corruptions = ["h5", "keras"].contains(source.pathExtension) ? 24 : 64
        for k in 0..<corruptions {
            var data = bytes
            let n = 1 + Int(rng.next() % 4)
            for _ in 0..<n where !data.isEmpty {
                let at = Int(rng.next() % UInt64(data.count))
                data[at] ^= UInt8(1 + rng.next() % 255)
            }
            try check(data, "corruption \(k)")
        }
    }
}

struct MutationFailure: Error { var message: String }

