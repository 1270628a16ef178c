import ArgumentParser
import AscentIR
import AscentRuntime
import Foundation

extension Ascent {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's inputs, outputs, layers with inferred shapes, parameters and unsupported ops.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, dot }

        @Argument(help: "The model: .onnx, .h5, .keras or .ascent.")
        var model: String

        @Option(help: "Output format: text, json or dot (Graphviz).")
        var format: Format = .text

        @Option(name: .customLong("input-shape"),
                help: "Fix an input's shape as NAME=d0,d1,... so inferred shapes become concrete; repeat for several inputs.")
        var inputShapes: [String] = []

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func validate() throws { _ = try Inspect.parseShapes(inputShapes) }

        func run() throws {
            try reportingErrors {
                var loaded = try loadModel(model, config: config)
                let types: [String: ValueType]
                do {
                    let shapes = try Inspect.parseShapes(inputShapes)
                    loaded.graph = try loaded.graph.fixingInputShapes(shapes)
                    types = try Inspect.types(of: loaded.graph, fixed: !shapes.isEmpty)
                } catch let e as AscentError {
                    throw e.inFile(model)
                }
                let summary = GraphSummary(loaded.graph, source: loaded.source, types: types)
                switch format {
                case .text: emit(InspectText.render(loaded, summary, width: terminalWidth()))
                case .json: emit(try InspectJSON.render(loaded, summary))
                case .dot: emit(InspectDot.render(loaded.graph, summary))
                }
            }
        }
    }
}

extension Ascent.Inspect {
    /// The IR's inferred types; when every input's shape is concrete, completed by the runtime's
    /// planner, which also evaluates shape computations (`Shape` → `Gather` → `Concat` → `Reshape`)
    /// that the IR's shape rules leave unknown. With `fixed` (`--input-shape` given), sizes the
    /// graph rejects are errors; otherwise planning is best effort (a graph with unsupported nodes
    /// cannot be planned).
    static func types(of graph: Graph, fixed: Bool) throws -> [String: ValueType] {
        var types = fixed ? try graph.inferTypes() : (try? graph.inferTypes()) ?? [:]
        var shapes: [String: [Int]] = [:]
        for input in graph.inputs {
            guard let sizes = input.type.shape?.concrete else { return types }
            shapes[input.name] = sizes
        }
        guard graph.unsupportedNodes.isEmpty else { return types }
        let planned: [String: ValueType]
        do {
            let session = try Session(graph: graph, options: .init(threads: 1, fuseOperations: false))
            planned = try session.valueTypes(inputShapes: shapes)
        } catch where !fixed {
            return types
        }
        for node in graph.nodes {
            for o in node.outputs where !o.isEmpty {
                guard let shape = planned[o]?.shape, types[o]?.shape?.concrete == nil else { continue }
                if var t = types[o] { t.shape = shape; types[o] = t } else { types[o] = planned[o] }
            }
        }
        return types
    }

    /// `NAME=d0,d1,...` arguments as sizes by input name; malformed ones are usage errors.
    static func parseShapes(_ specs: [String]) throws -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw ValidationError("--input-shape '\(spec)' is not NAME=d0,d1,...")
            }
            let name = String(spec[..<eq])
            let sizes = spec[spec.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--input-shape '\(spec)' needs positive integer sizes, as NAME=1,224,224,3")
            }
            guard out[name] == nil else { throw ValidationError("--input-shape gives '\(name)' twice") }
            out[name] = sizes.map { $0! }
        }
        return out
    }
}

/// The terminal width for tables: `$COLUMNS`, else 120 on a terminal, else 120.
func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n >= 40 { return n }
    return 120
}
