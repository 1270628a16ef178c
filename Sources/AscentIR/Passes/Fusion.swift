
/// Graph rewrites that save whole passes over memory, applied to the runtime's private copy of
/// a graph (the caller's graph is untouched):
///
/// - **Conv + per-channel affine**: inference-mode BatchNormalization on the convolution's channel
///   axis, and Mul/Add/Sub/Div by constants that vary only along it (how exporters write a BN),
///   with constant weights, fold into the kernel and bias: `W' = W · s`, `b' = b · s + t` per
///   output channel (for BN, `s = scale / sqrt(var + epsilon)`, `t = B - mean · s`).
/// - **Conv + Relu / Clip**: the activation is applied by the convolution as it finishes
///   (a private `_activation_min`/`_activation_max` attribute pair on the Conv node).
///
/// A rewrite only applies when the intermediate value has no other reader and is not a graph output.
public enum Fusion {
    /// Attribute names of a fused clamp `y = min(max(y, lo), hi)` on a Conv node.
    public static let activationMin = "_activation_min"
    public static let activationMax = "_activation_max"

    public static func apply(_ graph: Graph) -> Graph {
        var g = graph
        foldBatchNorm(&g)
        fuseActivations(&g)
        return g
    }

    /// How many node inputs read each value, plus one for each graph output.
    private static func readers(_ g: Graph) -> [String: Int] {
        var count: [String: Int] = [:]
        for node in g.nodes { for i in node.inputs where !i.isEmpty { count[i, default: 0] += 1 } }
        for o in g.outputs { count[o.name, default: 0] += 1 }
        return count
    }

    /// The index of the only node reading `value`, when there is exactly one and it is not a graph output.
    private static func soleReader(of value: String, in g: Graph, readers: [String: Int], after index: Int) -> Int? {
        guard readers[value] == 1 else { return nil }
        return g.nodes[(index + 1)...].firstIndex { $0.inputs.contains(value) }
    }

    private static func floats(_ name: String, _ g: Graph) -> [Float]? {
        guard let t = g.initializers[name], t.dtype == .float32 else { return nil }
        return t.scalars(as: Float.self)
    }

    /// A per-output-channel affine map `y = x · scale + shift` that a node following a Conv applies.
    private static func affine(_ node: Node, reading value: String, channels: Int, channelAxis: Int, rank: Int,
                               _ g: Graph) -> (scale: [Float], shift: [Float])? {
        /// The values of a constant that varies at most along the channel axis, one per channel.
        func perChannel(_ name: String) -> [Float]? {
            guard let t = g.initializers[name], t.dtype == .float32, t.shape.count <= rank else { return nil }
            let aligned = Array(repeating: 1, count: rank - t.shape.count) + t.shape
            guard aligned.enumerated().allSatisfy({ $0.element == 1 || ($0.offset == channelAxis && $0.element == channels) }) else { return nil }
            let v = t.scalars(as: Float.self)
            return v.count == channels ? v : Array(repeating: v[0], count: channels)
        }
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        let inputs = node.inputs
        switch node.op {
        case OpDefinition.batchNormalization.name:
            guard inputs.count == 5, inputs[0] == value, node.outputs.dropFirst().allSatisfy(\.isEmpty),
                  (node.attributes["axis"]?.int).map({ $0 < 0 ? $0 + rank : $0 }) ?? 1 == channelAxis,
                  let scale = floats(inputs[1], g), let shift = floats(inputs[2], g),
                  let mean = floats(inputs[3], g), let variance = floats(inputs[4], g),
                  [scale, shift, mean, variance].allSatisfy({ $0.count == channels }) else { return nil }
            let epsilon = Float(node.attributes["epsilon"]?.float ?? 1e-5)
            let s = (0..<channels).map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
            return (s, (0..<channels).map { shift[$0] - mean[$0] * s[$0] })
        case OpDefinition.mul.name, OpDefinition.add.name:
            guard inputs.count == 2, inputs.contains(value), let c = perChannel(inputs[0] == value ? inputs[1] : inputs[0]) else { return nil }
            return node.is(.mul) ? (c, zeros) : (ones, c)
        case OpDefinition.sub.name, OpDefinition.div.name:
            guard inputs.count == 2, inputs[0] == value, inputs[1] != value, let c = perChannel(inputs[1]) else { return nil }
            return node.is(.sub) ? (ones, c.map { -$0 }) : (c.map { 1 / $0 }, zeros)
        default:
            return nil
        }
    }

    /// Folds per-channel affine nodes (BatchNormalization, Mul/Add/Sub/Div by channel constants)
    /// that follow a Conv with constant weights into its kernel and bias.
    static func foldBatchNorm(_ g: inout Graph) {
        var remove = Set<Int>()
        let counts = readers(g)
        for (ci, conv) in g.nodes.enumerated() where conv.is(.conv) && conv.inputs.count >= 2 && conv.outputs.count == 1 {
            guard let kernel = g.initializers[conv.inputs[1]], kernel.dtype == .float32, kernel.shape.count >= 3 else { continue }
            let channelsLast = conv.attributes["data_format"]?.string == DataFormat.channelsLast.rawValue
            let rank = kernel.shape.count
            let out = channelsLast ? kernel.shape[rank - 1] : kernel.shape[0]
            var bias = [Float](repeating: 0, count: out)
            if conv.inputs.count > 2, !conv.inputs[2].isEmpty {
                guard let b = floats(conv.inputs[2], g), b.count == out else { continue }
                bias = b
            }
            var scale = [Float](repeating: 1, count: out)
            var output = conv.outputs[0]
            while let next = soleReader(of: output, in: g, readers: counts, after: ci), !remove.contains(next),
                  let (s, t) = affine(g.nodes[next], reading: output, channels: out,
                                      channelAxis: channelsLast ? rank - 1 : 1, rank: rank, g) {
                // y = (x·W·scale + bias)·s + t
                for o in 0..<out {
                    scale[o] *= s[o]
                    bias[o] = bias[o] * s[o] + t[o]
                }
                remove.insert(next)
                output = g.nodes[next].outputs[0]
            }
            guard output != conv.outputs[0] else { continue }
            var w = kernel.scalars(as: Float.self)
            let inner = w.count / out
            for i in w.indices {
                // NHWC kernels end with the output channel; NCHW kernels start with it.
                w[i] *= scale[channelsLast ? i % out : i / inner]
            }
            let wName = unique("\(conv.name)/folded_kernel", g), bName = unique("\(conv.name)/folded_bias", g)
            g.initializers[wName] = Tensor(shape: kernel.shape, scalars: w)
            g.initializers[bName] = Tensor(shape: [out], scalars: bias)
            g.nodes[ci].inputs = [conv.inputs[0], wName, bName]
            g.nodes[ci].outputs = [output]
        }
        g.nodes = g.nodes.enumerated().filter { !remove.contains($0.offset) }.map(\.element)
        dropUnusedInitializers(&g)
    }

    static func fuseActivations(_ g: inout Graph) {
        var remove = Set<Int>()
        let counts = readers(g)
        for (ci, conv) in g.nodes.enumerated() where conv.is(.conv) && conv.outputs.count == 1 {
            guard conv.attributes[activationMin] == nil,
                  let ai = soleReader(of: conv.outputs[0], in: g, readers: counts, after: ci) else { continue }
            let act = g.nodes[ai]
            guard act.inputs.first == conv.outputs[0], act.outputs.count == 1 else { continue }
            var lo = -Double.infinity, hi = Double.infinity
            switch act.op {
            case OpDefinition.relu.name:
                lo = 0
            case OpDefinition.clip.name:
                func bound(_ i: Int) -> Double?? {
                    guard i < act.inputs.count, !act.inputs[i].isEmpty else { return .some(nil) }
                    guard let t = g.initializers[act.inputs[i]], t.dtype == .float32, t.count == 1 else { return nil }
                    return .some(Double(t.scalars(as: Float.self)[0]))
                }
                guard case .some(let a) = bound(1), case .some(let b) = bound(2) else { continue }
                lo = a ?? act.attributes["min"]?.float ?? lo
                hi = b ?? act.attributes["max"]?.float ?? hi
            default:
                continue
            }
            g.nodes[ci].attributes[activationMin] = .float(lo)
            g.nodes[ci].attributes[activationMax] = .float(hi)
            g.nodes[ci].outputs = act.outputs
            remove.insert(ai)
        }
        g.nodes = g.nodes.enumerated().filter { !remove.contains($0.offset) }.map(\.element)
        dropUnusedInitializers(&g)
    }

    /// Removes initializers no node or output reads any more (the unfolded weights).
    private static func dropUnusedInitializers(_ g: inout Graph) {
        var used = Set(g.outputs.map(\.name))
        for node in g.nodes { used.formUnion(node.inputs) }
        for name in g.initializers.keys where !used.contains(name) && !g.inputs.contains(where: { $0.name == name }) {
            g.initializers[name] = nil
        }
    }

    private static func unique(_ base: String, _ g: Graph) -> String {
        var name = base, i = 1
        let taken = Set(g.initializers.keys).union(g.nodes.flatMap(\.outputs)).union(g.inputs.map(\.name))
        while taken.contains(name) { i += 1; name = "\(base)_\(i)" }
        return name
    }
}
