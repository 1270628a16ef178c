import AscentImage
import AscentIR
import AscentModel
import AscentProbe
import Foundation

/// What the batches of one `ascent maximize` produced, gathered for its outputs: the inputs,
/// the pictures (and animation frames), the per-step records and the class probabilities.
struct MaximizeRun {
    let targets: [Target]
    let labels: ClassLabels?
    /// The indices (into ``targets``) this process ran, in order.
    private(set) var indices: [Int] = []
    private(set) var inputs: [Tensor] = []
    /// One picture per target run (empty when the input is not an image).
    private(set) var pictures: [Image] = []
    /// Each target's animation frames (empty without `--frames`).
    private(set) var frames: [[Image]] = []
    private(set) var batchSteps: [[Probe.Step]] = []
    private(set) var finalObjective: [Float] = []
    /// Each target's objective before every step, then at the final input.
    private(set) var objectives: [[Float]] = []
    private var batchProbabilities: [[[Float]]?] = []
    private(set) var summaries: [String] = []
    /// The layout of a 1-D signal input (nil: not a signal; `.some(nil)`: untagged).
    private var signalLayout: Bool??
    private(set) var seconds: Double = 0

    init(targets: [Target], labels: ClassLabels?) {
        self.targets = targets
        self.labels = labels
    }

    /// The class name a `logit:K` or `output:NAME:K` target asks for.
    func label(_ t: Target) -> String? {
        switch t {
        case .logit(let k), .output(_, let k): return labels?[k]
        default: return nil
        }
    }

    /// `logit:3 (three)` (`full`), or the grid's `logit:3 three`.
    func caption(_ t: Target, full: Bool) -> String {
        guard let name = label(t) else { return t.description }
        return full ? "\(t) (\(name))" : "\(t) \(name)"
    }

    mutating func add(batch: Range<Int>, result: Probe.Result, probe: Probe, deprocess: Deprocess, probabilities: [[Float]]?, seconds: Double) throws {
        indices += Array(batch)
        inputs.append(result.input)
        if probe.inputIsPicture {
            for k in 0..<batch.count {
                pictures.append(try Picture.image(from: result.input, index: k, channelsLast: probe.channelsLast, deprocess: deprocess))
                frames.append(try result.frames.map {
                    try Picture.image(from: $0.input, index: k, channelsLast: probe.channelsLast, deprocess: deprocess)
                })
            }
        }
        if probe.inputIsSignal { signalLayout = .some(probe.taggedChannelsLast) }
        batchSteps.append(result.steps)
        finalObjective += result.finalObjective
        objectives += (0..<batch.count).map { k in result.steps.map { $0.objective[k] } + [result.finalObjective[k]] }
        batchProbabilities.append(probabilities)
        summaries.append(probe.objective.summary)
        self.seconds += seconds
    }

    /// All inputs run, one batch after another along axis 0.
    var input: Tensor? {
        guard let first = inputs.first else { return nil }
        guard inputs.count > 1 else { return first }
        var shape = first.shape
        shape[0] = inputs.reduce(0) { $0 + $1.shape[0] }
        return Tensor(shape: shape, scalars: inputs.flatMap { $0.floats() })
    }

    /// Class probabilities of every target run, when the model ends in a softmax.
    var probabilities: [[Float]]? {
        var out: [[Float]] = []
        for p in batchProbabilities {
            guard let p else { return nil }
            out += p
        }
        return out
    }

    /// The step records of all batches side by side: step k's objectives and gradient norms of
    /// every target, its time summed over the batches.
    func mergedSteps() -> [Probe.Step] {
        guard var merged = batchSteps.first else { return [] }
        for steps in batchSteps.dropFirst() {
            for (k, step) in steps.enumerated() where k < merged.count {
                merged[k].objective += step.objective
                merged[k].gradientNorm += step.gradientNorm
                merged[k].milliseconds += step.milliseconds
            }
        }
        return merged
    }

    /// For a 1-D signal input: draws every target's optimized signal, one panel each.
    var signalPlot: (() throws -> Image)? {
        guard case .some(let layout) = signalLayout, let input else { return nil }
        let captions = indices.map { caption(targets[$0], full: true) }
        return { try Picture.signalPlot(from: input, channelsLast: layout, captions: captions) }
    }

    /// One picture, or a labelled grid for several.
    func grid() throws -> Image {
        guard pictures.count > 1 else { return pictures[0] }
        // Captions: the whole target, or without its kind when that does not fit.
        return try ImageGrid.make(zip(pictures, indices).map { picture, i in
            let room = max(picture.width, picture.height) < 96 ? 16 : 1000
            let full = caption(targets[i], full: false)
            let target = targets[i].description
            let short = String(target.drop { $0 != ":" }.dropFirst()) + (label(targets[i]).map { " " + $0 } ?? "")
            return (picture, full.count > room ? short : full)
        })
    }

    /// Writes each target's picture into `folder` (an APNG of the frames when there are any,
    /// its still the result) and returns the report's items.
    func writePictures(toFolder folder: String, frames count: Int?) throws -> [ProbeReport.Item] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let probabilities = self.probabilities
        return try indices.enumerated().map { k, i in
            var item = ProbeReport.Item(index: i, target: targets[i].description, label: label(targets[i]),
                                        objectives: objectives[k], probabilities: probabilities?[k],
                                        classNames: probabilities == nil ? nil : labels?.names)
            if k < pictures.count {
                let name = ProbeReport.pictureName(index: i, target: targets[i].description)
                let path = (folder as NSString).appendingPathComponent(name)
                if count != nil, !frames[k].isEmpty {
                    try APNG.write(still: pictures[k], frames: frames[k], delay: 2.0 / Double(frames[k].count), plays: 1, to: path)
                } else {
                    try PNG.write(pictures[k], to: path)
                }
                (item.picture, item.pictureWidth, item.pictureHeight) = (name, pictures[k].width, pictures[k].height)
            }
            return item
        }
    }
}
