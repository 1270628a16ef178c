import ArgumentParser
import AscentIR
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
    /// The types the IR's shape rules infer, symbolic where sizes are (`batch*seq`), concrete
    /// through shape computations (`Shape` → `Gather` → `Concat` → `Reshape`) once `--input-shape`
    /// fixes the inputs. With `fixed`, sizes the graph rejects are errors; otherwise inference is
    /// best effort.
    static func types(of graph: Graph, fixed: Bool) throws -> [String: ValueType] {
        fixed ? try graph.inferTypes() : (try? graph.inferTypes()) ?? [:]
    }
}

/// The terminal width for tables: `$COLUMNS`, else 120 on a terminal, else 120.
func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n >= 40 { return n }
    return 120
}
