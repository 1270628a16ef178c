import ArgumentParser
import AscentIR
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

        @Option(help: "Architecture JSON for a weights-only Keras file.")
        var config: String?

        func run() throws {
            try reportingErrors {
                let loaded = try loadModel(model, config: config)
                let summary = GraphSummary(loaded.graph)
                switch format {
                case .text: emit(InspectText.render(loaded, summary, width: terminalWidth()))
                case .json: emit(try InspectJSON.render(loaded, summary) + "\n")
                case .dot: emit(InspectDot.render(loaded.graph, summary))
                }
            }
        }
    }
}

/// The terminal width for tables: `$COLUMNS`, else 120 on a terminal, else 120.
func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n >= 40 { return n }
    return 120
}
