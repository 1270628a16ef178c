import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// One entry of `Fixtures/npy/manifest.json` (written by `Tools/fixtures/npy_cases.py`).
private struct NpyCase: Decodable {
    var dtype: String
    var byteorder: String
    var shape: [Int]
    var values: [NpyValue]
}

/// A manifest value: a JSON bool, number (kept both as an exact integer, when it is one, and
/// as a double, so that 2^63-1 and -0.0 both survive), or one of "nan", "inf", "-inf".
private enum NpyValue: Decodable {
    case bool(Bool), number(Int64?, Double?), special(String)

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        let i = try? c.decode(Int64.self), d = try? c.decode(Double.self)
        self = i == nil && d == nil ? .special(try c.decode(String.self)) : .number(i, d)
    }

    var double: Double? {
        switch self {
        case .bool: return nil
        case .number(let i, let d): return d ?? i.map(Double.init)
        case .special("nan"): return .nan
        case .special("inf"): return .infinity
        case .special("-inf"): return -.infinity
        case .special: return nil
        }
    }
}

private let npyDirectory = TestPaths.fixture("npy")

private func loadManifest() throws -> [String: NpyCase] {
    let data = try Data(contentsOf: npyDirectory.appendingPathComponent("manifest.json"))
    return try JSONDecoder().decode([String: NpyCase].self, from: data)
}

/// Checks dtype, shape and every value (bit-exact for floats, including NaN and -0.0).
private func expectMatches(_ tensor: Tensor, _ spec: NpyCase, _ name: String) {
    #expect(tensor.dtype.rawValue == spec.dtype, "\(name): dtype")
    #expect(tensor.shape == spec.shape, "\(name): shape")
    guard tensor.count == spec.values.count else {
        Issue.record("\(name): \(tensor.count) elements, manifest has \(spec.values.count)")
        return
    }
    switch tensor.dtype {
    case .bool:
        let got = tensor.scalars(as: Bool.self)
        for (i, value) in spec.values.enumerated() {
            guard case .bool(let want) = value, got[i] == want else {
                Issue.record("\(name)[\(i)]: \(got[i]) != \(value)")
                return
            }
        }
    case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
        let got = tensor.int64s()
        for (i, value) in spec.values.enumerated() {
            guard case .number(let want?, _) = value, got[i] == want else {
                Issue.record("\(name)[\(i)]: \(got[i]) != \(value)")
                return
            }
        }
    default:
        let got = tensor.doubles()
        for (i, value) in spec.values.enumerated() {
            guard let want = value.double else {
                Issue.record("\(name)[\(i)]: manifest value \(value) is not a number")
                return
            }
            let same = want.isNaN ? got[i].isNaN : (got[i] == want && got[i].sign == want.sign)
            if !same {
                Issue.record("\(name)[\(i)]: \(got[i]) != \(want)")
                return
            }
        }
    }
}

/// Decodes `bytes`, returning the AscentError it throws (or nil when it decodes).
private func decodeError(_ bytes: [UInt8], _ name: String = "test.npy") -> AscentError? {
    do {
        _ = try bytes.withUnsafeBytes { try NumPy.decode($0, fileName: name) }
        return nil
    } catch let error as AscentError {
        return error
    } catch {
        Issue.record("\(name): non-Ascent error \(error)")
        return nil
    }
}

/// A `.npy` file with the given raw header text (padded as NumPy does) and payload.
private func npyFile(_ header: String, version: UInt8 = 1, payload: [UInt8]) -> [UInt8] {
    let prelude = version == 1 ? 10 : 12
    var text = Array(header.utf8)
    while (prelude + text.count + 1) % 64 != 0 { text.append(0x20) }
    text.append(0x0A)
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    for i in 0..<(prelude - 8) { out.append(UInt8(truncatingIfNeeded: text.count >> (8 * i))) }
    return out + text + payload
}

@Suite struct NumPyTests {
    @Test func readsEveryManifestFixture() throws {
        let manifest = try loadManifest()
        #expect(manifest.count >= 15)
        for (name, spec) in manifest.sorted(by: { $0.key < $1.key }) {
            let tensor = try NumPy.read(path: npyDirectory.appendingPathComponent(name).path)
            expectMatches(tensor, spec, name)
        }
    }

    @Test func writtenFilesLoadInRealNumPy() throws {
        let manifest = try loadManifest()
        let folder = try TestPaths.temporaryDirectory("ascent-npy")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in manifest.keys {
            let tensor = try NumPy.read(path: npyDirectory.appendingPathComponent(name).path)
            try NumPy.write(tensor, to: folder.appendingPathComponent(name).path)
            let back = try NumPy.read(path: folder.appendingPathComponent(name).path)
            #expect(back.bitwiseEqual(tensor), "\(name) does not round-trip")
        }
        let manifestCopy = folder.appendingPathComponent("manifest.json")
        try FileManager.default.copyItem(at: npyDirectory.appendingPathComponent("manifest.json"), to: manifestCopy)

        // The reference Python must have numpy: the test fails (never skips) when it does not.
        let probe = try ReferencePython.run(["-c", "import numpy"])
        try #require(probe.status == 0, """
            '\(ReferencePython.executable)' cannot import numpy, so the files NumPy.write produces \
            cannot be checked. Set ASCENT_PYTHON to a Python with numpy, or create .venv-test \
            (see the README). Output: \(probe.output)
            """)
        // We always write little-endian, so the big-endian fixtures come back as little-endian.
        let result = try ReferencePython.script("fixtures/check_npy.py", [folder.path, manifestCopy.path, "--ignore-byteorder"])
        #expect(result.status == 0, "check_npy.py failed:\n\(result.output)")
    }

    @Test(arguments: [
        ("fortran.npy", "Fortran-ordered arrays are not supported; save with np.ascontiguousarray"),
        ("object.npy", "dtype '|O' is not supported"),
        ("truncated.npy", "truncated"),
        ("badmagic.npy", "bad magic"),
    ])
    func badFixturesAreRefused(name: String, message: String) throws {
        let path = npyDirectory.appendingPathComponent("bad/\(name)").path
        let error = try #require(throws: AscentError.self) { try NumPy.read(path: path) }
        #expect(error.kind == .invalidData)
        #expect(error.file == path)
        #expect(error.description.contains(name))
        #expect(error.message.contains(message), "\(error)")
    }

    @Test func missingFileIsMissingFile() throws {
        let path = npyDirectory.appendingPathComponent("no-such-file.npy").path
        let error = try #require(throws: AscentError.self) { try NumPy.read(path: path) }
        #expect(error.kind == .missingFile)
        #expect(error.description.contains("no-such-file.npy"))
    }

    @Test func everyTruncationThrows() throws {
        for name in ["float32.npy", "be_i8.npy", "scalar.npy", "bool.npy"] {
            let bytes = try [UInt8](Data(contentsOf: npyDirectory.appendingPathComponent(name)))
            let dataOffset = bytes.count - (try NumPy.read(path: npyDirectory.appendingPathComponent(name).path).byteCount)
            let cuts = Array(0..<dataOffset) + [dataOffset + 1, (dataOffset + bytes.count) / 2, bytes.count - 1]
            for cut in Set(cuts) where cut < bytes.count {
                let error = decodeError(Array(bytes[..<cut]), name)
                #expect(error?.kind == .invalidData, "\(name) cut at \(cut) did not throw invalidData")
                #expect(error?.file == name)
            }
            #expect(decodeError(bytes + [0], name)?.message.contains("unexpected bytes") == true)
        }
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let bytes = try [UInt8](Data(contentsOf: npyDirectory.appendingPathComponent("cube.npy")))
        var rng = SeededRandom(7)
        let interesting: [UInt8] = Array("{}()[]'\",: 0123456789-LTFN<>|=fiub".utf8) + [0x00, 0x0A, 0x93, 0xFF]
        for _ in 0..<3000 {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<128, using: &rng)
                copy[at] = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            // Decoding must either succeed or throw AscentError; decodeError records anything else.
            _ = decodeError(copy, "cube.npy")
        }
    }

    @Test func parsesHeaderVariants() throws {
        let payload: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]  // 1.0, 2.0 as <f4
        let variants = [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,)}",
            "  { 'shape' : ( 2 , ) ,\t'fortran_order' : False , 'descr' : u'<f4' }  ",
            "{'descr': 'f4', 'fortran_order': True, 'shape': (2L,), }",
            "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }",
        ]
        for header in variants {
            for version: UInt8 in [1, 2, 3] {
                let tensor = try npyFile(header, version: version, payload: payload)
                    .withUnsafeBytes { try NumPy.decode($0, fileName: "v.npy") }
                #expect(tensor.shape == [2] && tensor.floats() == [1, 2], "\(header) v\(version)")
            }
        }
        let big = try npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2), }", payload: [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0])
            .withUnsafeBytes { try NumPy.decode($0, fileName: "be.npy") }
        #expect(big.shape == [1, 2] && big.floats() == [1, 2])
        let scalar = try npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (), }", payload: [7])
            .withUnsafeBytes { try NumPy.decode($0, fileName: "b.npy") }
        #expect(scalar.shape == [] && scalar.withUnsafeBytes { Array($0) } == [1])
    }

    @Test(arguments: [
        ("{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", "dtype '<U5' is not supported"),
        ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "dtype '<c8' is not supported"),
        ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "structured dtypes are not supported"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "keys are"),
        ("{'descr': '<f4', 'fortran_order': False}", "keys are"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "appears twice"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "'fortran_order' must be True or False"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}", "'shape' must be a tuple"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "non-negative"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}", "overflows"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "integer is too large"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,)}", "needs 4000000000000 bytes, the file has 8"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "malformed header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", "unexpected text after the dict"),
        ("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", "malformed header"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", "unexpected name 'false'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 40), "nesting is too deep"),
        ("[1, 2]", "expected '{'"),
        ("", "expected '{'"),
    ])
    func malformedHeadersAreRefused(header: String, message: String) throws {
        let error = try #require(decodeError(npyFile(header, payload: [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]), "h.npy"))
        #expect(error.kind == .invalidData)
        #expect(error.file == "h.npy")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test func deepNestingDoesNotOverflowTheStack() throws {
        let header = "{'shape': " + String(repeating: "[(", count: 100_000)
        #expect(decodeError(npyFile(header, version: 2, payload: []))?.message.contains("nesting is too deep") == true)
    }

    @Test func refusesBadPreambles() throws {
        let good = npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", payload: [0, 0, 0, 0])
        var version = good
        version[6] = 4
        #expect(decodeError(version)?.message.contains("unsupported .npy format version 4.0") == true)
        var huge = good
        huge[6] = 2
        huge[8...11] = [0xFF, 0xFF, 0xFF, 0x7F]
        #expect(decodeError(huge)?.message.contains("header length") == true)
        var long = good
        long[8] = 0xFF
        long[9] = 0x7F
        #expect(decodeError(long)?.message.contains("header is truncated") == true)
        #expect(decodeError([])?.message.contains("bad magic") == true)
    }

    @Test func roundTripsEveryDType() throws {
        var rng = SeededRandom(42)
        for dtype in DType.allCases {
            for _ in 0..<8 {
                let rank = Int.random(in: 0...4, using: &rng)
                let shape = (0..<rank).map { _ in Int.random(in: 0...5, using: &rng) }
                let count = shape.reduce(1, *)
                let bytes = (0..<(count * dtype.byteSize)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var tensor = try Tensor(dtype: dtype, shape: shape, bytes: bytes)
                if dtype == .bool { tensor = tensor.converted(to: .uint8).converted(to: .bool) }
                let encoded = NumPy.encode(tensor)
                #expect(encoded[6] == 1 && encoded[7] == 0)
                #expect((encoded.count - tensor.byteCount) % 64 == 0)
                let back = try encoded.withUnsafeBytes { try NumPy.decode($0, fileName: "r.npy", opaque: dtype.isNarrow ? dtype : nil) }
                #expect(back.bitwiseEqual(tensor), "\(dtype)\(shape)")
            }
        }
    }

    @Test func longHeadersUseVersion2() throws {
        let tensor = try Tensor(zeros: .int16, shape: Array(repeating: 1, count: 30_000))
        let encoded = NumPy.encode(tensor)
        #expect(encoded[6] == 2)
        #expect((encoded.count - 2) % 64 == 0)
        let back = try encoded.withUnsafeBytes { try NumPy.decode($0, fileName: "long.npy") }
        #expect(back.bitwiseEqual(tensor))
    }

    @Test func writeIsAtomicAndReadBorrowsLargeData() throws {
        let folder = try TestPaths.temporaryDirectory("ascent-npy")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("big.npy").path
        let big = Tensor(shape: [64, 100], scalars: (0..<6400).map { Float($0) * 0.5 })
        try NumPy.write(Tensor(scalar: Int32(1)), to: path)
        try NumPy.write(big, to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["big.npy"])
        let back = try NumPy.read(path: path)
        #expect(back.storage.isBorrowed)
        #expect(back.bitwiseEqual(big))

        let bad = folder.appendingPathComponent("missing/x.npy").path
        let error = try #require(throws: AscentError.self) { try NumPy.write(big, to: bad) }
        #expect(error.kind == .missingFile && error.file == bad)
    }
}
