import AscentIR
import Foundation

/// Converts one call of a custom Keras layer class into IR nodes, for classes Ascent has no
/// converter for (custom layers, Lambda). Return the call's output values.
///
/// ```swift
/// let converters: [String: KerasLayerConverter] = ["ScaledTanh": { layer in
///     let t = try layer.add("Tanh", [layer.inputs[0]])
///     return [try layer.add("Mul", [t, layer.constant(try layer.weight(0))])]
/// }]
/// let graph = try KerasImporter.load(path: "model.h5", customLayers: converters)
/// ```
public typealias KerasLayerConverter = (KerasLayerContext) throws -> [String]

/// What a ``KerasLayerConverter`` sees of a layer call, and how it adds nodes.
public final class KerasLayerContext {
    /// The layer's name in the graph (behind its nested models' names).
    public let name: String
    public let className: String
    /// The IR values passed to this call.
    public let inputs: [String]
    /// The layer's weights in file order.
    public let weights: [Tensor]
    /// The layer's `config` object as JSON text.
    public let configJSON: String
    var builder: GraphBuilder
    private let call: LayerCall

    init(call: LayerCall, builder: GraphBuilder) {
        self.call = call
        self.builder = builder
        name = call.name
        className = call.layer.className
        inputs = call.inputs
        weights = call.weights
        configJSON = call.config.jsonText
    }

    /// The inferred type of a value built so far.
    public func type(of value: String) -> ValueType? { builder.type(value) }

    /// Weight `index`, as float32, or an error naming the layer.
    public func weight(_ index: Int) throws -> Tensor { try call.weight(index, "#\(index)") }

    /// Adds a constant; returns its value name.
    public func constant(_ tensor: Tensor, name base: String = "const") -> String {
        builder.constant("\(name)/\(base)", tensor)
    }

    /// Adds a node; returns its output value (named after the layer).
    @discardableResult
    public func add(_ op: String, _ inputs: [String], attributes: [String: Attribute] = [:]) throws -> String {
        try builder.node(op, name: name, inputs: inputs, output: call.outputName + "/" + op, attributes: attributes)
    }

    /// An error naming the layer.
    public func error(_ message: String) -> AscentError { call.error(message) }
}

extension JSONValue {
    /// Compact JSON text of this value.
    var jsonText: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s):
            let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
            return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
        case .array(let a): return "[" + a.map(\.jsonText).joined(separator: ",") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { JSONValue.string($0).jsonText + ":" + o[$0]!.jsonText }.joined(separator: ",") + "}"
        }
    }
}
