import AscentIR
@testable import AscentRuntime
import AscentTestSupport
import Testing

/// Every kernel against reference outputs from onnxruntime or TensorFlow (`Fixtures/ops`).
@Suite struct OpFixtureTests {
    /// The tolerance of every case: `|ours − reference| ≤ 1e-5 + 1e-4·|reference|` per element
    /// (integers and booleans exact), NaN only where the reference has NaN, same dtype and shape.
    static let rtol = 1e-4, atol = 1e-5

    /// Runs a one-node graph on feeds: a real `Session` (two threads) in the suite; a test can
    /// pass another to show what the comparison catches.
    typealias Runner = @Sendable (_ graph: Graph, _ feeds: [String: Tensor]) throws -> [String: Tensor]

    static let session: Runner = { graph, feeds in
        try Session(graph: graph, options: .init(threads: 2)).run(feeds)
    }

    @Test func manifestIsPresent() {
        #expect(OpCase.all.count > 200, "run Tools/fixtures/generate to write Fixtures/ops")
    }

    /// Each case several ways: inputs fed at run time; integer inputs (shapes, axes, indices) as
    /// initializers, folded at plan time; every input but the first an initializer (weights known
    /// at plan time, as in real models: oneDNN primitives for channels-last Conv); and every input
    /// an initializer (the whole node folded).
    @Test(arguments: OpCase.all)
    func matchesReference(_ name: String) throws {
        for problem in try Self.problems(try OpCase(name), run: Self.session) { Issue.record(Comment(rawValue: problem)) }
    }

    /// What is wrong with case `c` when its graph runs through `run`, one line per output and variant.
    static func problems(_ c: OpCase, run: Runner) throws -> [String] {
        let integerInputs = Set(c.inputs.indices.filter { c.inputs[$0].map { !$0.dtype.isFloatingPoint } ?? false })
        let everything = Set(c.inputs.indices)
        var variants: [(String, Set<Int>)] = [("fed", [])]
        if !integerInputs.isEmpty && integerInputs != everything { variants.append(("integer inputs constant", integerInputs)) }
        let weights = everything.subtracting([0])
        if !weights.isEmpty && weights != integerInputs { variants.append(("all but the first input constant", weights)) }
        variants.append(("all constant", everything))
        var problems: [String] = []
        for (label, constant) in variants {
            let results = try run(c.graph(constant: constant), c.feeds(constant: constant))
            for (i, name) in c.outputNames.enumerated() {
                guard let actual = results[name] else {
                    problems.append("\(c.name) (\(label)): no output '\(name)'")
                    continue
                }
                if let mismatch = Closeness.elementwise(actual, c.outputs[i], rtol: rtol, atol: atol).mismatch {
                    problems.append("\(c.name) (\(label)) output \(i) vs \(c.reference): \(mismatch)")
                }
            }
        }
        return problems
    }

    /// A kernel that returns NaN — here every session's floating outputs with one element turned
    /// to NaN, at a position that moves from case to case (first, last, in between) — makes the
    /// suite fail on every case that has a floating output.
    @Test func aNaNReturningKernelFailsTheSuite() throws {
        var corrupted = 0, caught = 0
        for (k, name) in OpCase.all.enumerated() {
            let c = try OpCase(name)
            guard c.outputs.contains(where: { $0.dtype.isFloatingPoint && $0.doubles().contains { !$0.isNaN } }) else { continue }
            corrupted += 1
            let expected = Dictionary(uniqueKeysWithValues: zip(c.outputNames, c.outputs))
            let nanKernel: Runner = { graph, feeds in
                var outputs = try Self.session(graph, feeds)
                for (name, t) in outputs where t.dtype.isFloatingPoint && t.count > 0 {
                    // Where the reference is a number (a NaN there would rightly match).
                    let reference = expected[name]?.doubles() ?? []
                    let places = [0, t.count - 1, t.count / 2].rotated(by: k % 3) + Array(0..<t.count)
                    guard let at = places.first(where: { $0 < reference.count && !reference[$0].isNaN }) else { continue }
                    var values = t.doubles()
                    values[at] = .nan
                    outputs[name] = Tensor(shape: t.shape, scalars: values).converted(to: t.dtype)
                }
                return outputs
            }
            let problems = try Self.problems(c, run: nanKernel)
            if !problems.isEmpty && problems.allSatisfy({ $0.contains("nan vs expected") }) { caught += 1 } else {
                Issue.record("\(name): a NaN output was not caught: \(problems)")
            }
        }
        #expect(corrupted >= 200 && caught == corrupted, "\(caught) of \(corrupted) corrupted cases caught")
    }
}

extension Array {
    func rotated(by n: Int) -> [Element] { isEmpty ? self : Array(self[(n % count)...] + self[..<(n % count)]) }
}

@Suite struct KernelCoverageTests {
    /// Every op the IR defines can run (the placeholder for unsupported source ops aside): it has a
    /// kernel, or a decomposition the planner writes out first (contrib ops, QLinearConv) into ops
    /// that have kernels.
    @Test func everyOpHasAKernel() {
        let missing = OpRegistry.all.filter { $0.name != Node.unsupportedOp && !KernelRegistry.has($0.name) && $0.decomposition == nil }
        #expect(missing.isEmpty, "ops without a kernel or decomposition: \(missing.map(\.name).sorted())")
    }

    /// The ops defined by decomposition alone are the contrib ops and QLinearConv, and each plans and
    /// runs through ops with kernels only (`Fixtures/onnx-ort` runs every one of them).
    @Test func decomposedOpsAreContribOrQuantized() {
        let decomposed = OpRegistry.all.filter { $0.name != Node.unsupportedOp && !KernelRegistry.has($0.name) }
        #expect(decomposed.count >= 20)
        let other = decomposed.filter { $0.domain != OpDefinition.microsoftDomain && $0 != .qLinearConv }.map(\.name)
        #expect(other.isEmpty, "ops without a kernel: \(other)")
    }

    /// Every kernel is registered for an op the IR defines (one the registry lists, not a stray definition).
    @Test func everyKernelIsForADefinedOp() {
        let defined = Set(OpRegistry.all)
        let stray = KernelRegistry.definitions.filter { !defined.contains($0) }.map(\.description)
        #expect(stray.isEmpty, "kernels of ops the registry does not list: \(stray)")
    }
}
