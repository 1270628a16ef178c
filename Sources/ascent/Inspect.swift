import ArgumentParser
import AscentIR
import AscentRuntime
import Foundation

extension Ascent {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a model's inputs, outputs, layers with inferred shapes, parameters and unsupported ops.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, dot }

        @OptionGroup var model: ModelOptions

        @Option(help: "Output format: text, json or dot (Graphviz).")
        var format: Format = .text

        @OptionGroup var shapes: InputShapeOptions

        @Flag(help: "List the names targets can use (layer:NAME:C, neuron:NAME:C@i,j, output:NAME:K), layer-like values first.")
        var names = false

        func run() throws {
            try reportingErrors {
                var loaded = try model.load()
                let types: [String: ValueType]
                do {
                    let shapes = try self.shapes.shapes()
                    loaded.graph = try loaded.graph.fixingInputShapes(shapes)
                    types = try Inspect.types(of: loaded.graph, fixed: !shapes.isEmpty)
                } catch let e as AscentError {
                    throw e.inFile(model.model)
                }
                if names {
                    emit(InspectNames.render(loaded.graph, types: types))
                    return
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
}

/// The terminal width for tables: `$COLUMNS`, else 120 on a terminal, else 120.
func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n >= 40 { return n }
    return 120
}
