import AscentIR

/// Gradients of an objective with respect to chosen values, planned once and run on any
/// inputs: the forward graph extended by ``GradientBuilder``, executed by a ``Session``.
///
/// ```swift
/// let grads = try Session.gradients(of: "logits", withRespectTo: ["input", "conv1/kernel"], in: graph)
/// let (objective, g) = try grads.run(["input": x])
/// ```
/// The gradient is that of the sum of the objective's elements (a cotangent of ones).
public final class GradientSession: Sendable {
    /// The graph that is run: forward plus backward nodes.
    public let gradientGraph: GradientGraph
    private let session: Session

    public init(graph: Graph, of objective: String, withRespectTo values: [String],
                options: Session.Options = .init()) throws {
        gradientGraph = try GradientBuilder.build(graph, of: objective, withRespectTo: values)
        session = try Session(graph: gradientGraph.graph, options: options)
    }

    /// The objective's value and d(sum of objective)/d(value) for each requested value.
    public func run(_ inputs: [String: Tensor]) throws -> (objective: Tensor, gradients: [String: Tensor]) {
        let out = try session.run(inputs)
        guard let objective = out[gradientGraph.objective] else {
            throw AscentError(.internal, "the gradient graph did not produce its objective")
        }
        var gradients: [String: Tensor] = [:]
        for (value, output) in gradientGraph.gradients {
            guard let g = out[output] else { throw AscentError(.internal, "the gradient graph did not produce d/d\(value)") }
            gradients[value] = g
        }
        return (objective, gradients)
    }
}

extension Session {
    /// A ``GradientSession`` for d(`objective`)/d(`values`) on `graph`.
    public static func gradients(of objective: String, withRespectTo values: [String], in graph: Graph,
                                 options: Options = .init()) throws -> GradientSession {
        try GradientSession(graph: graph, of: objective, withRespectTo: values, options: options)
    }
}
