import AscentIR

/// Node attributes and value types, from their ONNX form to the IR's.
enum ONNXAttributes {
    /// Legacy attributes that mean nothing for inference and are dropped from every node
    /// (`consumed_inputs`: in-place hints of opset 1–5).
    static let ignored: Set<String> = ["consumed_inputs"]

    /// The outcome of translating a node's attributes.
    enum Translation {
        case translated([String: Attribute])
        /// An attribute the IR cannot hold (a graph, a list of tensors, a sparse tensor, a type):
        /// the node becomes unsupported.
        case untranslatable(name: String, kind: String)
    }

    /// Translates every attribute: floats to `.float(Double)`, ints, UTF-8 strings, tensors to ``Tensor``.
    static func translate(_ attributes: [ONNXAttributeProto], tensors: ONNXTensorReader) throws -> Translation {
        var out: [String: Attribute] = [:]
        for a in attributes where !ignored.contains(a.name) {
            do {
                guard let value = try translate(a, tensors: tensors) else {
                    return .untranslatable(name: a.name, kind: kindName(a))
                }
                out[a.name] = value
            } catch let e as AscentError {
                throw e.within("attribute '\(a.name)'")
            }
        }
        return .translated(out)
    }

    /// One attribute, or nil when the IR has no form for it.
    static func translate(_ a: ONNXAttributeProto, tensors: ONNXTensorReader) throws -> Attribute? {
        switch effectiveType(a) {
        case .float: return .float(Double(a.f))
        case .int: return .int(Int(a.i))
        case .string: return .string(try utf8(a.s))
        case .tensor:
            guard let t = a.t else { throw AscentError.invalid("tensor attribute without a tensor") }
            return .tensor(try tensors.tensor(t))
        case .floats: return .floats(a.floats.map(Double.init))
        case .ints: return .ints(a.ints.map { Int($0) })
        case .strings: return .strings(try a.strings.map(utf8))
        case .typeProto:
            // The IR holds a type attribute as the type's text (`seq(float32[?])`, see ``ValueType/init(parsing:)``).
            guard let tp = a.tp else { throw AscentError.invalid("type attribute without a type") }
            let (type, problem) = try valueType(tp)
            guard let type else { throw AscentError.invalid("type attribute is \(problem ?? "unknown")") }
            return .string(type.description)
        case .undefined: throw AscentError.invalid("attribute has no type and no value")
        default: return nil
        }
    }

    /// The declared type; for old files that leave it unset, the one field that holds a value.
    static func effectiveType(_ a: ONNXAttributeProto) -> ONNXAttributeType {
        guard a.type == .undefined else { return a.type }
        if a.t != nil { return .tensor }
        if a.g != nil { return .graph }
        if !a.floats.isEmpty { return .floats }
        if !a.ints.isEmpty { return .ints }
        if !a.strings.isEmpty { return .strings }
        if !a.tensors.isEmpty { return .tensors }
        if !a.graphs.isEmpty { return .graphs }
        if !a.s.isEmpty { return .string }
        if a.f != 0 { return .float }
        if a.i != 0 { return .int }
        return .undefined
    }

    static func kindName(_ a: ONNXAttributeProto) -> String {
        switch effectiveType(a) {
        case .graph: return "graph"
        case .graphs: return "graphs"
        case .tensors: return "tensors"
        case .sparseTensor: return "sparse_tensor"
        case .sparseTensors: return "sparse_tensors"
        case .typeProto: return "type_proto"
        case .typeProtos: return "type_protos"
        case .unknown(let code): return "type code \(code)"
        default: return "\(a.type)"
        }
    }

    static func utf8(_ bytes: [UInt8]) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw AscentError.invalid("string is not valid UTF-8") }
        return s
    }

    // MARK: - Value types

    /// The IR type of a declared ONNX value, or nil with the reason when Ascent cannot represent it
    /// (a map, sparse or nested sequence type, an element type such as string). A sequence or
    /// optional of tensors (or an optional sequence) is a ``ValueKind`` of its tensor type. Element types follow ``ONNXElementType``
    /// (float16/bfloat16/float64 become float32, uint16/32/64 int64). `dim_param` becomes a symbol,
    /// a dimension with neither value nor parameter, or a value of 0 or less, `.unknown`, and a missing shape an unknown rank.
    /// - Throws: when the known dimensions multiply past `Int.max` (no real value is that large, and
    ///   shape arithmetic on it would overflow).
    static func valueType(_ v: ONNXValueInfoProto) throws -> (type: ValueType?, problem: String?) {
        let kind: ValueKind
        switch ([v.kind] + v.inner).map(\.self) {
        case [.tensor]: kind = .tensor
        case [.sequence, .tensor]: kind = .sequence
        case [.optional, .tensor]: kind = .optionalTensor
        case [.optional, .sequence, .tensor]: kind = .optionalSequence
        case let kinds:
            if kinds.contains(.map) { return (nil, kinds.first == .sequence ? "a sequence of maps" : "a map type") }
            if kinds.contains(.sparseTensor) { return (nil, "a sparse tensor type") }
            if kinds.contains(.opaque) { return (nil, "an opaque type") }
            if kinds.count == 1, kinds[0] == .sequence || kinds[0] == .optional {
                return (nil, "a \(kinds[0] == .sequence ? "sequence" : "optional") without an element type")
            }
            if kinds.last == ONNXValueInfoProto.Kind.none || kinds.isEmpty { return (nil, kinds.count > 1 ? "an element without a type" : "no type") }
            return (nil, "a nested sequence or optional type")
        }
        guard let element = ONNXElementType(code: Int64(v.elemType)) else {
            return (nil, "element type \(ONNXElementType.name(code: Int64(v.elemType)))")
        }
        let shape = v.shape.map { dims in
            Shape(dims.map { d -> Dim in
                switch d {
                // Exporters write -1 and 0 for sizes they do not know: both are unknown (a declaration is a hint).
                case .value(let n): return n > 0 ? Int(exactly: n).map(Dim.known) ?? .unknown : .unknown
                case .param(let p): return p.isEmpty ? .unknown : .symbol(p)
                case .unknown: return .unknown
                }
            })
        }
        if let shape, Shape.product(shape.dims.compactMap(\.value)) == nil {
            throw AscentError.invalid("value '\(v.name)' is declared with shape \(shape), whose size overflows")
        }
        return (ValueType(element.importedDType, shape, kind: kind), nil)
    }
}
