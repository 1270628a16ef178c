import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// Tensor data: every encoding and element type, bad tensors, external data.
@Suite struct ONNXTensorImportTests {
    static let encodings = [
        "f32_typed", "f32_raw", "f32_scalar", "f32_empty", "f16_typed", "f16_raw", "bf16_typed", "bf16_raw",
        "f64_typed", "f64_raw", "i8_typed", "i8_raw", "i16_typed", "i16_raw", "i32_typed", "i32_raw",
        "i64_typed", "i64_raw", "u8_typed", "u8_raw", "u16_typed", "u16_raw", "u32_typed", "u32_raw",
        "u64_typed", "u64_raw", "bool_typed", "bool_raw",
    ]

    @Test func everyEncodingGivesNumPysValues() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("encodings.onnx"))
        #expect(g.initializers.count == Self.encodings.count)
        for name in Self.encodings {
            let t = try #require(g.initializers[name], "\(name)")
            // The references hold NumPy's float32 (floating types) or int64 (unsigned) forms of the values.
            let expected = try ONNXFixtures.npy("encodings/\(name).npy")
            #expect(t.converted(to: expected.dtype).bitwiseEqual(expected), "\(name): \(t) \(t.doubles()) vs \(expected) \(expected.doubles())")
        }
        // Every type arrives as itself.
        #expect(g.initializers["bf16_raw"]?.dtype == .bfloat16 && g.initializers["f64_typed"]?.dtype == .float64)
        #expect(g.initializers["f16_typed"]?.dtype == .float16 && g.initializers["u16_raw"]?.dtype == .uint16)
        #expect(g.initializers["u32_typed"]?.dtype == .uint32)
        #expect(g.initializers["u64_typed"]?.scalars(as: UInt64.self) == [0, 1, UInt64(Int64.max), 1 << 40])
        #expect(g.initializers["f32_scalar"]?.shape == [] && g.initializers["f32_empty"]?.shape == [0, 3])
    }

    @Test(arguments: [
        ("bad_string", "initializer 'names': string tensors are not supported"),
        ("bad_raw_size", "initializer 'w': float32[2,3] needs 24 bytes of data, raw_data holds 20"),
        ("bad_typed_count", "initializer 'w': float32[2,3] declares 6 elements but has 5 values in float_data"),
        ("bad_no_data", "initializer 'w': float32[4] declares 4 elements but holds no data (no raw_data, empty float_data)"),
        ("bad_negative_dim", "initializer 'w': dims [-1, 2] hold a negative size"),
        ("bad_overflow", "initializer 'w': dims [4611686018427387904, 4] overflow"),
        ("bad_complex", "initializer 'z': element type complex64 is not supported"),
    ])
    func badTensorsAreErrorsNamingTheTensor(file: String, message: String) throws {
        let path = ONNXFixtures.path("\(file).onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .invalidData && error.file == path)
        #expect(error.description == "\(path): \(message)")
    }

    /// uint64 is a real dtype: a value above Int64.max (once refused) imports as itself.
    @Test func uint64AboveInt64MaxImports() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("bad_uint64.onnx"))
        #expect(g.initializers["big"]?.scalars(as: UInt64.self) == [1, 1 << 63])
    }

    // MARK: - External data

    @Test func externalDataIsMappedAndBorrowed() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("external/good.onnx"))
        for name in ["ext_a", "ext_b", "ext_c", "ext_d", "ext_e"] {
            let t = try #require(g.initializers[name], "\(name)")
            let expected = try ONNXFixtures.npy("external/\(name).npy")
            #expect(t.converted(to: expected.dtype).bitwiseEqual(expected), "\(name): \(t.doubles())")
        }
        // Aligned tensors borrow the mapped file (every type is kept as stored); the others are copies.
        let borrowed = Dictionary(uniqueKeysWithValues: g.initializers.map { ($0.key, $0.value.storage.isBorrowed) })
        #expect(borrowed == ["ext_a": true, "ext_b": true, "ext_c": true, "ext_d": false, "ext_e": true])
        #expect(g.initializers["ext_a"]?.storage.owner === g.initializers["ext_c"]?.storage.owner)
    }

    @Test func aSymlinkInsideTheFolderIsFollowed() throws {
        let g = try ONNXImporter.load(path: ONNXFixtures.path("external/linked.onnx"))
        #expect(try #require(g.initializers["ext_linked"]).bitwiseEqual(try ONNXFixtures.npy("external/ext_linked.npy")))
    }

    @Test(arguments: [
        ("absolute", "external data '/etc/passwd': the location is an absolute path; external data must be inside the model's folder"),
        ("dotdot", "external data '../outside.bin': the location contains '..'; external data must be inside the model's folder"),
        ("symlink", "external data 'escape_link.bin': the location resolves outside the model's folder (to "),
        ("past_end", "external data 'weights.bin': offset 60 + length 24 runs past the end of the file (71 bytes)"),
        ("bad_length", "external data 'weights.bin': length 20 does not match the 24 bytes float32[2,3] needs"),
        ("negative_offset", "external data 'weights.bin': offset '-8' is not a non-negative integer"),
    ])
    func refusedExternalData(file: String, message: String) throws {
        let path = ONNXFixtures.path("external/\(file).onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .invalidData && error.file == path)
        #expect(error.description.hasPrefix("\(path): initializer 'w': \(message)"), "\(error)")
        if file == "symlink" { #expect(error.description.hasSuffix("/Fixtures/onnx/outside.bin)")) }
    }

    @Test func missingExternalFileIsMissing() throws {
        let path = ONNXFixtures.path("external/missing.onnx")
        let error = try ONNXFixtures.importError(path)
        #expect(error.kind == .missingFile && error.file == path)
        #expect(error.description.hasPrefix("\(path): initializer 'w': external data 'absent.bin': the file "))
        #expect(error.description.hasSuffix("/absent.bin: no such file or directory"))
    }

    /// The folder checks in isolation: nothing outside the folder is reachable, whatever the spelling.
    @Test func locationsAreConfinedToTheFolder() throws {
        let external = ONNXExternalData(folder: ONNXFixtures.path("external"))
        for location in ["", "/etc/passwd", "..", "../outside.bin", "sub/../weights.bin", "..\\outside.bin",
                         "escape_link.bin", ".", "./", "weights.bin\0x"] {
            #expect(throws: AscentError.self, "\(location.debugDescription)") { try external.resolve(location) }
        }
        #expect(try external.resolve("./weights.bin").hasSuffix("/Fixtures/onnx/external/weights.bin"))
        #expect(try external.resolve("inside_link.bin") == (try external.resolve("weights.bin")))
    }
}
