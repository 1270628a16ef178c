import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// The narrow dtypes' conversions (`LowPrecision.swift`) against the table ml_dtypes and the ONNX
/// reference Cast wrote (`Fixtures/lowprecision`, by `Tools/fixtures/lowprecision.py`): every byte
/// pattern of every type decoded, and a sweep of float32 values (representable values, their
/// neighbours, ties, subnormals, overflow, ±∞, NaN) encoded with saturate 1 and 0 (and float8e8m0's
/// three rounding modes), all compared exactly.
struct LowPrecisionTests {
    static let folder = "lowprecision"

    static func lines(_ name: String) throws -> [String] {
        try String(contentsOf: TestPaths.fixture("\(folder)/\(name)"), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func decodesEveryBytePatternAsMLDtypes() throws {
        let types = try Self.lines("types.txt").map { try #require(DType(rawValue: $0)) }
        let table = try NumPy.read(path: TestPaths.fixture("\(Self.folder)/decoded.npy").path)
        #expect(table.shape == [types.count, 256])
        let expected = table.scalars(as: Float.self)
        var compared = 0
        for (row, type) in types.enumerated() {
            #expect(type.isNarrow)
            var wrong: [String] = []
            // The byte patterns a type's values take (ml_dtypes reads float4e2m1 bytes above 0x0F
            // with the extra bits as the sign; neither it nor Ascent writes them).
            for byte in 0..<(type == .float4e2m1 ? 16 : 256) {
                let e = expected[row * 256 + byte], a = type.decodeNarrow(UInt8(byte))
                compared += 1
                if e.isNaN ? !a.isNaN : a.bitPattern != e.bitPattern { wrong.append("0x\(String(byte, radix: 16)): \(a) vs \(e)") }
            }
            #expect(wrong.isEmpty, "\(type.rawValue): \(wrong.count) of 256 differ: \(wrong.prefix(5))")
        }
        #expect(compared == 2320)
    }

    @Test func encodesTheSweepAsTheONNXReferenceCast() throws {
        let values = try NumPy.read(path: TestPaths.fixture("\(Self.folder)/values.npy").path).scalars(as: Float.self)
        let table = try NumPy.read(path: TestPaths.fixture("\(Self.folder)/encoded.npy").path)
        let rows = try Self.lines("rows.txt")
        #expect(table.shape == [rows.count, values.count])
        #expect(values.count > 5000)
        let expected = table.scalars(as: UInt8.self)
        for (r, row) in rows.enumerated() {
            let fields = row.split(separator: " ").map(String.init)
            let type = try #require(DType(rawValue: fields[0])), saturate = fields[1] == "1"
            let mode = try #require(DType.E8M0Rounding(rawValue: fields[2]))
            var wrong: [String] = []
            for (i, v) in values.enumerated() {
                let e = expected[r * values.count + i], a = type.encodeNarrow(v, saturate: saturate, rounding: mode)
                // Any NaN encoding stands for NaN (float8e5m2 has several).
                if a != e, !(type.decodeNarrow(a).isNaN && type.decodeNarrow(e).isNaN) {
                    wrong.append("\(v) (0x\(String(v.bitPattern, radix: 16))): 0x\(String(a, radix: 16)) vs 0x\(String(e, radix: 16))")
                }
            }
            #expect(wrong.isEmpty, "\(row): \(wrong.count) of \(values.count) differ: \(wrong.prefix(5))")
        }
    }

    @Test func tensorConversionIsCastWithItsDefaults() throws {
        let values = try NumPy.read(path: TestPaths.fixture("\(Self.folder)/values.npy").path)
        let table = try NumPy.read(path: TestPaths.fixture("\(Self.folder)/encoded.npy").path).scalars(as: UInt8.self)
        let rows = try Self.lines("rows.txt")
        for (r, row) in rows.enumerated() where row.hasSuffix(" 1 up") {
            let type = try #require(DType(rawValue: String(row.split(separator: " ")[0])))
            let converted = values.converted(to: type)
            #expect(converted.dtype == type)
            let expected = try Array(table[(r * values.count)..<((r + 1) * values.count)]).withUnsafeBytes {
                try Tensor(dtype: type, shape: values.shape, bytes: $0)
            }
            #expect(Closeness.elementwise(converted, expected, rtol: 0, atol: 0).mismatch == nil, "\(row)")
            // Back to float32: exact, every narrow value being a float32.
            #expect(Closeness.elementwise(converted.converted(to: .float32), expected.converted(to: .float32), rtol: 0, atol: 0).mismatch == nil)
        }
    }

    @Test func npyHoldsNarrowTypesAsMLDtypesWritesThem() throws {
        let dir = try TestPaths.temporaryDirectory("ascent-lowprecision")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = Tensor(shape: [2, 3], scalars: [Float(-3.5), 0.25, 1000, -0.0, .nan, 7])
        for type in DType.allCases where type.isNarrow {
            let t = x.converted(to: type), path = dir.appendingPathComponent("\(type.rawValue).npy").path
            try NumPy.write(t, to: path)
            let back = try NumPy.read(path: path, opaque: type)
            #expect(back.dtype == type && back.shape == [2, 3] && back.bitwiseEqual(t), "\(type.rawValue)")
            let refused = #expect(throws: AscentError.self) { try NumPy.read(path: path) }
            #expect(refused?.message.contains("'<V1' holds opaque bytes") == true, "\(refused?.message ?? "")")
            // NumPy reads the file, and ml_dtypes gives the values Ascent decodes.
            let r = try ReferencePython.run(["-c", """
                import numpy as np, ml_dtypes, sys
                a = np.load(sys.argv[1]); t = {'float8e4m3fn': 'float8_e4m3fn', 'float8e4m3fnuz': 'float8_e4m3fnuz', 'float8e5m2': 'float8_e5m2', 'float8e5m2fnuz': 'float8_e5m2fnuz', 'float8e8m0': 'float8_e8m0fnu', 'float4e2m1': 'float4_e2m1fn'}.get(sys.argv[2], sys.argv[2])
                print(' '.join(repr(float(v)) for v in a.view(getattr(ml_dtypes, t)).astype(np.float32).ravel()))
                """, path, type.rawValue])
            #expect(r.status == 0, "\(r.output)")
            let theirs = r.output.split(whereSeparator: \.isWhitespace).map { Float(String($0)) ?? .nan }
            let ours = t.floats()
            #expect(theirs.count == ours.count && zip(theirs, ours).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern },
                    "\(type.rawValue): \(theirs) vs \(ours)")
        }
    }
}
