import ArgumentParser
import AscentIR
import AscentKeras
import Foundation

/// HDF5-based files (`.h5`, `.keras`) are parsed in a child process.
///
/// libhdf5 1.10 (Debian 12's) trusts sizes inside a file's global heap: a corrupt or
/// hostile file can make it read out of bounds and crash (found by Ascent's mutation
/// tests). So the CLI runs the Keras importer in a child `ascent _import`, which sends the
/// graph back as `.ascent` bytes on its standard output (an 8-byte length, then the file,
/// streamed from the tensors; the parent reads it into one aligned buffer the weights then
/// borrow, so the weights are copied once); a child that dies becomes a one-line error with
/// exit code 65, and nothing else is written anywhere. libhdf5 can also loop forever on a
/// corrupt file (found by fuzzing), so the child gets a deadline — 30 s plus 1 s per 10 MB of
/// file, `ASCENT_IMPORT_TIMEOUT=SECONDS` to override — after which it is killed and the file
/// refused (exit 65); and a child whose parent dies exits instead of running on.
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
        // The child compares its parent with this pid: read from getppid() in the child, a parent
        // that died before the child got that far would never be noticed.
        process.environment = ProcessInfo.processInfo.environment.merging(["ASCENT_IMPORT_PARENT": String(getpid())]) { $1 }
        do { try process.run() } catch {
            return try KerasImporter.load(path: path, configPath: config)  // no /proc: parse in process
        }
        // The deadline: kill a child that has not finished (its stdout then ends, so the read
        // below returns).
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let seconds = ProcessInfo.processInfo.environment["ASCENT_IMPORT_TIMEOUT"].flatMap(Double.init)
            ?? 30 + Double(size) / 10_000_000
        let timedOut = DeadlineFlag()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem {
            timedOut.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        defer { watchdog.cancel() }
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let received = ReceivedFile(reading: out.fileHandleForReading.fileDescriptor)
        group.wait()
        process.waitUntilExit()
        let message = String(decoding: errData, as: UTF8.self)
            .split(separator: "\n").last.map(String.init)?
            .replacingOccurrences(of: "ascent: ", with: "", options: .anchored) ?? ""
        watchdog.cancel()
        if timedOut.isSet {
            throw AscentError(.invalidData, file: path,
                              String(format: "reading this file did not finish in %.0f s (the HDF5 library loops on it): it is corrupt", seconds))
        }
        if process.terminationReason == .uncaughtSignal {
            throw AscentError(.invalidData, file: path,
                              "the HDF5 library crashed reading this file (signal \(process.terminationStatus)): it is corrupt")
        }
        switch process.terminationStatus {
        case 0:
            guard let received else {
                throw AscentError(.internal, file: path, "the import child exited without sending the whole graph")
            }
            return try AscentFile.decode(borrowing: received.bytes, owner: received, name: path)
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
            // Exit when the parent is gone (killed, say), instead of running on alone.
            let parent = ProcessInfo.processInfo.environment["ASCENT_IMPORT_PARENT"].flatMap { pid_t($0) } ?? getppid()
            let orphanWatch = DispatchSource.makeTimerSource()
            orphanWatch.schedule(deadline: .now() + 1, repeating: 1)
            orphanWatch.setEventHandler { if getppid() != parent { _exit(70) } }
            orphanWatch.resume()
            try reportingErrors {
                let graph = try KerasImporter.load(path: model, configPath: config)
                var total = 0
                try AscentFile.stream(graph) { total += $0.count }
                var length = UInt64(total).littleEndian
                try withUnsafeBytes(of: &length) { try writeAll($0) }
                try AscentFile.stream(graph) { try writeAll($0) }
            }
        }
    }
}

/// Writes all of `bytes` to standard output.
private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < bytes.count {
        let n = write(1, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw AscentError(.internal, "cannot write the imported graph to the parent process (errno \(errno))")
        }
        done += n
    }
}

/// The `.ascent` bytes a child sent: an 8-byte little-endian length, then that many bytes, read
/// into one 64-byte-aligned buffer that the decoded tensors borrow. Nil when the stream ends
/// early (the child failed; its exit status says why).
final class ReceivedFile: @unchecked Sendable {
    let storage: UnsafeMutableRawBufferPointer
    let count: Int
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage.baseAddress, count: count) }

    init?(reading fd: Int32) {
        var length: UInt64 = 0
        let got = withUnsafeMutableBytes(of: &length) { ReceivedFile.readFully(fd, $0) }
        // Our own child sends this; a length beyond any real model means a broken stream.
        guard got == 8, UInt64(littleEndian: length) < 1 << 40 else { ReceivedFile.drain(fd); return nil }
        count = Int(UInt64(littleEndian: length))
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        guard ReceivedFile.readFully(fd, UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])) == count else {
            storage.deallocate()
            ReceivedFile.drain(fd)
            return nil
        }
    }

    deinit { storage.deallocate() }

    /// Reads until `buffer` is full or the stream ends; returns the bytes read.
    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
        var done = 0
        while done < buffer.count {
            let n = read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return done
    }

    /// Reads and drops the rest of the stream, so the child never blocks on a full pipe.
    private static func drain(_ fd: Int32) {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while scratch.withUnsafeMutableBytes({ read(fd, $0.baseAddress!, $0.count) }) > 0 {}
    }
}

/// A flag set from one thread and read from another.
final class DeadlineFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
