import AscentIR

/// A normalization that a model expects to happen before it, outside the exported graph
/// (torchvision's classifiers expect `(pixel − mean) / std` with ImageNet's statistics).
///
/// ``prepended(to:input:)`` puts it in front of the model, so a probe optimizes pixels in 0…1
/// and the model sees them normalized; everything the probe reads or writes (`--init`,
/// `--save-input`, `.npy` outputs, pictures) is then in pixel units.
public enum InputNormalization: String, Sendable, CaseIterable {
    /// `(x − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]` per RGB channel, pixels in 0…1.
    case imagenet

    public var mean: [Float] { [0.485, 0.456, 0.406] }
    public var std: [Float] { [0.229, 0.224, 0.225] }

    /// The range of the pixels before the normalization.
    public var pixelRange: ClosedRange<Float> { 0...1 }

    /// `graph` with the normalization applied to `input` before any of its consumers: the input
    /// keeps its name and type; its consumers read `<input>/normalized`.
    /// - Throws: `.invalidData` when the input is not an image with 3 channels (channels-first
    ///   or channels-last, by its layout tag, else by which of axes 1 and 3 has size 3).
    public func prepended(to graph: Graph, input: String) throws -> Graph {
        guard let info = graph.inputs.first(where: { $0.name == input }), let shape = info.type.shape, shape.rank == 4 else {
            throw AscentError.invalid("--input-range \(rawValue) needs an image input [N,3,H,W] or [N,H,W,3]; '\(input)' is \(graph.inputs.first { $0.name == input }?.type.description ?? "not an input")")
        }
        let axis: Int
        if let layout = info.type.layout, layout.rank == 4 { axis = layout.channelAxis }
        else if shape.dims[1].value == 3 { axis = 1 }
        else if shape.dims[3].value == 3 { axis = 3 }
        else { throw AscentError.invalid("--input-range \(rawValue) needs 3 colour channels; '\(input)' is \(info.type)") }
        guard shape.dims[axis].value == 3 else {
            throw AscentError.invalid("--input-range \(rawValue) needs 3 colour channels; '\(input)' is \(info.type)")
        }
        var b = ObjectiveBuilder(graph)
        var broadcast = [1, 1, 1, 1]
        broadcast[axis] = 3
        let mean = b.constant(Tensor(shape: broadcast, scalars: self.mean))
        let std = b.constant(Tensor(shape: broadcast, scalars: self.std))
        var g = b.graph
        let normalized = b.fresh("\(input)/normalized")
        let centred = b.fresh("\(input)/centred")
        for i in g.nodes.indices { g.nodes[i].inputs = g.nodes[i].inputs.map { $0 == input ? normalized : $0 } }
        for i in g.outputs.indices where g.outputs[i].name == input { g.outputs[i].name = normalized }
        g.nodes.insert(contentsOf: [
            Node(name: "\(rawValue)/sub", op: OpDefinition.sub.name, inputs: [input, mean], outputs: [centred]),
            Node(name: "\(rawValue)/div", op: OpDefinition.div.name, inputs: [centred, std], outputs: [normalized]),
        ], at: 0)
        return g
    }
}
