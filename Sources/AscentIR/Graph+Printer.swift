extension Graph {
    /// A stable, readable text form of the graph: one line per input, initializer, node
    /// and output, in a fixed order, with each value's inferred type.
    ///
    /// ```
    /// graph "digits" {
    ///   input  %x: float32[N,16,16,1] NHWC
    ///   init   %conv1/kernel: float32[3,3,1,8]
    ///   %conv1 = Conv(%x, %conv1/kernel, %conv1/bias) {auto_pad="SAME_UPPER", data_format="NHWC"} : float32[N,16,16,8] NHWC  # conv1
    ///   output %probs: float32[N,10]
    /// }
    /// ```
    /// Two graphs that print the same have the same structure, attributes and types
    /// (initializer values are not printed, only their types). A node's nested graphs (`If`
    /// branches, `Loop` and `Scan` bodies) follow its line, indented, each as `attribute: graph ...`.
    public func printed() -> String { printed(indent: "") }

    func printed(indent: String) -> String {
        let types = (try? inferTypes()) ?? [:]
        var out = "graph \(Attribute.quote(name)) {\n"
        let pad = indent + "  "
        for key in metadata.keys.sorted() {
            out += pad + "meta   \(key) = \(Attribute.quote(metadata[key]!))\n"
        }
        for input in inputs {
            out += pad + "input  \(Graph.valueName(input.name)): \(input.type)\n"
        }
        for name in initializers.keys.sorted() {
            out += pad + "init   \(Graph.valueName(name)): \(initializers[name]!)\n"
        }
        for node in nodes {
            out += pad + Graph.line(for: node, types: types) + "\n"
            for (attribute, g) in node.subgraphs {
                out += pad + "  \(attribute): " + g.printed(indent: pad + "  ")
            }
        }
        for output in outputs {
            out += pad + "output \(Graph.valueName(output.name)): \(types[output.name] ?? output.type)\n"
        }
        return out + indent + "}\n"
    }

    static func line(for node: Node, types: [String: ValueType]) -> String {
        let results = node.outputs.map { $0.isEmpty ? "_" : valueName($0) }.joined(separator: ", ")
        let args = node.inputs.map { $0.isEmpty ? "_" : valueName($0) }.joined(separator: ", ")
        var line = (results.isEmpty ? "" : results + " = ") + node.op + "(" + args + ")"
        if !node.attributes.isEmpty {
            let attrs = node.attributes.keys.sorted().map { "\($0)=\(attributeText(node.attributes[$0]!))" }
            line += " {" + attrs.joined(separator: ", ") + "}"
        }
        let outTypes = node.outputs.filter { !$0.isEmpty }.map { types[$0]?.description ?? "?" }
        if !outTypes.isEmpty { line += " : " + outTypes.joined(separator: ", ") }
        if !node.name.isEmpty { line += "  # " + node.name }
        return line
    }

    /// `%name`, or `%"name with spaces"` when the name has other characters.
    static func valueName(_ name: String) -> String {
        let plain = !name.isEmpty && name.unicodeScalars.allSatisfy {
            ($0.value < 128 && ($0.properties.isAlphabetic || $0.properties.numericType != nil)) || "_./:-".unicodeScalars.contains($0)
        }
        return "%" + (plain ? name : Attribute.quote(name))
    }

    /// Attributes as text; small tensors show their values.
    static func attributeText(_ a: Attribute) -> String {
        if case .graph(let g) = a { return "graph " + Attribute.quote(g.name) }
        guard case .tensor(let t) = a else { return a.description }
        guard t.count <= 8 else { return t.description }
        let values = t.doubles().map { t.dtype.isFloatingPoint ? Attribute.format($0) : String(Int64($0)) }
        return t.description + "{" + values.joined(separator: ",") + "}"
    }
}
