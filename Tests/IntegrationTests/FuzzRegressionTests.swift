import AscentImage
import AscentIR
@testable import AscentKeras
@testable import AscentONNX
@testable import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// Every input under `Fixtures/fuzz/<target>/` — crashes the fuzz targets found (`crash-*`,
/// fixed since) and the seeds kept there — goes through the same steps as its fuzz target in
/// Tools/fuzz-targets: import, validation, session creation and planning. Each must succeed or
/// be refused with an `AscentError` that is not `.internal`.
@Suite struct FuzzRegressionTests {
    static let targets = ["onnx", "keras-h5", "keras-zip", "keras-config", "npy", "ascent"]

    /// `<target>/<file>` for every committed input (a folder that cannot be listed is one input
    /// named for the problem, which fails).
    static let inputs: [String] = targets.flatMap { target -> [String] in
        TestPaths.list("fuzz/\(target)").filter { !$0.hasSuffix(".md") }.map { "\(target)/\($0)" }
    }

    /// Every target has regression inputs, so every target's steps are replayed.
    @Test(arguments: targets)
    func everyTargetHasInputs(_ target: String) {
        #expect(Self.inputs.contains { $0.hasPrefix("\(target)/") && !$0.contains("<cannot list") }, "Fixtures/fuzz/\(target) has no inputs")
    }

    @Test func theFixedCrashIsKept() {
        #expect(Self.inputs.contains("onnx/crash-concat-of-scalar.onnx"))
    }

    @Test(arguments: inputs)
    func isRefusedCleanlyOrPlanned(_ input: String) throws {
        let target = String(input.prefix { $0 != "/" })
        let bytes = [UInt8](try Data(contentsOf: TestPaths.fixture("fuzz/\(input)")))
        do {
            try Self.run(target, bytes)
        } catch let e as AscentError {
            #expect(e.kind == .invalidData || e.kind == .missingFile, "\(input): \(e)")
            #expect(!e.message.isEmpty)
        } catch let e as ONNXFileError {
            #expect(e.kind == .invalid, "\(input): \(e)")
        } catch let e as HDF5Error {
            #expect(target == "keras-config" && e.kind == .library, "\(input): \(e)")  // a weight the config names is missing
        } catch {
            Issue.record("\(input): not a typed error: \(error)")
        }
    }

    /// The fuzz target's steps (FuzzONNX.swift, FuzzKerasH5.swift...).
    static func run(_ target: String, _ bytes: [UInt8]) throws {
        switch target {
        case "onnx":
            let model = try ONNXModelProto.decode(bytes: bytes, fileName: "fuzz.onnx")
            try plan(try ONNXImporter.load(model: model, folder: TestPaths.fixture("onnx/external").path, fileName: "fuzz.onnx"))
        case "keras-h5", "keras-zip":
            try plan(try KerasImporter.load(bytes: bytes, name: "fuzz", archive: target == "keras-zip"))
        case "keras-config":  // FuzzKerasConfig.swift's model list, in order
            let models = ["cnn_bn", "misc_layers", "mlp", "nested", "residual", "separable", "shared", "text_conv1d", "two_in_two_out"]
            guard let first = bytes.first else { return }
            let weights = TestPaths.fixture("keras/\(models[Int(first) % models.count])/model.weights.h5").path
            let config = try JSONValue.parse(String(decoding: bytes.dropFirst(), as: UTF8.self), what: "architecture JSON")
            try plan(try KerasImporter.build(config: config, weights: try Keras3Weights(file: try HDF5File(path: weights)), metadata: [:]))
        case "npy":
            _ = try bytes.withUnsafeBytes { try NumPy.decode($0, fileName: "fuzz.npy") }
        default:
            try plan(try AscentFile.decode(bytes, name: "fuzz.ascent"))
        }
    }

    /// A session, then a plan with symbolic and unknown dims as 1 when the inputs are small.
    static func plan(_ graph: Graph) throws {
        let session = try Session(graph: graph, options: .init(threads: 1))
        var types: [Int: TensorType] = [:]
        for input in session.program.inputs where !input.hasDefault {
            guard let dims = input.info.type.shape?.dims.map({ $0.value ?? 1 }),
                  dims.allSatisfy({ $0 >= 0 }), dims.reduce(1.0, { $0 * Double($1) }) <= 65536 else { return }
            types[input.id] = TensorType(input.info.type.dtype == .float64 ? .float32 : input.info.type.dtype, dims)
        }
        _ = try Plan(program: session.program, inputTypes: types, context: ExecutionContext(threads: 1, pool: BufferPool()))
    }
}

/// Issue 9's refusals, each shown on a crafted file: what lies outside the model's folder or
/// archive is never read, and declared sizes are checked before anything is allocated.
@Suite struct HostileInputTests {
    /// A zip archive of `entries` (name, stored bytes, method, declared size), built by hand.
    static func zip(_ entries: [(name: String, data: [UInt8], method: UInt16, size: Int)]) -> [UInt8] {
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for e in entries {
            let name = Array(e.name.utf8), crc = Int(Zlib.crc32(e.data))
            let common = le(20, 2) + le(0, 2) + le(Int(e.method), 2) + le(0, 4) + le(crc, 4)
                + le(e.data.count, 4) + le(e.size, 4) + le(name.count, 2) + le(0, 2)
            directory += le(0x0201_4B50, 4) + le(20, 2) + common + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4)
                + le(out.count, 4) + name
            out += le(0x0403_4B50, 4) + common + name + e.data
        }
        return out + directory + le(0x0605_4B50, 4) + le(0, 4) + le(entries.count, 2) + le(entries.count, 2)
            + le(directory.count, 4) + le(out.count, 4) + le(0, 2)
    }

    static func kerasError(_ bytes: [UInt8]) throws -> AscentError {
        let dir = try TestPaths.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.keras").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try #require(throws: AscentError.self) { try KerasImporter.load(path: path) }
    }

    @Test(arguments: ["../config.json", "a/../../config.json", "/etc/passwd", "..\\config.json"])
    func zipEntriesOutsideTheArchiveAreRefused(_ name: String) throws {
        let e = try Self.kerasError(Self.zip([(name, Array("{}".utf8), 0, 2)]))
        #expect(e.kind == .invalidData && e.message == "entry '\(name)' has an absolute or parent-relative path", "\(e)")
    }

    /// A declared size over the cap is refused from the directory; a small declared size whose
    /// data inflates to more (the classic bomb: 64 MiB of zeros in ~64 KiB) stops at that size.
    @Test func zipBombsAreRefused() throws {
        let declared = try Self.kerasError(Self.zip([("config.json", [0x03, 0x00], 8, Int(UInt32.max))]))
        #expect(declared.message == "entry 'config.json' declares 4294967295 bytes, over the limit", "\(declared)")
        // The cap is 2 GiB: one byte more is refused from the directory.
        let over = try Self.kerasError(Self.zip([("config.json", [0x03, 0x00], 8, (2 << 30) + 1)]))
        #expect(over.message == "entry 'config.json' declares 2147483649 bytes, over the limit", "\(over)")
        // Under the cap, a size deflate cannot reach from the stored bytes (at most 1032:1) is refused
        // before the output buffer is made: 2 GiB from 2 bytes would otherwise be allocated.
        let unbacked = try Self.kerasError(Self.zip([("config.json", [0x03, 0x00], 8, 2 << 30)]))
        #expect(unbacked.message == "entry 'config.json' declares 2147483648 bytes from 2 compressed, more than deflate can expand to", "\(unbacked)")

        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        let bomb = try Zlib.deflate(zeros, level: 9, format: .raw)
        #expect(bomb.count < 128 << 10)
        let e = try Self.kerasError(Self.zip([("config.json", bomb, 8, 1024)]))
        #expect(e.kind == .invalidData && e.message.hasPrefix("entry 'config.json': cannot inflate"), "\(e)")
    }

    @Test func externalDataClimbingToEtcPasswdIsRefusedUnopened() throws {
        let dir = try TestPaths.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = ONNXTensorProto(name: "w", dataType: 1, dims: [2], dataLocation: .external,
                                externalData: [ONNXStringPair(key: "location", value: "../../etc/passwd")])
        let model = ONNXModelProto(irVersion: 8, opsetImports: [ONNXOperatorSet(version: 17)],
                                   graph: ONNXGraphProto(name: "g", initializers: [w],
                                                         outputs: [ONNXValueInfoProto(name: "w", elemType: 1)]))
        let path = dir.appendingPathComponent("m.onnx").path
        try Data(try model.encode()).write(to: URL(fileURLWithPath: path))
        let e = try #require(throws: AscentError.self) { try ONNXImporter.load(path: path) }
        #expect(e.kind == .invalidData)
        #expect(e.description == "\(path): initializer 'w': external data '../../etc/passwd': the location contains '..'; external data must be inside the model's folder")
    }

    /// A `.npy` header declaring 2^40 float32 elements over 16 bytes of data: refused from the
    /// header, before a buffer is made (an allocation of 4 TiB would fail or abort instead).
    @Test func aDeclaredDimensionOf2To40IsRefusedWithoutAllocating() throws {
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (\(1 << 40),), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
            + header + [UInt8](repeating: 0, count: 16)
        let e = try #require(throws: AscentError.self) { try bytes.withUnsafeBytes { try NumPy.decode($0, fileName: "big.npy") } }
        #expect(e.kind == .invalidData && e.message.contains("1099511627776"), "\(e)")
    }
}
