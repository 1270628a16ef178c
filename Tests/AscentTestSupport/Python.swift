import Foundation

/// Runs the reference Python (NumPy, safetensors...) that some tests use to cross-check
/// Ascent's outputs with the tools that define the formats.
///
/// The interpreter is `$ASCENT_PYTHON`, else `.venv-test/bin/python` (made by `Tools/pyenv`),
/// else `python3`. A test that needs it fails, never skips, when it is missing: the README's
/// test command provides it.
public enum ReferencePython {
    public static var executable: String {
        if let env = ProcessInfo.processInfo.environment["ASCENT_PYTHON"], !env.isEmpty { return env }
        let venv = TestPaths.root.appendingPathComponent(".venv-test/bin/python").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        return "/usr/bin/env"
    }

    /// Runs `python arguments...`; returns the exit status and the combined output.
    public static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        let exe = executable
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = exe == "/usr/bin/env" ? ["python3"] + arguments : arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs a script under `Tools/`, e.g. `script("checks/read_safetensors.py", [path])`.
    public static func script(_ relative: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try run([TestPaths.root.appendingPathComponent("Tools").appendingPathComponent(relative).path] + arguments)
    }
}
