extension Graph {
    /// Gradients through quantize–dequantize pairs (`--straight-through-quantization`): after every
    /// `DequantizeLinear` reading a `QuantizeLinear` of a floating-point value `x`, its output `y`
    /// becomes `StraightThrough(max(min(x, hi), lo), y)` — the same values, and a gradient that
    /// reaches `x` as if the pair were the identity, zero where `x` saturates: PyTorch's
    /// `fake_quantize_per_tensor_affine`/`per_channel_affine` gradient, which passes where
    /// `qmin ≤ round(x/scale) + zero_point ≤ qmax`, so `lo` and `hi` lie half a step beyond the
    /// dequantized ends of the type: `lo = 1.5·DQ(qmin) − 0.5·DQ(qmin + 1)`, `hi = 1.5·DQ(qmax) −
    /// 0.5·DQ(qmax − 1)`, each `DQ` with the pair's own scale, zero point and axis (so per tensor,
    /// per axis and blocked pairs alike). Pairs on other integer types, and quantized ops
    /// that are not such pairs (`QLinearConv`, `MatMulInteger`...), are left alone: a gradient
    /// through them is still refused, naming them.
    ///
    /// Returns the rewritten graph and the number of pairs.
    public func straightThroughQuantization() throws -> (graph: Graph, pairs: Int) {
        let types = try inferTypes()
        var producer: [String: Node] = [:]
        for node in nodes { for o in node.outputs where !o.isEmpty { producer[o] = node } }
        var g = self
        var pairs: [(dequantize: Node, x: String, quantized: String, y: String, range: ((Tensor, Tensor), (Tensor, Tensor)))] = []
        var taken = Set(g.nodes.flatMap(\.outputs)).union(g.inputs.map(\.name)).union(g.initializers.keys)
        for i in g.nodes.indices where g.nodes[i].is(.dequantizeLinear) {
            let d = g.nodes[i]
            guard let q = producer[d.inputs[0]], q.is(.quantizeLinear), let x = q.inputs.first,
                  types[x]?.dtype.isFloatingPoint == true, let dtype = types[d.inputs[0]]?.dtype,
                  let range = Graph.integerRange(dtype) else { continue }
            var renamed = d.outputs[0] + "_quantized"
            var n = 1
            while taken.contains(renamed) { renamed = d.outputs[0] + "_quantized_\(n)"; n += 1 }
            taken.insert(renamed)
            pairs.append((d, x, renamed, d.outputs[0], range))
            g.nodes[i].outputs[0] = renamed
        }
        guard !pairs.isEmpty else { return (self, 0) }
        let b = GraphBuilder(g)
        for pair in pairs {
            b.nodeName = pair.dequantize.name + "/straight_through"
            let shape = b.emit(.shape, [pair.x])
            func dequantized(_ q: Tensor) -> ValueRef {
                b.value(b.emit(.dequantizeLinear, [b.emit(.constantOfShape, [shape], ["value": .tensor(q)])]
                               + pair.dequantize.inputs.dropFirst(), pair.dequantize.attributes))
            }
            let (qmin, qmax) = pair.range
            let lo = dequantized(qmin.0) * 1.5 - dequantized(qmin.1) * 0.5
            let hi = dequantized(qmax.0) * 1.5 - dequantized(qmax.1) * 0.5
            let clipped = b.emit(.max, [b.emit(.min, [pair.x, hi.name]), lo.name])
            b.add(Node(name: b.nodeName, op: OpDefinition.straightThrough.name, inputs: [clipped, pair.quantized],
                       outputs: [pair.y]))
        }
        return (try b.graph.topologicallySorted(), pairs.count)
    }

    /// An integer type's smallest value and the next, and its largest and the one before, as
    /// one-element tensors of that type.
    static func integerRange(_ dtype: DType) -> ((Tensor, Tensor), (Tensor, Tensor))? {
        func ends<T: FixedWidthInteger & TensorScalar>(_: T.Type) -> ((Tensor, Tensor), (Tensor, Tensor)) {
            let t = { (v: T) in Tensor(shape: [1], scalars: [v]) }
            return ((t(T.min), t(T.min + 1)), (t(T.max), t(T.max - 1)))
        }
        switch dtype {
        case .int8: return ends(Int8.self)
        case .uint8: return ends(UInt8.self)
        case .int16: return ends(Int16.self)
        case .uint16: return ends(UInt16.self)
        default: return nil
        }
    }
}
