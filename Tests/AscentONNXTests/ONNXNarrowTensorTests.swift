import AscentIR
import AscentTestSupport
import Foundation
import Testing

@testable import AscentONNX

/// The narrow types (float8, float4e2m1, int4/uint4, int2/uint2) in ONNX files: `onnx.helper`
/// writes a model whose initializers hold each type packed in `raw_data` and in `int32_data`, with
/// odd counts (a half-filled last byte), each read by an Identity; Ascent imports them to onnx.numpy_helper's values, and its
/// export (packed `raw_data`) is read back by onnx.numpy_helper to the same values.
struct ONNXNarrowTensorTests {
    static let script = """
        import sys, numpy as np, onnx, ml_dtypes
        from onnx import helper, numpy_helper, TensorProto as T
        types = {'float8e4m3fn': T.FLOAT8E4M3FN, 'float8e4m3fnuz': T.FLOAT8E4M3FNUZ, 'float8e5m2': T.FLOAT8E5M2,
                 'float8e5m2fnuz': T.FLOAT8E5M2FNUZ, 'float8e8m0': T.FLOAT8E8M0, 'float4e2m1': T.FLOAT4E2M1,
                 'int4': T.INT4, 'uint4': T.UINT4, 'int2': T.INT2, 'uint2': T.UINT2}
        def show(m):
            for t in m.graph.initializer:
                a = numpy_helper.to_array(t).astype(np.float32)
                print(t.name, list(a.shape), ' '.join(repr(float(v)) for v in a.ravel()))
        if sys.argv[1] == 'write':
            inits = []
            for name, code in types.items():
                np_type = helper.tensor_dtype_to_np_dtype(code)
                v = np.array([-3.5, -1, 0.5, 1, 2, 3, 448, 1e9, -0.0], np.float32)[:7].reshape(7)
                if name.endswith(('int4', 'int2')):
                    v = np.array([-2, -1, 0, 1, 3, 7, -8], np.float32)
                a = v.astype(np_type)
                inits.append(numpy_helper.from_array(a, name + '_raw'))
                inits.append(helper.make_tensor(name + '_typed', code, [7], a, raw=False))
            nodes = [helper.make_node('Identity', [t.name], [t.name + '_out']) for t in inits]
            outs = [helper.make_tensor_value_info(t.name + '_out', t.data_type, [7]) for t in inits]
            g = helper.make_graph(nodes, 'narrow', [], outs, inits)
            m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 25)])
            onnx.save(m, sys.argv[2])
            show(m)
        else:
            show(onnx.load(sys.argv[2]))
        """

    static func parse(_ output: String) -> [String: [Float]] {
        var values: [String: [Float]] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 3, words[1] == "[7]" else { continue }
            values[words[0]] = words.dropFirst(2).map { Float($0) ?? .nan }
        }
        return values
    }

    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern }
    }

    @Test func importAndExportPackAsONNXDoes() throws {
        let dir = try TestPaths.temporaryDirectory("ascent-onnx-narrow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = dir.appendingPathComponent("narrow.onnx").path
        let written = try ReferencePython.run(["-c", Self.script, "write", original])
        try #require(written.status == 0, "\(written.output)")
        let reference = Self.parse(written.output)
        #expect(reference.count == 20)

        let g = try ONNXImporter.load(path: original)
        for (name, values) in reference {
            let t = try #require(g.initializers[name], "\(name)")
            #expect(t.dtype.isNarrow && t.dtype.rawValue == String(name.split(separator: "_")[0]), "\(name): \(t.dtype)")
            #expect(Self.same(t.floats(), values), "\(name): \(t.floats()) vs onnx \(values)")
        }

        let exported = dir.appendingPathComponent("exported.onnx").path
        // Opset 25, the first with every narrow type (int2/uint2); the default (17) is refused for them.
        #expect(ONNXExporter.defaultOpset(for: g) == 25)
        #expect(throws: AscentError.self) { try ONNXExporter.write(g, to: exported) }
        try ONNXExporter.write(g, to: exported, options: .init(opset: ONNXExporter.defaultOpset(for: g)))
        let read = try ReferencePython.run(["-c", Self.script, "read", exported])
        try #require(read.status == 0, "\(read.output)")
        let back = Self.parse(read.output)
        // The exporter keeps one of two equal initializers (the raw and typed forms hold the same values).
        #expect(back.count == 10)
        for (name, values) in back { #expect(Self.same(values, reference[name] ?? []), "\(name) exported: \(values) vs \(reference[name] ?? [])") }
    }
}
