import AscentIR
@testable import AscentRuntime
import Testing

/// Every kernel against reference outputs from onnxruntime or TensorFlow (`Fixtures/ops`).
@Suite struct OpFixtureTests {
    @Test func manifestIsPresent() {
        #expect(OpCase.all.count > 200, "run Tools/fixtures/generate to write Fixtures/ops")
    }

    /// Each case several ways: inputs fed at run time; integer inputs (shapes, axes, indices) as
    /// initializers, folded at plan time; every input but the first an initializer (weights known
    /// at plan time, as in real models: oneDNN primitives for channels-last Conv); and every input
    /// an initializer (the whole node folded).
    @Test(arguments: OpCase.all)
    func matchesReference(_ name: String) throws {
        let c = try OpCase(name)
        let integerInputs = Set(c.inputs.indices.filter { c.inputs[$0].map { !$0.dtype.isFloatingPoint } ?? false })
        let everything = Set(c.inputs.indices)
        var variants: [(String, Set<Int>)] = [("fed", [])]
        if !integerInputs.isEmpty && integerInputs != everything { variants.append(("integer inputs constant", integerInputs)) }
        let weights = everything.subtracting([0])
        if !weights.isEmpty && weights != integerInputs { variants.append(("all but the first input constant", weights)) }
        variants.append(("all constant", everything))
        for (label, constant) in variants {
            let session = try Session(graph: c.graph(constant: constant), options: .init(threads: 2))
            let results = try session.run(c.feeds(constant: constant))
            for (i, name) in c.outputNames.enumerated() {
                guard let actual = results[name] else {
                    Issue.record("\(c.name) (\(label)): no output '\(name)'")
                    continue
                }
                if let problem = mismatch(actual, c.outputs[i]) {
                    Issue.record("\(c.name) (\(label)) output \(i) vs \(c.reference): \(problem)")
                }
            }
        }
    }
}

@Suite struct KernelCoverageTests {
    /// Every op the IR defines can run (the placeholder for unsupported source ops aside).
    @Test func everyOpHasAKernel() {
        let missing = OpRegistry.definitions.keys.filter { $0 != Node.unsupportedOp && !KernelRegistry.has($0) }.sorted()
        #expect(missing.isEmpty, "ops without a kernel: \(missing)")
    }

    /// Every kernel is registered for an op the IR defines (one the registry lists, not a stray definition).
    @Test func everyKernelIsForADefinedOp() {
        let defined = Set(OpRegistry.all)
        let stray = KernelRegistry.definitions.filter { !defined.contains($0) }.map(\.description)
        #expect(stray.isEmpty, "kernels of ops the registry does not list: \(stray)")
    }
}
