import ArgumentParser
import AscentIR
import AscentModel
import AscentProbe
import AscentRuntime
import Foundation

extension Ascent {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a model's forward pass (or one forward+backward step with --grad).",
            discussion: """
            Reports median, min and max latency over --runs after --warmup runs, on the given inputs \
            or on seeded random inputs of the declared shapes (symbolic sizes become 1 unless \
            --input-shape fixes them), plus the import time and the peak resident memory.
            """)

        @OptionGroup var model: ModelOptions
        @OptionGroup var inputs: InputFileOptions
        @OptionGroup var shapes: InputShapeOptions

        @Option(help: "Timed runs.")
        var runs: Int = 20

        @Option(help: "Untimed runs first.")
        var warmup: Int = 3

        @OptionGroup var threads: ThreadOptions

        @Option(help: "Time one forward+backward step for this target instead of the forward pass.")
        var grad: String?

        @Flag(help: "Print one JSON line.")
        var json = false

        func validate() throws {
            guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
            guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more") }
        }

        func run() throws {
            try reportingErrors {
                let importStart = DispatchTime.now().uptimeNanoseconds
                let loaded = try model.load()
                let importMs = Double(DispatchTime.now().uptimeNanoseconds - importStart) / 1e6
                var graph = loaded.graph
                let options = threads.session
                let shapes = try self.shapes.shapes()
                // As inspect does: an unknown name, another rank or a contradicting size is refused.
                do { graph = try graph.fixingInputShapes(shapes) } catch let e as AscentError { throw e.inFile(model.model) }
                var feeds = try inputs.feeds(for: loaded)
                var rng = SystemRandomNumberGenerator()
                for input in graph.inputs where feeds[input.name] == nil {
                    feeds[input.name] = try randomInput(input, shape: shapes[input.name], rng: &rng)
                }
                if let grad {
                    let fixed = try graph.fixingInputShapes(feeds.filter { f in graph.inputs.contains { $0.name == f.key } }.mapValues(\.shape))
                    let objective = try Objective(try Target(parsing: grad), on: fixed)
                    let floating = graph.inputs.filter { $0.type.dtype.isFloatingPoint }.map(\.name)
                    graph = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: floating).graph
                }
                let session: Session
                do { session = try Session(graph: graph, options: options) } catch let e as AscentError { throw e.inFile(model.model) }
                for _ in 0..<warmup { _ = try session.run(feeds) }
                var times: [Double] = []
                for _ in 0..<runs {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try session.run(feeds)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
                times.sort()
                let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
                let peakMB = peakResidentMB()
                let name = (model.model as NSString).lastPathComponent
                if json {
                    let object: [String: Any] = [
                        "model": name, "median_ms": median, "min_ms": times.first!, "max_ms": times.last!,
                        "threads": options.threads, "runs": runs, "import_ms": importMs, "peak_rss_mb": peakMB,
                        "mode": grad.map { "grad:" + $0 } ?? "forward",
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                    emit(String(decoding: data, as: UTF8.self) + "\n")
                } else {
                    emit(String(format: "%@  %@  threads %d  runs %d\n  median %.3f ms  min %.3f ms  max %.3f ms\n  import %.1f ms  peak RSS %.1f MB\n",
                                name, grad.map { "forward+backward for " + $0 } ?? "forward", options.threads, runs,
                                median, times.first!, times.last!, importMs, peakMB))
                }
            }
        }

        /// Seeded-quality random values: floats in [0, 1), integers in [0, 10).
        func randomInput(_ input: ValueInfo, shape given: [Int]?, rng: inout SystemRandomNumberGenerator) throws -> Tensor {
            guard let dims = given ?? input.type.shape?.dims.map({ $0.value ?? 1 }) else {
                throw AscentError(.usage, "input '\(input.name)' has no declared shape: give --input-shape \(input.name)=...")
            }
            let n = dims.reduce(1, *)
            if input.type.dtype.isFloatingPoint {
                return Tensor(shape: dims, scalars: (0..<n).map { _ in Float.random(in: 0..<1, using: &rng) })
            }
            return Tensor(shape: dims, scalars: (0..<n).map { _ in Int64.random(in: 0..<10, using: &rng) }).converted(to: input.type.dtype)
        }
    }
}

/// This process's peak resident memory in MB: `VmHWM` from /proc/self/status, the high-water
/// mark of this program's own address space. (`getrusage`'s `ru_maxrss` survives `exec`: run
/// from a large parent, such as a Python process with TensorFlow loaded, it reports the parent's
/// size.) Falls back to `ru_maxrss` where /proc is missing.
func peakResidentMB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") {
        return kb / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}
