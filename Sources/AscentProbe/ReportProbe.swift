import AscentIR
import Foundation

/// What `ascent maximize --report DIR` records: the run and one item per target, written as
/// `DIR/report.json` beside the pictures and `DIR/index.html`. Shards of one run each write
/// one; ``merged(_:)`` combines them into the report of the whole run.
public struct ProbeReport: Codable, Sendable, Equatable {
    /// The format of `report.json`.
    public var version = 1
    /// The model file as given.
    public var model: String
    /// Facts about the model (format, inputs, outputs, parameters...), in order.
    public var modelFacts: [Report.Fact]
    /// The command line of each run that contributed (one per shard).
    public var commands: [String]
    public var preset: String
    public var seed: UInt64
    public var steps: Int
    public var batchSize: Int
    /// Every target of the run, shards included, in order.
    public var targets: [String]
    /// The slice this report covers; nil for a whole run (or a merged one).
    public var shard: Shard?
    /// Shards combined into this report (0 when not merged).
    public var mergedShards: Int = 0
    /// Frames of each animation (`--frames`), 0 for stills.
    public var frames: Int
    /// Where the class names came from, when there are any.
    public var labelsSource: String?
    /// Wall time of the optimization, summed over the shards.
    public var seconds: Double
    public var items: [Item]

    /// One target's result.
    public struct Item: Codable, Sendable, Equatable {
        /// Its position in ``ProbeReport/targets``.
        public var index: Int
        public var target: String
        /// The class name of the target's class (logit and output targets), if known.
        public var label: String?
        /// The picture file beside `report.json` (an APNG when frames were recorded), nil for
        /// inputs that are not images.
        public var picture: String?
        public var pictureWidth: Int?
        public var pictureHeight: Int?
        /// The objective before each step, then at the final input.
        public var objectives: [Float]
        /// Class probabilities at the final input, when the model ends in a softmax.
        public var probabilities: [Float]?
        /// Class names for ``probabilities``, when known.
        public var classNames: [String]?

        public init(index: Int, target: String, label: String? = nil, picture: String? = nil, pictureWidth: Int? = nil,
                    pictureHeight: Int? = nil, objectives: [Float], probabilities: [Float]? = nil, classNames: [String]? = nil) {
            self.index = index
            self.target = target
            self.label = label
            self.picture = picture
            self.pictureWidth = pictureWidth
            self.pictureHeight = pictureHeight
            self.objectives = objectives
            self.probabilities = probabilities
            self.classNames = classNames
        }
    }

    public init(model: String, modelFacts: [Report.Fact], commands: [String], preset: String, seed: UInt64, steps: Int,
                batchSize: Int, targets: [String], shard: Shard?, frames: Int, labelsSource: String?, seconds: Double, items: [Item]) {
        self.model = model
        self.modelFacts = modelFacts
        self.commands = commands
        self.preset = preset
        self.seed = seed
        self.steps = steps
        self.batchSize = batchSize
        self.targets = targets
        self.shard = shard
        self.frames = frames
        self.labelsSource = labelsSource
        self.seconds = seconds
        self.items = items
    }

    /// The file name of target `index`'s picture: `0003-logit_3.png` (characters outside
    /// `[A-Za-z0-9._-]` become `_`).
    public static func pictureName(index: Int, target: String) -> String {
        let safe = String(target.unicodeScalars.map { c -> Character in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "._-".unicodeScalars.contains(c)) ? Character(c) : "_"
        })
        return String(format: "%04d-", index) + safe.prefix(80) + ".png"
    }

    // MARK: - Files

    /// Reads `folder/report.json`.
    public static func read(folder: String) throws -> ProbeReport {
        let path = (folder as NSString).appendingPathComponent("report.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AscentError(.missingFile, file: path, FileManager.default.fileExists(atPath: folder) ? "no report.json in this folder (not an ascent report)" : "no such folder")
        }
        do {
            return try JSONDecoder().decode(ProbeReport.self, from: data)
        } catch {
            throw AscentError.invalid("not an ascent probe report: \(error)", file: path)
        }
    }

    /// Writes `folder/report.json` and `folder/index.html` (the pictures must be there already).
    public func write(toFolder folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicWriter.write(Array(try encoder.encode(self)), to: (folder as NSString).appendingPathComponent("report.json"))
        try page().write(toFolder: folder)
    }

    // MARK: - Merging shards

    /// The reports of the shards of one run as one report: items in target order.
    /// - Throws: `.invalidData` when the reports come from different runs (model, targets,
    ///   preset, seed, steps, batch size, frames or shard count differ), a shard is given twice
    ///   or one is missing.
    public static func merged(_ reports: [ProbeReport], names: [String]) throws -> ProbeReport {
        guard let first = reports.first else { throw AscentError(.usage, "give the report folders to merge") }
        for (report, name) in zip(reports, names).dropFirst() {
            let mismatch: String? =
                report.model != first.model ? "model \(report.model), not \(first.model)"
                : report.targets != first.targets ? "other targets (\(report.targets.count), not \(first.targets.count))"
                : report.preset != first.preset ? "preset \(report.preset), not \(first.preset)"
                : report.seed != first.seed ? "seed \(report.seed), not \(first.seed)"
                : report.steps != first.steps ? "\(report.steps) steps, not \(first.steps)"
                : report.batchSize != first.batchSize ? "batch size \(report.batchSize), not \(first.batchSize)"
                : report.frames != first.frames ? "\(report.frames) frames, not \(first.frames)"
                : report.shard?.count != first.shard?.count ? "\(report.shard.map { "shard \($0)" } ?? "no shard"), not a shard of \(first.shard?.count ?? 1)"
                : nil
            if let mismatch { throw AscentError.invalid("not a shard of the same run as \(names[0]): \(mismatch)", file: name) }
        }
        guard let count = first.shard?.count else {
            throw AscentError.invalid("this report is a whole run, not a shard (made without --shard)", file: names[0])
        }
        var seen: [Int: String] = [:]
        for (report, name) in zip(reports, names) {
            let i = report.shard!.index
            if let other = seen[i] { throw AscentError.invalid("shard \(i)/\(count) is given twice (also \(other))", file: name) }
            seen[i] = name
        }
        let missing = (0..<count).filter { seen[$0] == nil }
        guard missing.isEmpty else {
            throw AscentError.invalid("shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) missing: merge all \(count) shards")
        }
        var merged = first
        merged.shard = nil
        merged.mergedShards = count
        let ordered = reports.sorted { $0.shard!.index < $1.shard!.index }
        merged.commands = ordered.flatMap(\.commands)
        merged.seconds = ordered.reduce(0) { $0 + $1.seconds }
        merged.items = ordered.flatMap(\.items).sorted { $0.index < $1.index }
        return merged
    }

    // MARK: - The page

    /// The HTML report: the labelled pictures, each with its objective curve and class
    /// probabilities; the run and model facts; the command line.
    public func page() -> Report {
        let covered = shard.map { "shard \($0) of " } ?? ""
        var report = Report(title: "\((model as NSString).lastPathComponent): what maximizes each target",
                            subtitle: "\(items.count) of \(covered)\(targets.count) target\(targets.count == 1 ? "" : "s"), preset \(preset), \(steps) steps, seed \(seed)")
        let cards = items.map { item -> Report.Card in
            var card = Report.Card(title: item.target, subtitle: item.label)
            if let file = item.picture, let w = item.pictureWidth, let h = item.pictureHeight {
                card.picture = .init(.file(file), width: w, height: h, alt: "what maximizes \(item.target)")
            }
            card.curve = .init(item.objectives.map(Double.init), xLabel: "step", yLabel: "objective")
            if let p = item.probabilities, !p.isEmpty {
                let top = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(3)
                let asked = Target.classIndex(of: item.target)
                card.bars = top.map { k in
                    let name = item.classNames.flatMap { $0.indices.contains(k) && !$0[k].isEmpty ? $0[k] : nil }
                    return .init(name.map { "\(k) \($0)" } ?? "class \(k)", Double(p[k]), highlighted: k == asked)
                }
            }
            if let first = item.objectives.first, let last = item.objectives.last {
                card.notes = [String(format: "objective %.4g → %.4g", first, last)]
            }
            return card
        }
        report.sections.append(.init("Pictures", note: frames > 0 ? "Each picture plays the optimization in \(frames) frames, then shows the result." : nil, .cards(cards)))
        var run: [Report.Fact] = [
            .init("targets", targets.count <= 12 ? targets.joined(separator: ", ") : "\(targets.first!) … \(targets.last!) (\(targets.count))"),
            .init("preset", preset), .init("steps", "\(steps)"), .init("seed", "\(seed)"), .init("batch size", "\(batchSize)"),
        ]
        if let shard { run.append(.init("shard", "\(shard) (\(items.count) targets)")) }
        if mergedShards > 0 { run.append(.init("shards merged", "\(mergedShards)")) }
        if frames > 0 { run.append(.init("frames", "\(frames)")) }
        if let labelsSource { run.append(.init("class names", labelsSource)) }
        run.append(.init("time", String(format: "%.2f s of optimization%@", seconds, mergedShards > 0 ? " (all shards)" : "")))
        report.sections.append(.init("Run", .facts(run)))
        report.sections.append(.init("Model", .facts([.init("file", model)] + modelFacts)))
        report.sections.append(.init(commands.count == 1 ? "Command" : "Commands", .preformatted(commands.joined(separator: "\n"))))
        return report
    }
}

extension Target {
    /// The class a `logit:K` or `output:NAME:K` target asks for, parsed from its text.
    static func classIndex(of text: String) -> Int? {
        switch try? Target(parsing: text) {
        case .logit(let k)?: return k
        case .output(_, let k)?: return k
        default: return nil
        }
    }
}
