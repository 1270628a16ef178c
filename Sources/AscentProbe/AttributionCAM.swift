import AscentImage
import AscentIR
import AscentRuntime
import Foundation

/// The class-activation-map variants, as tf-keras-vis 0.8 and pytorch-grad-cam compute them from
/// a layer's activations `A` and gradients `g = ∂F/∂A` (sums over `i, j` run over the spatial
/// positions, over `c` over the channels):
/// - `gradCAM`: `ReLU(Σ_c α_c A_c)`, `α_c = mean_ij g_c(i,j)` (Captum's `LayerGradCam` with
///   `relu_attributions=True`);
/// - `gradCAMPlusPlus`: with `s = exp(F)`, `d₁ = s·g`, `d₂ = s·g²`, `d₃ = s·g³`:
///   `a = d₂ / (2·d₂ + d₃·Σ_ij A_c)` (denominator 1 where `d₂ = 0`), normalized to sum 1 over
///   `i, j` (where the sum is not 0), `w_c = Σ_ij a·ReLU(d₁)`, map `ReLU(Σ_c w_c A_c)`;
/// - `layerCAM`: `ReLU(Σ_c ReLU(g_c) ⊙ A_c)`.
public enum CAMVariant: String, Sendable { case gradCAM, gradCAMPlusPlus, layerCAM }

/// A layer value and the axes of its type.
struct LayerAxes {
    let value: String
    let type: ValueType
    let shape: [Int]      // with the batch of 1
    let channelAxis: Int
    let spatial: [Int]
    private let strides: [Int]

    init(value: String, type: ValueType, shape: [Int], channelAxis: Int) {
        (self.value, self.type, self.shape, self.channelAxis) = (value, type, shape, channelAxis)
        spatial = (1..<shape.count).filter { $0 != channelAxis }
        var s = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { s[a] = s[a + 1] * shape[a + 1] }
        strides = s
    }

    var channels: Int { shape[channelAxis] }
    var spatialShape: [Int] { spatial.map { shape[$0] } }
    var positions: Int { spatialShape.reduce(1, *) }

    /// Flat index of (channel c, row-major spatial position p) in the batch-1 value.
    func index(_ c: Int, _ p: Int) -> Int {
        var rest = p, i = c * strides[channelAxis]
        for a in spatial.reversed() { i += (rest % shape[a]) * strides[a]; rest /= shape[a] }
        return i
    }
}

extension Attribution {
    /// The layer the CAM methods use when none is named: the last value on the way to the target
    /// (in graph order) that has a layout tag of rank ≥ 3 and a spatial axis longer than 1 — a feature map —
    /// typically the last convolution block's output before global pooling and the head.
    /// - Throws: `.invalidData` when the model has no such value.
    public func defaultLayer() throws -> String {
        let g = objective.graph
        let types = try g.inferTypes()
        var needed: Set<String> = [objective.source]
        var candidate: String?
        for node in g.nodes.reversed() where node.outputs.contains(where: needed.contains) {
            for o in node.outputs where needed.contains(o) && candidate == nil {
                if let t = types[o], let layout = t.layout, let shape = t.shape, layout.rank == shape.rank, shape.rank >= 3,
                   t.dtype.isFloatingPoint, o != inputName,
                   (0..<shape.rank).contains(where: { $0 != 0 && $0 != layout.channelAxis && (shape.dims[$0].value ?? 2) > 1 }) {
                    candidate = o
                }
            }
            if candidate != nil { break }
            for i in node.inputs where !i.isEmpty { needed.insert(i) }
        }
        guard let candidate else {
            throw AscentError.invalid("the model has no layer with a spatial layout (a feature map [N,C,H,W], [N,H,W,C] or 1-D) on the way to \(target): the CAM methods need one")
        }
        return candidate
    }

    /// Resolves `name` (a node or value) to a spatial layer value with its concrete shape.
    func layerAxes(_ name: String?, itemShape: [Int]) throws -> LayerAxes {
        let g = objective.graph
        let types = try g.inferTypes()
        let value = try name.map { try Objective.resolveValue($0, in: g, types: types) } ?? defaultLayer()
        guard let t = types[value] else { throw AscentError.invalid("layer '\(name ?? value)': its type is unknown") }
        // The declared shape with the batch of 1, else the planner's (fusion off keeps every value).
        var dims: [Int?] = t.shape.map { [1] + $0.dims.dropFirst().map(\.value) } ?? []
        if dims.isEmpty || dims.contains(where: { $0 == nil }) {
            let shapes = try Session(graph: g, options: .init(threads: 1, fuseOperations: false))
                .valueTypes(inputShapes: [inputName: [1] + itemShape])
            dims = shapes[value]?.shape?.dims.map(\.value) ?? []
        }
        guard !dims.isEmpty, dims.allSatisfy({ $0 != nil }) else {
            throw AscentError.invalid("layer '\(name ?? value)': its shape is unknown for input [1, \(itemShape.map(String.init).joined(separator: ", "))]")
        }
        let shape = dims.map { $0! }
        guard shape.count >= 3, let layout = t.layout, layout.rank == shape.count, t.dtype.isFloatingPoint else {
            throw AscentError.invalid("layer '\(name ?? value)' (value '\(value)', \(t)) is not spatial: the CAM methods need a feature map with a channel axis and spatial axes ([N,C,H,W], [N,H,W,C], [N,C,W] or [N,W,C])")
        }
        return LayerAxes(value: value, type: t, shape: shape, channelAxis: layout.channelAxis)
    }

    /// Grad-CAM, Grad-CAM++ or LayerCAM at the layer, `[1, spatial...]` at its resolution.
    func cam(_ x: [Float], itemShape: [Int], variant: CAMVariant, options: Options) throws -> Map {
        let layer = try layerAxes(options.layer, itemShape: itemShape)
        var built = try GradientBuilder.build(objective.graph, of: objective.value, withRespectTo: [layer.value])
        built.graph.outputs.append(ValueInfo(name: layer.value, type: layer.type))
        var sessionOptions = Session.Options()
        if let threads { sessionOptions.threads = threads }
        let session = try Session(graph: built.graph, options: sessionOptions)
        let out = try session.run([inputName: Tensor(shape: [1] + itemShape, scalars: x)])
        let f = out[objective.value]!.floats()[0]
        let a = out[layer.value]!.floats(), g = out[built.gradients[layer.value]!]!.floats()
        let (channels, positions) = (layer.channels, layer.positions)
        var weights = [Double](repeating: 0, count: channels)
        var cam = [Double](repeating: 0, count: positions)
        switch variant {
        case .gradCAM:
            for c in 0..<channels {
                weights[c] = (0..<positions).reduce(0.0) { $0 + Double(g[layer.index(c, $1)]) } / Double(positions)
                for p in 0..<positions { cam[p] += weights[c] * Double(a[layer.index(c, p)]) }
            }
        case .layerCAM:
            for c in 0..<channels {
                for p in 0..<positions { let i = layer.index(c, p); cam[p] += max(0, Double(g[i])) * Double(a[i]) }
            }
        case .gradCAMPlusPlus:
            let s = Double(Float(exp(Double(f))))
            for c in 0..<channels {
                let total = (0..<positions).reduce(0.0) { $0 + Double(a[layer.index(c, $1)]) }
                var alphas = [Double](repeating: 0, count: positions)
                for p in 0..<positions {
                    let gi = Double(g[layer.index(c, p)])
                    let d2 = s * gi * gi, d3 = d2 * gi
                    let denominator = 2 * d2 + d3 * total + (d2 == 0 ? 1 : 0)
                    alphas[p] = d2 / denominator
                }
                var norm = alphas.reduce(0, +)
                if norm == 0 { norm = 1 }
                weights[c] = (0..<positions).reduce(0.0) { $0 + alphas[$1] / norm * max(0, s * Double(g[layer.index(c, $1)])) }
                for p in 0..<positions { cam[p] += weights[c] * Double(a[layer.index(c, p)]) }
            }
        }
        var m = Map(values: Tensor(shape: [1] + layer.spatialShape, scalars: cam.map { Float(max(0, $0)) }), objective: f)
        m.layer = layer.value
        m.layerType = layer.type
        return m
    }

    /// Score-CAM as tf-keras-vis computes it: each channel `A_c` is enlarged to the input's
    /// spatial size (linear, corners aligned), min-max normalized to `M_c ∈ [0, 1]`
    /// (`(A − min)/(max − min + 1e-7)`), and the input masked by it (`x ⊙ M_c`, every input
    /// channel alike) is run through the model; the weight `w_c` is the target's softmax
    /// probability on the masked input (for `logit:K` and `output:NAME:K`: softmax over the
    /// values the target picks from, at K; for layer targets the target's value itself). The map is
    /// `ReLU(Σ_c w_c A_c)` at the layer's resolution.
    func scoreCAM(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        let layer = try layerAxes(options.layer, itemShape: itemShape)
        let inputChannelAxis = channelsLast ? itemShape.count - 1 : 0
        let inputSpatial = (0..<itemShape.count).filter { $0 != inputChannelAxis }.map { itemShape[$0] }
        guard inputSpatial.count == layer.spatial.count else {
            throw AscentError.invalid("Score-CAM: layer '\(layer.value)' has \(layer.spatial.count) spatial axes, the input \(inputSpatial.count)")
        }
        let isClassTarget: Bool
        switch target { case .logit, .output: isClassTarget = true; default: isClassTarget = false }
        let classIndex: Int
        switch target { case .logit(let k), .output(_, let k): classIndex = k; default: classIndex = 0 }
        let extra = isClassTarget ? [layer.value, objective.source] : [layer.value]
        let session = try forwardSession(extra: Array(Set(extra)).sorted())
        let first = try session.run([inputName: Tensor(shape: [1] + itemShape, scalars: x)])
        let f = first[objective.value]!.floats()[0]
        let a = first[layer.value]!.floats()
        // The normalized, enlarged masks.
        var masks: [[Float]] = []
        for c in 0..<layer.channels {
            let map = (0..<layer.positions).map { a[layer.index(c, $0)] }
            let up = Resample.linear(map, from: layer.spatialShape, to: inputSpatial)
            let lo = up.min()!, hi = up.max()!
            masks.append(up.map { ($0 - lo) / (hi - lo + 1e-7) })
        }
        let channelCount = itemShape[inputChannelAxis]
        var weights = [Float](repeating: 0, count: layer.channels)
        try runBatched(session, itemShape: itemShape, count: layer.channels, batch: options.batch, item: { c, dst in
            let mask = masks[c]
            for i in 0..<x.count {
                let position = channelsLast ? i / channelCount : i % (x.count / channelCount)
                dst[i] = x[i] * mask[position]
            }
        }, collect: { c, outputs, b in
            guard isClassTarget else { weights[c] = outputs[objective.value]!.floats()[b]; return }
            let logits = outputs[objective.source]!
            let classes = logits.shape.last!
            let row = Array(logits.floats()[(b * classes)..<((b + 1) * classes)])
            let top = row.max()!
            let e = row.map { exp(Double($0 - top)) }
            weights[c] = Float(e[classIndex] / e.reduce(0, +))
        })
        var cam = [Double](repeating: 0, count: layer.positions)
        for c in 0..<layer.channels {
            for p in 0..<layer.positions { cam[p] += Double(weights[c]) * Double(a[layer.index(c, p)]) }
        }
        var m = Map(values: Tensor(shape: [1] + layer.spatialShape, scalars: cam.map { Float(max(0, $0)) }), objective: f)
        m.layer = layer.value
        m.layerType = layer.type
        return m
    }
}
