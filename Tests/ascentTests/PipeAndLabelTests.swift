import AscentImage
import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// A closed stdout does not lose the files; class names reach captions and printed classes.
@Suite struct PipeTests {
    /// `ascent maximize ... | head -c 1`, as a user types it: the picture is still written and
    /// ascent exits 0 (bash's PIPESTATUS).
    @Test func headDoesNotLoseThePicture() throws {
        let dir = try TestPaths.temporaryDirectory("pipe")
        let png = dir.appendingPathComponent("p.png").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "'\(CLI.executable.path)' maximize Fixtures/digits/digits.h5 --targets logit:0-2 --steps 3 "
                             + "--output '\(png)' | head -c 1 > /dev/null; echo \"${PIPESTATUS[0]}\""]
        process.currentDirectoryURL = TestPaths.root
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(printed == "0\n")
        #expect(try PNG.read(path: png).width > 16)
    }

    /// The same with a reader that is gone before anything is written (deterministic EPIPE).
    @Test func aClosedPipeIsNotFatal() throws {
        let dir = try TestPaths.temporaryDirectory("pipe")
        let png = dir.appendingPathComponent("p.png").path, log = dir.appendingPathComponent("t.json").path
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["maximize", "Fixtures/digits/digits.onnx", "--target", "logit:3", "--steps", "3",
                             "--output", png, "--log", log]
        process.currentDirectoryURL = TestPaths.root
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try out.fileHandleForReading.close()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(try PNG.read(path: png).width == 16)
        #expect(FileManager.default.fileExists(atPath: log))
    }
}

@Suite struct LabelTests {
    static let names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    static func labelsFile() throws -> String {
        let path = try TestPaths.temporaryDirectory("labels").appendingPathComponent("digits.txt").path
        try (names.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func runPrintsClassNames() throws {
        let r = try CLI.run(["run", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_7.png", "--top", "2",
                             "--labels", try Self.labelsFile()])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").dropFirst().first?.hasPrefix("  [0] top 2: 7 seven (") == true, "\(r.stdout)")
    }

    @Test func maximizePrintsAndDrawsClassNames() throws {
        let dir = try TestPaths.temporaryDirectory("labels")
        let grid = dir.appendingPathComponent("g.png").path, plain = dir.appendingPathComponent("p.png").path
        let args = ["maximize", "Fixtures/digits/digits.h5", "--targets", "logit:2-3", "--steps", "30", "--output"]
        let r = try CLI.run(args + [grid, "--labels", try Self.labelsFile()])
        #expect(r.status == 0, "\(r.stderr)")
        // `logit:3 (three) → class K name-of-K (p = ...)`.
        for (k, target) in [(2, "logit:2 (two)"), (3, "logit:3 (three)")] {
            let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix(target + " → class ") }, "\(k): \(r.stdout)")
            let words = line.dropFirst(target.count + " → class ".count).split(separator: " ")
            let best = try #require(words.first.flatMap { Int($0) })
            #expect(words.dropFirst().first.map(String.init) == Self.names[best] && words.dropFirst(2).first == "(p", "\(line)")
        }
        // The captions carry the names: the caption strip differs from the one without labels,
        // and the pictures above it do not.
        _ = try CLI.run(args + [plain])
        let (a, b) = (try PNG.read(path: grid), try PNG.read(path: plain))
        #expect(a.width == b.width && a.height == b.height)
        let captionTop = 6 + 96
        #expect(a.pixels[..<(captionTop * a.width)] == b.pixels[..<(captionTop * b.width)])
        #expect(a.pixels[(captionTop * a.width)...] != b.pixels[(captionTop * b.width)...])
    }

    /// Names in the model's own metadata (ONNX metadata_props, as Ultralytics writes `names`),
    /// written by the onnx library.
    @Test func onnxMetadataNamesAreUsed() throws {
        let dir = try TestPaths.temporaryDirectory("labels")
        let model = dir.appendingPathComponent("digits.onnx").path
        let dict = "{" + Self.names.enumerated().map { "\($0.offset): '\($0.element)'" }.joined(separator: ", ") + "}"
        let made = try ReferencePython.script("checks/onnx_with_metadata.py",
                                              [TestPaths.fixture("digits/digits.onnx").path, model, "names", dict])
        try #require(made.status == 0, "\(made.output)")
        let r = try CLI.run(["run", model, "--input", "Fixtures/digits/sample_3.png", "--top", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  [0] top 1: 3 three ("), "\(r.stdout)")
        // A --labels file wins over the model's names.
        let other = dir.appendingPathComponent("other.txt").path
        try (0..<10).map { "class-\($0)" }.joined(separator: "\n").write(toFile: other, atomically: true, encoding: .utf8)
        let overridden = try CLI.run(["run", model, "--input", "Fixtures/digits/sample_3.png", "--top", "1", "--labels", other])
        #expect(overridden.stdout.contains("  [0] top 1: 3 class-3 ("), "\(overridden.stdout)")
    }
}
