import Foundation

/// The JSON form of a ``Graph`` stored in an `.ascent` file's `__metadata__`.
/// Tensor data (initializers and tensor attributes) is not in here: it is referenced by
/// key and lives in the safetensors data section.
struct GraphJSON: Codable {
    static let currentVersion = 1

    var version: Int
    var name: String
    var metadata: [String: String]
    var inputs: [ValueJSON]
    var outputs: [ValueJSON]
    var initializers: [String]
    var nodes: [NodeJSON]
    var valueInfo: [ValueJSON]

    struct ValueJSON: Codable {
        var name: String
        var dtype: DType
        /// Each dim: an int, a symbol string, or null when unknown; nil when the rank is unknown.
        var shape: [DimJSON]?
        var layout: Layout?
        /// `sequence`, `optional` or `optional-sequence`; absent for a tensor.
        var kind: ValueKind?

        init(name: String, type: ValueType) {
            self.name = name
            dtype = type.dtype
            shape = type.shape?.dims.map(DimJSON.init)
            layout = type.layout
            kind = type.isTensor ? nil : type.kind
        }

        var valueType: ValueType {
            ValueType(dtype, shape.map { Shape($0.map(\.dim)) }, layout: layout, kind: kind ?? .tensor)
        }
    }

    struct DimJSON: Codable {
        var dim: Dim
        init(_ dim: Dim) { self.dim = dim }

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { dim = .unknown }
            else if let v = try? c.decode(Int.self) { dim = .known(v) }
            else {
                // An expression is written with a leading "=" (a symbol never starts with one).
                let text = try c.decode(String.self)
                if text.hasPrefix("="), let e = SymbolicSize.parse(String(text.dropFirst())) { dim = Dim(e) } else { dim = .symbol(text) }
            }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch dim {
            case .known(let v): try c.encode(v)
            case .symbol(let s): try c.encode(s)
            case .expression(let e): try c.encode("=" + e.description)
            case .unknown: try c.encodeNil()
            }
        }
    }

    struct NodeJSON: Codable {
        var name: String
        var op: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [String: AttributeJSON]
    }

    /// One attribute: exactly one key, naming its kind. Reals that JSON cannot hold
    /// (NaN, ±infinity) are written as the strings "nan", "inf", "-inf".
    struct AttributeJSON: Codable {
        var int: Int?
        var float: RealJSON?
        var string: String?
        var ints: [Int]?
        var floats: [RealJSON]?
        var strings: [String]?
        /// The safetensors key holding the tensor's data.
        var tensor: String?
        /// A nested graph; its initializers and tensor attributes are stored under keys prefixed
        /// `__graph__/<node index>/<attribute>/`.
        var graph: GraphJSON?
    }

    struct RealJSON: Codable {
        var value: Double
        init(_ value: Double) { self.value = value }

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Double.self) { value = v; return }
            switch try c.decode(String.self) {
            case "nan": value = .nan
            case "inf": value = .infinity
            case "-inf": value = -.infinity
            case let s: throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(s)' is not a number")
            }
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            if value.isNaN { try c.encode("nan") }
            else if value.isInfinite { try c.encode(value < 0 ? "-inf" : "inf") }
            else { try c.encode(value) }
        }
    }
}

extension GraphJSON {
    /// The JSON form of `graph`, and the tensor attributes (and nested graphs' tensors) to store
    /// under their keys. A nested graph's keys start with `prefix`.
    static func make(_ graph: Graph, prefix: String = "") -> (GraphJSON, [String: Tensor]) {
        var attributeTensors: [String: Tensor] = [:]
        if !prefix.isEmpty { for (name, t) in graph.initializers { attributeTensors[prefix + name] = t } }
        let nodes = graph.nodes.enumerated().map { index, node in
            var attrs: [String: AttributeJSON] = [:]
            for (key, value) in node.attributes {
                var a = AttributeJSON()
                switch value {
                case .int(let v): a.int = v
                case .float(let v): a.float = RealJSON(v)
                case .string(let v): a.string = v
                case .ints(let v): a.ints = v
                case .floats(let v): a.floats = v.map(RealJSON.init)
                case .strings(let v): a.strings = v
                case .tensor(let t):
                    let k = "\(prefix)__attr__/\(index)/\(key)"
                    attributeTensors[k] = t
                    a.tensor = k
                case .graph(let g):
                    let (json, tensors) = make(g, prefix: "\(prefix)__graph__/\(index)/\(key)/")
                    a.graph = json
                    attributeTensors.merge(tensors) { a, _ in a }
                }
                attrs[key] = a
            }
            return NodeJSON(name: node.name, op: node.op, inputs: node.inputs, outputs: node.outputs, attributes: attrs)
        }
        let json = GraphJSON(
            version: currentVersion, name: graph.name, metadata: graph.metadata,
            inputs: graph.inputs.map { ValueJSON(name: $0.name, type: $0.type) },
            outputs: graph.outputs.map { ValueJSON(name: $0.name, type: $0.type) },
            initializers: graph.initializers.keys.sorted(),
            nodes: nodes,
            valueInfo: graph.valueInfo.keys.sorted().map { ValueJSON(name: $0, type: graph.valueInfo[$0]!) })
        return (json, attributeTensors)
    }

    /// The graph, with tensors taken from `tensors` by key (a nested graph's initializers under
    /// `prefix` + name).
    func graph(tensors: [String: Tensor], prefix: String = "") throws -> Graph {
        guard version == GraphJSON.currentVersion else {
            throw AscentError.invalid("graph format version \(version) is not supported (this Ascent reads version \(GraphJSON.currentVersion))")
        }
        func tensor(_ key: String) throws -> Tensor {
            guard let t = tensors[key] else { throw AscentError.invalid("tensor '\(key)' is referenced but not stored") }
            return t
        }
        var initializerTensors: [String: Tensor] = [:]
        for name in initializers { initializerTensors[name] = try tensor(prefix + name) }
        let graphNodes = try nodes.enumerated().map { index, n -> Node in
            var attrs: [String: Attribute] = [:]
            for (key, a) in n.attributes {
                let kinds = [a.int != nil, a.float != nil, a.string != nil, a.ints != nil,
                             a.floats != nil, a.strings != nil, a.tensor != nil, a.graph != nil].filter { $0 }.count
                guard kinds == 1 else {
                    throw AscentError.invalid("attribute '\(key)' of node '\(n.name)' must have exactly one kind")
                }
                if let v = a.int { attrs[key] = .int(v) }
                else if let v = a.float { attrs[key] = .float(v.value) }
                else if let v = a.string { attrs[key] = .string(v) }
                else if let v = a.ints { attrs[key] = .ints(v) }
                else if let v = a.floats { attrs[key] = .floats(v.map(\.value)) }
                else if let v = a.strings { attrs[key] = .strings(v) }
                else if let k = a.tensor { attrs[key] = .tensor(try tensor(k)) }
                else if let g = a.graph {
                    attrs[key] = .graph(try g.graph(tensors: tensors, prefix: "\(prefix)__graph__/\(index)/\(key)/"))
                }
            }
            return Node(name: n.name, op: n.op, inputs: n.inputs, outputs: n.outputs, attributes: attrs)
        }
        var info: [String: ValueType] = [:]
        for v in valueInfo { info[v.name] = v.valueType }
        return Graph(name: name, inputs: inputs.map { ValueInfo(name: $0.name, type: $0.valueType) },
                     outputs: outputs.map { ValueInfo(name: $0.name, type: $0.valueType) },
                     initializers: initializerTensors, nodes: graphNodes, valueInfo: info, metadata: metadata)
    }
}
