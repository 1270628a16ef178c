/// The graph as the runtime computes it (``DType/computeDType``).
extension Graph {
    /// Attributes holding a `TensorProto.DataType` code of a value a node computes.
    public static let dtypeAttributes = ["to", "dtype", "output_datatype", "output_dtype"]

    /// The graph computed in ``DType/computeDType``: float16, bfloat16 and float64 initializers,
    /// tensor attributes, inputs, declared outputs and `valueInfo`, and dtype attributes (`Cast` `to`, `EyeLike` `dtype`...) become
    /// float32. A Cast to float16 or bfloat16 keeps its rounding: it becomes that Cast followed by
    /// a Cast back to float32 (`<output>/computed` is the narrow value).
    public func loweredToComputeTypes() -> Graph {
        var g = self
        func lowered(_ dtype: DType) -> DType { dtype.computeDType }
        for (name, t) in g.initializers where lowered(t.dtype) != t.dtype { g.initializers[name] = t.converted(to: lowered(t.dtype)) }
        for i in g.inputs.indices { g.inputs[i].type.dtype = lowered(g.inputs[i].type.dtype) }
        for i in g.outputs.indices { g.outputs[i].type.dtype = lowered(g.outputs[i].type.dtype) }
        for (name, t) in g.valueInfo where lowered(t.dtype) != t.dtype { g.valueInfo[name]?.dtype = lowered(t.dtype) }
        var nodes: [Node] = []
        nodes.reserveCapacity(g.nodes.count)
        for var node in g.nodes {
            var rounding: Node?
            for (key, attribute) in node.attributes {
                if let t = attribute.tensor, lowered(t.dtype) != t.dtype {
                    node.attributes[key] = .tensor(t.converted(to: lowered(t.dtype)))
                }
                guard Graph.dtypeAttributes.contains(key), let code = attribute.int, let dtype = DType(onnxCode: code),
                      lowered(dtype) != dtype else { continue }
                if node.is(.cast), dtype != .float64, let output = node.outputs.first {
                    let narrow = output + "/computed"
                    rounding = Node(name: node.name + "/computed", op: OpDefinition.cast.name, inputs: [narrow], outputs: [output],
                                    attributes: ["to": .int(DType.float32.onnxCode)])
                    node.outputs[0] = narrow
                } else {
                    node.attributes[key] = .int(lowered(dtype).onnxCode)
                }
            }
            nodes.append(node)
            if let rounding { nodes.append(rounding) }
        }
        g.nodes = nodes
        return g
    }
}
