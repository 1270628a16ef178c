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
        subcommands: [Inspect.self, Convert.self, Run.self, Grad.self, Maximize.self, Bench.self, Explain.self, ReportCommand.self, Import.self])

    static func main() {
        // A closed pipe on stdout (`ascent maximize ... | head -1`) must not kill the process
        // before its files are written: writes then fail with EPIPE, which `emit` ignores.
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }
}

/// Runs a command body, turning library errors into the CLI contract: one line on
/// stderr and the exit code of the error's kind.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as AscentError {
        note("ascent: \(error.description)")
        throw ExitCode(error.kind.exitCode)
    } catch let error as IsolatedImport.ChildError {
        note("ascent: \(error.line)")
        throw ExitCode(error.kind.exitCode)
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        note("ascent: internal error: \(error)")
        throw ExitCode(AscentError.Kind.internal.exitCode)
    }
}

/// Writes text to standard output, unbuffered. When the reader has gone (EPIPE), the text is
/// dropped and the command goes on: its files still get written.
func emit(_ text: String) {
    writeAll(1, text)
}

/// A line on stderr (notes that are not results).
func note(_ text: String) {
    writeAll(2, text + "\n")
}

/// Writes all of `text` to `fd`, giving up quietly when it is closed (EPIPE) or failing.
func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }  // EPIPE or another failure: nothing more can be shown there
        done += n
    }
}
