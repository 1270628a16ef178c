import AscentIR
import AscentKeras
import AscentTestSupport
import Foundation
import Testing

/// keras.applications architectures (Keras 3.15.1, seeded random weights, small inputs), built by
/// `Tools/keras-applications` into the git-ignored `.cache/keras-applications` (the CI subset that
/// covers every failure mode, or all 16 with `ASCENT_KERAS_APPLICATIONS=all`), each run through
/// `ascent run` from its `.keras` and its `.h5` file and compared with Keras's output:
/// max |ours − Keras| ≤ 1e-4 × max(1, |Keras|), elementwise.
@Suite(.serialized) struct KerasApplicationsTests {
    static let cache = TestPaths.root.appendingPathComponent(".cache/keras-applications")
    static let ciSubset = ["ConvNeXtTiny", "EfficientNetV2B0", "InceptionResNetV2", "MobileNetV3Small"]
    static let all = ["ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionResNetV2",
                      "InceptionV3", "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small", "NASNetMobile",
                      "ResNet50", "ResNet50V2", "VGG16", "VGG19", "Xception"]
    static var wanted: [String] { ProcessInfo.processInfo.environment["ASCENT_KERAS_APPLICATIONS"] == "all" ? all : ciSubset }

    /// Runs `Tools/keras-applications` once per test process (it returns at once when the cache is
    /// complete); the error output when it fails.
    static let generated: String? = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [TestPaths.root.appendingPathComponent("Tools/keras-applications").path, cache.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return "cannot run Tools/keras-applications: \(error)" }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0 ? nil : "Tools/keras-applications failed (\(process.terminationStatus)):\n\(output)"
    }()

    @Test(arguments: ["model.keras", "model.h5"])
    func matchesKeras(_ file: String) throws {
        if let failure = Self.generated { Issue.record(Comment(rawValue: failure)); return }
        for name in Self.wanted {
            let dir = Self.cache.appendingPathComponent(name)
            let out = try TestPaths.temporaryDirectory("keras-applications")
            defer { try? FileManager.default.removeItem(at: out) }
            let r = try CLI.run(["run", dir.appendingPathComponent(file).path, "--input", dir.appendingPathComponent("input.npy").path,
                                 "--output-dir", out.path, "--top", "0"])
            #expect(r.status == 0, "\(name)/\(file): \(r.stderr)")
            guard r.status == 0 else { continue }
            let written = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".npy") }
            #expect(written.count == 1, "\(name)/\(file): outputs \(written)")
            guard let first = written.first else { continue }
            let reference = try NumPy.read(path: dir.appendingPathComponent("output.npy").path)
            expectClose(try NumPy.read(path: out.appendingPathComponent(first).path), reference,
                        scaledTolerance: DigitsModelTests.kerasTolerance, "\(name)/\(file)")
        }
    }

    /// The imported graph counts Keras's `count_params()`, and the references are not degenerate
    /// (the two inputs of the batch give different outputs).
    @Test func parametersAndReferences() throws {
        if let failure = Self.generated { Issue.record(Comment(rawValue: failure)); return }
        for name in Self.wanted {
            let dir = Self.cache.appendingPathComponent(name)
            let meta = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("meta.json")))
                as? [String: Any])
            let graph = try KerasImporter.load(path: dir.appendingPathComponent("model.keras").path)
            #expect(graph.parameterCount == meta["count_params"] as? Int, "\(name): parameters")
            let reference = try NumPy.read(path: dir.appendingPathComponent("output.npy").path).floats()
            let half = reference.count / 2
            let spread = zip(reference[..<half], reference[half...]).map { abs($0 - $1) }.max() ?? 0
            #expect(spread > 1e-3 * max(1, reference.map(abs).max() ?? 0), "\(name): both inputs give the same output")
        }
    }
}
