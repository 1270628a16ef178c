import AscentIR
import AscentTestSupport
import Foundation

/// One reference case from `Fixtures/ops/<name>/` (written by `Tools/fixtures/ops.py` with
/// onnxruntime or TensorFlow): a one-node graph's op, attributes, inputs and expected outputs.
struct OpCase {
    let name: String
    let op: String
    let attributes: [String: Attribute]
    /// Input names; "" for an omitted optional input.
    let inputNames: [String]
    let outputNames: [String]
    let inputs: [Tensor?]
    let outputs: [Tensor]
    let reference: String

    static let directory = TestPaths.fixture("ops")

    /// Every case listed in the manifest (a missing manifest is one failing case).
    static let all = TestPaths.opCaseNames

    init(_ name: String) throws {
        self.name = name
        let dir = OpCase.directory.appendingPathComponent(name)
        let data = try Data(contentsOf: dir.appendingPathComponent("case.json"))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let op = json["op"] as? String, let inputNames = json["inputs"] as? [String],
              let outputNames = json["outputs"] as? [String], let attributes = json["attributes"] as? [String: Any] else {
            throw AscentError.invalid("\(name): malformed case.json")
        }
        self.op = op
        self.inputNames = inputNames
        self.outputNames = outputNames
        reference = json["reference"] as? String ?? "?"
        let kinds = Dictionary(uniqueKeysWithValues: (OpRegistry.definition(op)?.attributes ?? []).map { ($0.name, $0.kind) })
        var parsed: [String: Attribute] = [:]
        for (key, value) in attributes {
            parsed[key] = try OpCase.attribute(value, kind: kinds[key], name: "\(name): \(key)")
        }
        self.attributes = parsed
        inputs = try inputNames.enumerated().map { i, n in
            n.isEmpty ? nil : try NumPy.read(path: dir.appendingPathComponent("input_\(i).npy").path)
        }
        outputs = try outputNames.indices.map { try NumPy.read(path: dir.appendingPathComponent("output_\($0).npy").path) }
    }

    /// A JSON attribute value as an IR attribute; `kind` comes from the op's schema when it lists the attribute.
    static func attribute(_ value: Any, kind: String?, name: String) throws -> Attribute {
        func number(_ v: Any) -> Double? { (v as? NSNumber)?.doubleValue }
        if let s = value as? String { return .string(s) }
        if let d = value as? [String: Any], let t = d["tensor"] as? [String: Any] {
            guard let dtypeName = t["dtype"] as? String, let dtype = DType(rawValue: dtypeName),
                  let shape = t["shape"] as? [Int], let values = t["values"] as? [Any] else {
                throw AscentError.invalid("\(name): bad tensor attribute")
            }
            let doubles = values.compactMap(number)
            let tensor = Tensor(shape: shape, scalars: doubles).converted(to: dtype)
            return .tensor(tensor)
        }
        if let list = value as? [Any] {
            if let strings = list as? [String] { return .strings(strings) }
            let numbers = list.compactMap(number)
            let isFloat = kind == "floats" || (kind == nil && numbers.contains { $0 != $0.rounded() })
            return isFloat ? .floats(numbers) : .ints(numbers.map { Int($0) })
        }
        guard let v = number(value) else { throw AscentError.invalid("\(name): unsupported attribute value \(value)") }
        switch kind {
        case "float": return .float(v)
        case "ints": return .ints([Int(v)])
        case "int": return .int(Int(v))
        default: return v == v.rounded() ? .int(Int(v)) : .float(v)
        }
    }

    /// The case as a one-node graph. Inputs listed in `constant` become initializers, the rest graph inputs.
    func graph(constant: Set<Int> = []) -> Graph {
        var graphInputs: [ValueInfo] = []
        var initializers: [String: Tensor] = [:]
        for (i, t) in inputs.enumerated() {
            guard let t else { continue }
            if constant.contains(i) {
                initializers[inputNames[i]] = t
            } else {
                graphInputs.append(ValueInfo(name: inputNames[i], type: ValueType(t.dtype, Shape(t.shape))))
            }
        }
        let outputs = zip(outputNames, self.outputs).map { ValueInfo(name: $0, type: ValueType($1.dtype, nil)) }
        return Graph(name: name, inputs: graphInputs, outputs: outputs, initializers: initializers,
                     nodes: [Node(name: name, op: op, inputs: inputNames, outputs: outputNames, attributes: attributes)])
    }

    /// The graph-input feeds for `graph(constant:)`.
    func feeds(constant: Set<Int> = []) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, t) in inputs.enumerated() where !constant.contains(i) { if let t { out[inputNames[i]] = t } }
        return out
    }
}
