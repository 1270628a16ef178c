import ArgumentParser
import AscentIR
import AscentProbe
import Foundation

extension Ascent {
    /// `ascent report merge DIR... --output R`.
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Work with the report folders of `maximize --report`.",
            subcommands: [Merge.self])

        struct Merge: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Combine the reports of the shards of one run (`maximize --shard I/N --report DIR`) into one.",
                discussion: """
                Every shard 0..N-1 must be given once, all from the same model, targets, preset, seed, \
                steps, batch size and frames. The pictures are copied unchanged into the output folder, \
                which gets the merged report.json and index.html.
                """)

            @Argument(help: "The shards' report folders.")
            var folders: [String]

            @Option(name: .shortAndLong, help: "The folder for the merged report.")
            var output: String

            func validate() throws {
                guard !folders.isEmpty else { throw ValidationError("give the report folders of the shards") }
            }

            func run() throws {
                try reportingErrors {
                    let reports = try folders.map { try ProbeReport.read(folder: $0) }
                    let merged = try ProbeReport.merged(reports, names: folders)
                    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                    for (report, folder) in zip(reports, folders) {
                        for item in report.items {
                            guard let picture = item.picture else { continue }
                            let from = (folder as NSString).appendingPathComponent(picture)
                            guard let bytes = FileManager.default.contents(atPath: from) else {
                                throw AscentError(.missingFile, file: from, "picture of \(item.target) is missing from the shard's report")
                            }
                            try AtomicWriter.write([UInt8](bytes), to: (output as NSString).appendingPathComponent(picture))
                        }
                    }
                    try merged.write(toFolder: output)
                    emit("wrote \((output as NSString).appendingPathComponent("index.html")) (\(merged.items.count) targets from \(reports.count) shards)\n")
                }
            }
        }
    }
}
