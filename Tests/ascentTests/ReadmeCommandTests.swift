import AscentTestSupport
import Foundation
import Testing

extension ReadmeExampleTests {
    /// The README's commands: every line of its code (indented blocks, `bash` and `yaml` blocks —
    /// not `text` synopses, outputs or Swift) that runs `ascent`, split at `&&`, in order, with
    /// `ascent` the built executable on the PATH, from a folder holding `Fixtures` and `docs`
    /// (so the README's own files are not rewritten). `Tools/install` itself is what puts
    /// `ascent` there; CI runs it (Tools/test). Scheduler recipes run once per task index.
    static func commands(in readme: String) -> [String] {
        var out: [String] = []
        var fence: String?
        var pending = ""
        for raw in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("```") {
                fence = fence == nil ? String(line.dropFirst(3)) : nil
                continue
            }
            let code = fence.map { ["bash", "yaml", "sh"].contains($0) } ?? raw.hasPrefix("    ")
            guard code else { continue }
            let full = pending + line
            if full.hasSuffix("\\") { pending = String(full.dropLast()); continue }
            pending = ""
            for part in full.components(separatedBy: " && ") where part.hasPrefix("ascent ") || part.hasPrefix("mkdir -p ") {
                out.append(part)
            }
        }
        return out
    }

    @Test func everyCommandRunsAsWritten() throws {
        let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let commands = Self.commands(in: readme)
        #expect(commands.first == "ascent maximize Fixtures/digits/digits.onnx --target logit:3 --output digit3.png")
        #expect(commands.contains { $0.contains("$SLURM_ARRAY_TASK_ID") } && commands.contains { $0.contains("$JOB_COMPLETION_INDEX") })
        #expect(commands.count >= 8, "\(commands)")

        let dir = try TestPaths.temporaryDirectory("readme")
        let fm = FileManager.default
        try fm.createSymbolicLink(at: dir.appendingPathComponent("Fixtures"), withDestinationURL: TestPaths.root.appendingPathComponent("Fixtures"))
        try fm.createDirectory(at: dir.appendingPathComponent("docs"), withIntermediateDirectories: true)
        try fm.copyItem(at: TestPaths.root.appendingPathComponent("docs/digits-labels.txt"), to: dir.appendingPathComponent("docs/digits-labels.txt"))
        let path = CLI.executable.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        for command in commands {
            let indexed = command.contains("$SLURM_ARRAY_TASK_ID") || command.contains("$JOB_COMPLETION_INDEX")
            for task in indexed ? Array(0..<4) : [0] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/bash")
                process.arguments = ["-c", command]
                process.currentDirectoryURL = dir
                process.environment = ProcessInfo.processInfo.environment.merging(
                    ["PATH": path, "SLURM_ARRAY_TASK_ID": "\(task)", "JOB_COMPLETION_INDEX": "\(task)"]) { $1 }
                let err = Pipe()
                process.standardOutput = FileHandle.nullDevice
                process.standardError = err
                try process.run()
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "\(command) (task \(task)): \(stderr)")
            }
        }
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("digits-report/index.html").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("reports/conv2/index.html").path))
    }
}
