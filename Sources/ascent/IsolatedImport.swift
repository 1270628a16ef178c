import ArgumentParser
import AscentIR
import AscentKeras
import Foundation

/// HDF5-based files (`.h5`, `.keras`) are parsed in a child process.
///
/// libhdf5 1.10 (Debian 12's) trusts sizes inside a file's global heap: a corrupt or
/// hostile file can make it read out of bounds and crash (found by Ascent's mutation
/// tests). So the CLI runs the Keras importer in a child `ascent _import`, which sends the
/// graph back as `.ascent` bytes on its standard output; a child that dies becomes a
/// one-line error with exit code 65, and nothing else is written anywhere.
/// `ASCENT_IMPORT_IN_PROCESS=1` turns the isolation off.
enum IsolatedImport {
    static func keras(path: String, config: String?) throws -> Graph {
        if ProcessInfo.processInfo.environment["ASCENT_IMPORT_IN_PROCESS"] == "1" {
            return try KerasImporter.load(path: path, configPath: config)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["_import", path] + (config.map { ["--config", $0] } ?? [])
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return try KerasImporter.load(path: path, configPath: config)  // no /proc: parse in process
        }
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let bytes = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        let message = String(decoding: errData, as: UTF8.self)
            .split(separator: "\n").last.map(String.init)?
            .replacingOccurrences(of: "ascent: ", with: "", options: .anchored) ?? ""
        if process.terminationReason == .uncaughtSignal {
            throw AscentError(.invalidData, file: path,
                              "the HDF5 library crashed reading this file (signal \(process.terminationStatus)): it is corrupt")
        }
        switch process.terminationStatus {
        case 0:
            return try AscentFile.decode([UInt8](bytes), name: path)
        case 66:
            throw ChildError(kind: .missingFile, line: message)
        case 64:
            throw ChildError(kind: .usage, line: message)
        default:
            throw ChildError(kind: .invalidData, line: message)
        }
    }

    /// An error line already formatted by the child (file name and context included).
    struct ChildError: Error { var kind: AscentError.Kind; var line: String }
}

extension Ascent {
    /// `ascent _import MODEL [--config C]`: the child side of ``IsolatedImport``.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "_import", shouldDisplay: false)

        @Argument var model: String
        @Option var config: String?

        func run() throws {
            try reportingErrors {
                let graph = try KerasImporter.load(path: model, configPath: config)
                let bytes = try AscentFile.encode(graph)
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }
}
