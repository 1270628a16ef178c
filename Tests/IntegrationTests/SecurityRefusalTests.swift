import AscentIR
@testable import AscentKeras
import AscentTestSupport
import Foundation
import Testing

/// The refusals of the README's Security section that HostileInputTests, ONNXTensorImportTests and
/// HDF5EdgeCaseTests do not show: each on a real file of its format (written by
/// `Tools/fuzz-targets/regression_inputs.py` into `Fixtures/fuzz/`, which Python's zipfile, h5py
/// and NumPy read back), through the command line a user runs — exit 65, one line naming the file
/// and the reason.
@Suite struct SecurityRefusalTests {
    static let refusals: [(file: String, message: String)] = [
        ("keras-zip/refused-zip64.keras", "ZIP64 archives are not supported"),
        ("keras-zip/refused-encrypted.keras", "entry 'config.json' is encrypted"),
        ("keras-zip/refused-bzip2.keras", "entry 'config.json': compression method 12 is not supported"),
        ("keras-zip/refused-nested-33.keras", "(Sequential): models are nested more than 32 deep"),
        ("keras-h5/refused-nested-33.h5", "(Sequential): models are nested more than 32 deep"),
        ("keras-h5/refused-lzf-filter.h5", "/model_weights/fc1/fc1/kernel: can't read data (filter plugins disabled)"),
        ("keras-h5/refused-8gib-weight.h5", "/model_weights/fc1/fc1/kernel: 2147483648 elements of 4 bytes exceed the 4294967296-byte limit"),
    ]

    @Test(arguments: refusals.map(\.file))
    func kerasFileIsRefused(_ file: String) throws {
        let message = try #require(Self.refusals.first { $0.file == file }?.message)
        let path = "Fixtures/fuzz/\(file)"
        let r = try CLI.run(["inspect", path])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("ascent: \(path): ") && r.stderr.hasSuffix(message + "\n"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test(arguments: [
        ("refused-2-to-40.npy", "data is truncated: float32[1099511627776] needs 4398046511104 bytes, the file has 16"),
        ("refused-object.npy", "dtype '|O' is not supported (object arrays need pickle)"),
        ("refused-fortran.npy", "Fortran-ordered arrays are not supported; save with np.ascontiguousarray"),
    ])
    func npyFileIsRefused(_ file: String, _ message: String) throws {
        let path = "Fixtures/fuzz/npy/\(file)"
        let e = try #require(throws: AscentError.self) { try NumPy.read(path: path) }
        #expect(e.kind == .invalidData && e.message == message, "\(e)")
        let r = try CLI.run(["run", "Fixtures/keras/mlp/model.h5", "--input", path])
        #expect(r.status == 65 && r.stderr == "ascent: \(path): \(message)\n", "\(r.stderr)")
    }

    // MARK: - Keras nesting: 32 models below the top one load, 33 do not

    /// A store for models without weights.
    struct NoWeights: KerasWeightStore {
        func weights(forLayer name: String, scope: [String]) throws -> [Tensor] { [] }
    }

    /// A Sequential holding a Sequential ...: `nesting` models below the top one, a ReLU innermost
    /// (the same config as `nested_sequential` in regression_inputs.py).
    static func nested(_ nesting: Int) throws -> JSONValue {
        var inner = #"{"class_name": "ReLU", "config": {"name": "relu", "dtype": "float32"}}"#
        for level in (0...nesting).reversed() {
            inner = #"{"class_name": "Sequential", "config": {"name": "s\#(level)", "layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "s\#(level)_in"}}, \#(inner)]}}"#
        }
        return try JSONValue.parse(inner, what: "config")
    }

    @Test func kerasModelsNestAtMost32Deep() throws {
        let deepest = try KerasImporter.build(config: try Self.nested(32), weights: NoWeights(), metadata: [:])
        #expect(deepest.nodes.map(\.op) == ["Relu"])
        let e = try #require(throws: AscentError.self) {
            try KerasImporter.build(config: try Self.nested(33), weights: NoWeights(), metadata: [:])
        }
        #expect(e.message == "models are nested more than 32 deep", "\(e)")
    }

    // MARK: - Graphs hold at most 1,000,000 nodes

    /// One node value repeated (copies share their strings), so the big graph costs little memory.
    static func chain(_ count: Int) -> Graph {
        let node = Node(name: "n", op: "Relu", inputs: ["x"], outputs: ["y"])
        return Graph(name: "big", inputs: [ValueInfo(name: "x", type: ValueType(.float32, [1]))],
                     outputs: [ValueInfo(name: "y", type: ValueType(.float32, [1]))],
                     nodes: Array(repeating: node, count: count))
    }

    @Test func graphsOverAMillionNodesAreRefused() throws {
        #expect(Graph.Limits().maxNodes == 1_000_000)
        let over = try #require(throws: AscentError.self) { try Self.chain(1_000_001).validate() }
        #expect(over.kind == .invalidData && over.message == "graph has 1000001 nodes, more than the limit of 1000000", "\(over)")
        // At the limit the count passes; the million copies then fail on their repeated output.
        let at = try #require(throws: AscentError.self) { try Self.chain(1_000_000).validate() }
        #expect(!at.message.contains("limit"), "\(at)")
    }

    // MARK: - HDF5 filter plugins are never loaded

    /// A shared library whose constructor writes a marker file, planted in `HDF5_PLUGIN_PATH`: the
    /// import child refuses the LZF-compressed weights without loading it. As a control, a small
    /// C program reading the same dataset with libhdf5's defaults does load it.
    @Test func hdf5FilterPluginsAreNeverLoaded() throws {
        let dir = try TestPaths.temporaryDirectory("plugins")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plugins = dir.appendingPathComponent("plugins"), marker = dir.appendingPathComponent("loaded")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        let source = dir.appendingPathComponent("plugin.c")
        try """
            #include <stdio.h>
            #include <stdlib.h>
            __attribute__((constructor)) static void loaded(void) {
                FILE *f = fopen(getenv("ASCENT_TEST_PLUGIN_MARKER"), "w");
                if (f) { fputs("loaded\\n", f); fclose(f); }
            }
            """.write(to: source, atomically: true, encoding: .utf8)
        try Self.compile(["-shared", "-fPIC", source.path, "-o", plugins.appendingPathComponent("libmarker.so").path])
        let environment = ["HDF5_PLUGIN_PATH": plugins.path, "ASCENT_TEST_PLUGIN_MARKER": marker.path]
        let file = TestPaths.fixture("fuzz/keras-h5/refused-lzf-filter.h5").path

        let r = try CLI.run(["inspect", file], environment: environment)
        #expect(r.status == 65 && r.stderr.contains("filter plugins disabled"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "the plugin was loaded")

        // The control: libhdf5 with its defaults searches HDF5_PLUGIN_PATH and loads the library.
        let control = dir.appendingPathComponent("control.c")
        try """
            #include <hdf5.h>
            int main(int argc, char **argv) {
                hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
                hid_t d = H5Dopen2(f, "/model_weights/fc1/fc1/kernel", H5P_DEFAULT);
                float buffer[20 * 32];
                H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
                return H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0 ? 1 : 0;
            }
            """.write(to: control, atomically: true, encoding: .utf8)
        let binary = dir.appendingPathComponent("control").path
        try Self.compile([control.path, "-I/usr/include/hdf5/serial", "-L/usr/lib/x86_64-linux-gnu/hdf5/serial", "-lhdf5", "-o", binary])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [file]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "the control read LZF data it has no filter for")
        #expect(FileManager.default.fileExists(atPath: marker.path), "libhdf5's defaults did not load the plugin: the check above proves nothing")
    }

    /// Runs clang (part of the Swift toolchain, as Tools/fuzz uses it); a failure fails the test.
    static func compile(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["clang"] + arguments
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        let errors = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "clang \(arguments.joined(separator: " ")): \(errors)")
    }

    // MARK: - The orphaned import child

    /// The parent `ascent` killed while its HDF5 import child is stuck in a libhdf5 endless loop
    /// (the fuzzer's file): the child notices and exits on its own. Its watch runs every second;
    /// the bound here is generous because the machine may be loaded (no timing is asserted).
    @Test func anOrphanedImportChildExits() throws {
        let dir = try TestPaths.temporaryDirectory("orphan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hang.h5")
        try FileManager.default.copyItem(at: TestPaths.fixture("fuzz/libhdf5/hang-cc721f85.h5.bin"), to: file)
        let parent = Process()
        parent.executableURL = CLI.executable
        parent.arguments = ["inspect", file.path]
        parent.environment = ProcessInfo.processInfo.environment.merging(["ASCENT_IMPORT_TIMEOUT": "600"]) { $1 }
        parent.standardOutput = FileHandle.nullDevice
        parent.standardError = FileHandle.nullDevice
        try parent.run()
        defer { if parent.isRunning { kill(parent.processIdentifier, SIGKILL) } }
        // The child: `ascent _import <file>`, whose parent is the process started above.
        var child: pid_t?
        for _ in 0..<600 where child == nil {
            child = Self.processes().first { $0.parent == parent.processIdentifier && $0.command.contains("_import") }?.pid
            if child == nil { usleep(50_000) }
        }
        let pid = try #require(child, "no import child appeared")
        defer { kill(pid, SIGKILL) }
        #expect(Self.isAlive(pid), "the child should be stuck in libhdf5 until its parent dies")
        kill(parent.processIdentifier, SIGKILL)
        parent.waitUntilExit()
        var waited = 0
        while Self.isAlive(pid) && waited < 300 {
            usleep(100_000)
            waited += 1
        }
        #expect(!Self.isAlive(pid), "the orphaned import child still runs after \(waited / 10) s")
    }

    /// Running processes: pid, parent pid, command line.
    static func processes() -> [(pid: pid_t, parent: pid_t, command: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let parent = pid_t(fields[1]) else { return nil }
            let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
            return (pid, parent, command.replacingOccurrences(of: "\0", with: " "))
        }
    }

    /// Running, not gone and not a zombie waiting to be reaped.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return false
        }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }
}
