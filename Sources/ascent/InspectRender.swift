import AscentIR
import AscentModel
import AscentProbe
import Foundation

/// `ascent inspect --format text`: a table sized for the terminal.
enum InspectText {
    static func render(_ model: Model, _ s: GraphSummary, width: Int) -> String {
        let g = model.graph
        let bold = isatty(1) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        func heading(_ t: String) -> String { bold ? "\u{1B}[1m\(t)\u{1B}[0m" : t }
        var out = heading("\(g.name)") + "  (\(describeSource(model)))\n"
        out += heading("inputs") + "\n"
        for i in g.inputs { out += "  \(i.name)  \(s.types[i.name] ?? i.type)\n" }
        out += heading("outputs") + "\n"
        for o in g.outputs { out += "  \(o.name)  \(s.types[o.name] ?? o.type)\n" }

        let typeWidth = 24, paramsWidth = 9, macsWidth = 11, opWidth = 18
        let nameWidth = max(10, width - (typeWidth + paramsWidth + macsWidth + opWidth + 5))
        out += heading("\n" + pad("name", nameWidth) + " " + pad("op", opWidth) + " " + pad("output", typeWidth)
                       + " " + lpad("params", paramsWidth) + " " + lpad("MACs", macsWidth)) + "\n"
        var scope: String?
        for row in s.rows {
            let indent = String(repeating: "  ", count: row.depth)
            if row.scope != scope, let inner = row.scope {
                out += String(indent.dropLast(2)) + "[" + inner + "]\n"
            }
            scope = row.scope
            let type = row.outputTypes.first.map { $0?.description ?? "?" } ?? ""
            let op = row.unsupported ? row.op + " (!)" : row.op
            let line = pad(indent + row.name, nameWidth) + " " + pad(op, opWidth) + " " + pad(type, typeWidth) + " "
                + lpad(row.parameters == 0 ? "" : grouped(row.parameters), paramsWidth) + " "
                + lpad(row.macs.map(grouped) ?? "", macsWidth)
            out += String(line.reversed().drop { $0 == " " }.reversed()) + "\n"
        }
        // A symbolic batch size counts as 1 (GraphSummary.perItemCount); a fixed one is counted in.
        let batched = g.inputs.contains { $0.type.shape?.dims.first.map { $0.value == nil } ?? false }
        let top = s.rows.filter { $0.scope == nil }.count, nested = s.rows.count - top
        out += "\n\(grouped(top)) node\(top == 1 ? "" : "s")" + (nested > 0 ? " (and \(grouped(nested)) in nested graphs)" : "")
            + ", \(grouped(s.parameters)) parameters, "
            + "\(grouped(s.macs)) MACs" + (s.macs > 0 && batched ? " per batch item\n" : "\n")
        out += "ops: " + s.histogram.map { "\($0.op) ×\($0.count)" }.joined(separator: ", ") + "\n"
        out += s.unsupported.isEmpty ? "unsupported: none\n"
            : "unsupported (\(s.unsupported.count)): " + s.unsupported.joined(separator: ", ") + "\n"
        for note in g.importNotes + computeNotes(g, s) { out += "note: \(note)\n" }
        return out
    }

    /// `float16 values are computed in float32 ...` for each declared type the runtime computes in another.
    static func computeNotes(_ g: Graph, _ s: GraphSummary) -> [String] {
        var declared = Set(g.initializers.values.map(\.dtype))
        for v in g.inputs + g.outputs { declared.insert((s.types[v.name] ?? v.type).dtype) }
        for t in s.types.values { declared.insert(t.dtype) }
        return DType.allCases.filter { declared.contains($0) && $0.computeDType != $0 }.map {
            "\($0.rawValue) values are computed in \($0.computeDType.rawValue) (inputs converted on entry, outputs back to \($0.rawValue) on exit)"
        }
    }

    static func describeSource(_ model: Model) -> String {
        let m = model.graph.metadata
        var parts = [model.format.rawValue]
        if let p = m["producer"] { parts.append(p) }
        if let o = m["opsets"] { parts.append("opsets " + o) }
        if m["producer"] == nil, let k = m["keras_version"] { parts.append("keras " + k) }
        if let b = m["backend"] { parts.append(b + " backend") }
        return parts.joined(separator: ", ")
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count > n ? String(s.prefix(n - 1)) + "…" : s + String(repeating: " ", count: n - s.count)
    }
    static func lpad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : String(repeating: " ", count: n - s.count) + s
    }
    static func grouped(_ n: Int) -> String { Report.grouped(n) }
}

/// `ascent inspect --format json`: ``ModelDescription`` on one line.
enum InspectJSON {
    static func render(_ model: Model, _ s: GraphSummary) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(ModelDescription(model.graph, s, format: model.format.rawValue))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// `ascent inspect --format dot`: a Graphviz digraph, one box per node labelled with its
/// op and output shape, edges along values.
enum InspectDot {
    static func render(_ g: Graph, _ s: GraphSummary) -> String {
        func q(_ t: String) -> String { "\"" + t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\"" }
        var out = "digraph \(q(g.name)) {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
        var producer: [String: String] = [:]
        for i in g.inputs {
            let id = "in:" + i.name
            producer[i.name] = id
            out += "  \(q(id)) [label=\(q(i.name + "\n" + (s.types[i.name] ?? i.type).description)), shape=ellipse];\n"
        }
        for (index, row) in s.rows.enumerated() {
            let id = "n\(index)"
            let type = row.outputTypes.first.map { $0?.description ?? "?" } ?? ""
            let style = row.unsupported ? ", color=red" : ""
            out += "  \(id) [label=\(q(row.op + "\n" + row.name + "\n" + type))\(style)];\n"
            for input in row.inputs where !input.isEmpty {
                if let from = producer[input] { out += "  \(q(from)) -> \(id);\n" }
            }
            for o in row.outputs where !o.isEmpty { producer[o] = id }
        }
        for o in g.outputs {
            let id = "out:" + o.name
            out += "  \(q(id)) [label=\(q(o.name)), shape=ellipse];\n"
            if let from = producer[o.name] { out += "  \(q(from)) -> \(q(id));\n" }
        }
        return out + "}\n"
    }
}

/// `ascent inspect --names`: the names targets can use, layer-like values (floating-point
/// feature maps and activations) first, then the rest, then the outputs.
enum InspectNames {
    static func render(_ g: Graph, types: [String: ValueType]) -> String {
        var layers: [[String]] = [], others: [[String]] = []
        for node in g.nodes {
            guard let value = node.outputs.first(where: { !$0.isEmpty }) else { continue }
            let type = types[value]
            let name = value == node.name || value == node.name + ":0" ? node.name : "\(node.name) (value \(value))"
            let row = [name, node.op, type.map(\.description) ?? "?"]
            if let t = type, t.dtype.isFloatingPoint, let shape = t.shape, shape.rank >= 2 {
                let axis = t.layout.flatMap { $0.rank == shape.rank ? $0.channelAxis : nil } ?? (shape.rank == 2 ? 1 : nil)
                let channels = axis.map { shape.dims[$0].value.map { "\($0) channel\($0 == 1 ? "" : "s")" } ?? "? channels" } ?? "channel axis unknown"
                layers.append(row + [channels])
            } else {
                others.append(row)
            }
        }
        var out = "layers (layer:NAME:C, neuron:NAME:C@i,j):\n" + table(layers)
        if !others.isEmpty { out += "other values:\n" + table(others) }
        out += "outputs (output:NAME:K" + (g.outputs.count == 1 ? ", or logit:K" : "") + "):\n"
        out += table(g.outputs.map { o in [o.name, o.type.description] + ((o.type.shape?.dims.last?.value).map { ["K from 0 to \($0 - 1)"] } ?? []) })
        return out
    }

    /// Rows with their columns padded to line up, indented by two spaces.
    static func table(_ rows: [[String]]) -> String {
        guard let columns = rows.map(\.count).max() else { return "  (none)\n" }
        let widths = (0..<columns).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            "  " + row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ") + "\n"
        }.joined()
    }
}
