import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the losses (Ops/Loss.swift): NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss.

/// NegativeLogLikelihoodLoss(input, target, weight?) and SoftmaxCrossEntropyLoss(scores, labels,
/// weights?) over `[N, C, d...]` float32 inputs and int32/int64 targets `[N, d...]`:
/// `loss = −w[t]·x[n, t, d]` (x = log-softmax of the scores for the latter), 0 where the target is
/// `ignore_index`; `reduction` none, sum, or mean (divided by the summed weights).
struct LossKernel: Kernel {
    let softmax: Bool
    let ignoreIndex: Int?
    let reduction: String
    let outputCount: Int

    /// `softmax` for SoftmaxCrossEntropyLoss (log-softmax of the scores first).
    init(_ a: LossAttributes, softmax: Bool, outputCount: Int) {
        self.softmax = softmax
        ignoreIndex = a.ignoreIndex
        reduction = a.reduction
        self.outputCount = max(1, outputCount)
    }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), t = try inputs.type(1)
        try requireFloat(x)
        guard t.dtype == .int64 || t.dtype == .int32 else { throw AscentError.invalid("target must be int64 or int32, is \(t.dtype.rawValue)") }
        guard x.rank >= 2, t.shape == [x.shape[0]] + Array(x.shape[2...]) else {
            throw AscentError.invalid("target \(t) does not match input \(x)")
        }
        if inputs.has(2) {
            let w = try inputs.type(2)
            guard w.shape == [x.shape[1]] else { throw AscentError.invalid("weight \(w) is not [\(x.shape[1])]") }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let xt = inputs[0], let tt = inputs[1] else { throw AscentError.invalid("missing input") }
        let weight = inputs.count > 2 ? inputs[2]?.floats() : nil
        let n = xt.shape[0], c = xt.shape[1], d = product(xt.shape[2...])
        var x = xt.floats()
        if softmax {
            for ni in 0..<n {
                for di in 0..<d {
                    var top = -Float.infinity
                    for ci in 0..<c { top = max(top, x[(ni * c + ci) * d + di]) }
                    var sum: Double = 0
                    for ci in 0..<c { sum += Double(expf(x[(ni * c + ci) * d + di] - top)) }
                    let l = Float(log(sum))
                    for ci in 0..<c { x[(ni * c + ci) * d + di] = x[(ni * c + ci) * d + di] - top - l }
                }
            }
        }
        let target = tt.int64s()
        var losses = [Float](repeating: 0, count: n * d)
        var total: Double = 0, weights: Double = 0
        for ni in 0..<n {
            for di in 0..<d {
                let t = Int(target[ni * d + di])
                if let ignoreIndex, t == ignoreIndex { continue }
                guard t >= 0, t < c else { throw AscentError.invalid("target \(t) is out of range for \(c) classes") }
                let w = weight.map { $0[t] } ?? 1
                let l = -w * x[(ni * c + t) * d + di]
                losses[ni * d + di] = l
                total += Double(l)
                weights += Double(w)
            }
        }
        var results: [Tensor]
        switch reduction {
        case "none": results = [Tensor(shape: outputs[0].shape, scalars: losses)]
        case "sum": results = [Tensor(shape: [], scalars: [Float(total)])]
        default: results = [Tensor(shape: [], scalars: [Float(total / weights)])]
        }
        if outputCount > 1 { results.append(Tensor(shape: xt.shape, scalars: x)) }
        return results
    }
}

extension KernelRegistry {
    static let loss: [(OpDefinition, KernelFactory)] = [
        (.negativeLogLikelihoodLoss, { LossKernel(try LossAttributes($0), softmax: false, outputCount: $0.outputs.count) }),
        (.softmaxCrossEntropyLoss, { LossKernel(try LossAttributes($0), softmax: true, outputCount: $0.outputs.count) }),
    ]
}
