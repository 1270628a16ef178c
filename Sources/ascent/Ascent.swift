import ArgumentParser
import AscentIR
import Foundation

@main
struct Ascent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import, run and probe Keras and ONNX models.",
        discussion: """
        Exit codes: 0 ok, 64 usage, 65 invalid or unsupported model or data, \
        66 missing or unreadable file, 70 internal error.
        """,
        version: "0.1.0",
        subcommands: [Inspect.self, Convert.self, Run.self, Grad.self, Maximize.self, Bench.self, Import.self, Explain.self])
}

/// Runs a command body, turning library errors into the CLI contract: one line on
/// stderr and the exit code of the error's kind.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as AscentError {
        FileHandle.standardError.write(Data("ascent: \(error.description)\n".utf8))
        throw ExitCode(error.kind.exitCode)
    } catch let error as IsolatedImport.ChildError {
        FileHandle.standardError.write(Data("ascent: \(error.line)\n".utf8))
        throw ExitCode(error.kind.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("ascent: internal error: \(error)\n".utf8))
        throw ExitCode(AscentError.Kind.internal.exitCode)
    }
}

/// Writes text to standard output without buffering surprises.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
