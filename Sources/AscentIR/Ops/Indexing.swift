/// Ops that select, repeat or rearrange elements by index: Gather, Slice, Split, Pad, Tile,
/// Expand, Squeeze, Unsqueeze (ONNX opset-13+ forms: index lists are inputs, not attributes).
///
/// Where an index list is an input, the shape rule can only be exact when that input is a
/// constant; otherwise it keeps what it can (rank, untouched axes) and leaves the rest unknown.
public enum IndexingOps {
    static var schemas: [OpSchema] {
        [
            OpSchema("Gather", inputs: 2...2, attributes: [.optional("axis", .int(0))], infer: gather),
            OpSchema("Slice", inputs: 3...5, infer: slice),
            OpSchema("Split", inputs: 1...2, outputs: 1...Int.max,
                     attributes: [.optional("axis", .int(0)), .optional("num_outputs", kind: "int")], infer: split),
            OpSchema("Pad", inputs: 2...4, attributes: [.optional("mode", .string("constant"))], infer: pad),
            OpSchema("Tile", inputs: 2...2, infer: tile),
            OpSchema("Expand", inputs: 2...2, infer: expand),
            // Squeeze/Unsqueeze: `axes` is an input from opset 13; the attribute form is accepted too.
            OpSchema("Squeeze", inputs: 1...2, attributes: [.optional("axes", kind: "ints")], infer: squeeze),
            OpSchema("Unsqueeze", inputs: 1...2, attributes: [.optional("axes", kind: "ints")], infer: unsqueeze),
        ]
    }

    // MARK: Shared arithmetic (used by the shape rules and the runtime kernels)

    /// ONNX `Slice` along one axis of `size` elements: clamps `start`/`end` as the spec says
    /// (negative values count from the end; with a negative `step`, `start` clamps to
    /// `[0, size-1]` and `end` to `[-1, size-1]`) and returns the first index and the number of elements taken.
    public static func sliceRange(start: Int, end: Int, step: Int, size: Int) -> (first: Int, count: Int) {
        precondition(step != 0, "slice step 0")
        var s = start < 0 ? start &+ size : start
        var e = end < 0 ? end &+ size : end
        if step > 0 {
            s = min(max(s, 0), size)
            e = min(max(e, 0), size)
            return (s, e > s ? (e - s + step - 1) / step : 0)
        }
        let back = step == Int.min ? Int.max : -step
        s = min(max(s, 0), size - 1)
        e = min(max(e, -1), size - 1)
        return (s, s > e ? (s - e + back - 1) / back : 0)
    }

    /// The sizes `Split` gives along an axis of `size` when no split input is given:
    /// `parts` near-equal chunks, the last one smaller when `size` does not divide evenly.
    public static func equalSplit(size: Int, parts: Int) -> [Int] {
        guard parts > 0 else { return [] }
        let chunk = (size + parts - 1) / parts
        return (0..<parts).map { max(0, min(chunk, size - $0 * chunk)) }
    }

    /// Normalizes `axes` (negative counts from the end) for `rank`; throws on out-of-range or repeated axes.
    public static func normalizedAxes(_ axes: [Int], rank: Int) throws -> [Int] {
        var out: [Int] = []
        for a in axes {
            let n = try ShapeRules.axis(a, rank: rank)
            guard !out.contains(n) else { throw AscentError.invalid("axis \(a) is repeated in \(axes)") }
            out.append(n)
        }
        return out
    }

    // MARK: Shape rules

    @Sendable static func gather(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        if let t = ctx.input(1), t.dtype != .int64, t.dtype != .int32 {
            throw ctx.error("indices must be int64 or int32, are \(t.dtype.rawValue)")
        }
        guard let ds = data.shape, let isShape = ctx.shape(1) else { return [ValueType(data.dtype, nil)] }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: 0), rank: ds.rank)
        return [ValueType(data.dtype, Shape(Array(ds.dims[..<axis]) + isShape.dims + Array(ds.dims[(axis + 1)...])))]
    }

    @Sendable static func slice(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
        guard let starts = ctx.constant(1), let ends = ctx.constant(2) else {
            return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
        }
        let s = starts.int64s().map { Int($0) }, e = ends.int64s().map { Int($0) }
        let axesInput = ctx.node.inputs.count > 3 && !ctx.node.inputs[3].isEmpty
        let stepsInput = ctx.node.inputs.count > 4 && !ctx.node.inputs[4].isEmpty
        if (axesInput && ctx.constant(3) == nil) || (stepsInput && ctx.constant(4) == nil) {
            return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
        }
        let axes = try normalizedAxes(ctx.constant(3).map { $0.int64s().map { Int($0) } } ?? Array(0..<s.count), rank: ds.rank)
        let steps = ctx.constant(4).map { $0.int64s().map { Int($0) } } ?? Array(repeating: 1, count: s.count)
        guard e.count == s.count, axes.count == s.count, steps.count == s.count else {
            throw ctx.error("starts, ends, axes and steps have different lengths")
        }
        guard !steps.contains(0) else { throw ctx.error("slice step is 0") }
        var dims = ds.dims
        for i in 0..<axes.count {
            guard let size = ds.dims[axes[i]].value else { dims[axes[i]] = .unknown; continue }
            dims[axes[i]] = .known(sliceRange(start: s[i], end: e[i], step: steps[i], size: size).count)
        }
        return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
    }

    @Sendable static func split(_ ctx: InferenceContext) throws -> [ValueType?] {
        let n = ctx.node.outputs.count
        guard let data = ctx.input(0) else { return Array(repeating: nil, count: n) }
        guard let ds = data.shape else { return Array(repeating: ValueType(data.dtype, nil), count: n) }
        let axis = try ShapeRules.axis(try ctx.int("axis", default: 0), rank: ds.rank)
        var sizes: [Dim] = Array(repeating: .unknown, count: n)
        if ctx.node.inputs.count > 1, !ctx.node.inputs[1].isEmpty {
            if let split = ctx.constant(1) {
                let values = split.int64s().map { Int($0) }
                guard values.count == n, values.allSatisfy({ $0 >= 0 }) else {
                    throw ctx.error("split \(values) does not give \(n) non-negative sizes")
                }
                if let total = ds.dims[axis].value, values.reduce(0, +) != total {
                    throw ctx.error("split \(values) does not add up to \(total)")
                }
                sizes = values.map(Dim.known)
            }
        } else if let total = ds.dims[axis].value {
            sizes = equalSplit(size: total, parts: n).map(Dim.known)
        }
        return sizes.map { d in
            var dims = ds.dims
            dims[axis] = d
            return ValueType(data.dtype, Shape(dims), layout: data.layout)
        }
    }

    @Sendable static func pad(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        let mode = try ctx.string("mode", default: "constant")
        guard ["constant", "reflect", "edge", "wrap"].contains(mode) else {
            throw ctx.error("pad mode '\(mode)' is not constant, reflect, edge or wrap")
        }
        guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
        let axesInput = ctx.node.inputs.count > 3 && !ctx.node.inputs[3].isEmpty
        guard let padsTensor = ctx.constant(1), !axesInput || ctx.constant(3) != nil else {
            return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
        }
        let pads = padsTensor.int64s().map { Int($0) }
        let axes = try normalizedAxes(ctx.constant(3).map { $0.int64s().map { Int($0) } } ?? Array(0..<ds.rank), rank: ds.rank)
        guard pads.count == 2 * axes.count else {
            throw ctx.error("pads has \(pads.count) values, expected \(2 * axes.count)")
        }
        var dims = ds.dims
        for (i, a) in axes.enumerated() {
            guard let v = ds.dims[a].value else { dims[a] = .unknown; continue }
            let size = try ShapeRules.add(ShapeRules.add(v, pads[i]), pads[i + axes.count])
            guard size >= 0 else { throw ctx.error("pads \(pads) crop axis \(a) below zero") }
            dims[a] = .known(size)
        }
        return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
    }

    @Sendable static func tile(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
        guard let repeats = ctx.constant(1) else {
            return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
        }
        let r = repeats.int64s().map { Int($0) }
        guard r.count == ds.rank, r.allSatisfy({ $0 >= 0 }) else {
            throw ctx.error("repeats \(r) do not match rank \(ds.rank)")
        }
        let dims = try zip(ds.dims, r).map { d, k -> Dim in
            guard let v = d.value else { return k == 1 ? d : .unknown }
            return .known(try ShapeRules.multiply(v, k))
        }
        return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
    }

    @Sendable static func expand(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        guard let ds = data.shape, let target = ctx.constant(1) else { return [ValueType(data.dtype, nil)] }
        let sizes = target.int64s().map { Int($0) }
        guard sizes.allSatisfy({ $0 >= 0 }) else { throw ctx.error("shape \(sizes) has a negative size") }
        do {
            return [ValueType(data.dtype, try ShapeRules.broadcast(ds, Shape(sizes)))]
        } catch let e as AscentError {
            throw e.within("node \(ctx.node.label)")
        }
    }

    /// The axes of Squeeze/Unsqueeze: the second input when given (nil when it is not a constant),
    /// else the `axes` attribute (`given` false when there is neither).
    static func axesList(_ ctx: InferenceContext) throws -> (known: Bool, axes: [Int]?) {
        if ctx.node.inputs.count > 1, !ctx.node.inputs[1].isEmpty {
            guard let t = ctx.constant(1) else { return (false, nil) }
            return (true, t.int64s().map { Int($0) })
        }
        return (true, try ctx.ints("axes"))
    }

    @Sendable static func squeeze(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        let (known, given) = try axesList(ctx)
        guard let ds = data.shape, known else { return [ValueType(data.dtype, nil)] }
        let axes: [Int]
        if let given {
            axes = try normalizedAxes(given, rank: ds.rank)
            for a in axes {
                if let v = ds.dims[a].value, v != 1 { throw ctx.error("cannot squeeze axis \(a) of size \(v)") }
            }
        } else {
            guard ds.dims.allSatisfy({ $0.value != nil }) else { return [ValueType(data.dtype, nil)] }
            axes = ds.dims.indices.filter { ds.dims[$0] == .known(1) }
        }
        return [ValueType(data.dtype, Shape(ds.dims.indices.filter { !axes.contains($0) }.map { ds.dims[$0] }))]
    }

    @Sendable static func unsqueeze(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let data = ctx.input(0) else { return [nil] }
        let (known, given) = try axesList(ctx)
        guard known else { return [ValueType(data.dtype, nil)] }
        guard let given else { throw ctx.error("missing axes") }
        guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
        let rank = ds.rank + given.count
        let axes = try normalizedAxes(given, rank: rank)
        var rest = ds.dims.makeIterator()
        var dims: [Dim] = []
        for i in 0..<rank {
            if axes.contains(i) { dims.append(.known(1)) } else if let d = rest.next() { dims.append(d) }
        }
        return [ValueType(data.dtype, Shape(dims))]
    }
}

// MARK: - Gradients

extension IndexingOps {
    static let vjps: [String: VJPRule] = [
        // The outputs' cotangents joined back (zeros for outputs nothing flowed into).
        "Split": { ctx in
            var parts: [String] = []
            for (i, output) in ctx.node.outputs.enumerated() {
                if let g = ctx.cotangents[i] { parts.append(g); continue }
                parts.append(ctx.emit("ConstantOfShape", [ctx.emit("Shape", [output])],
                                      ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))]))
            }
            return [ctx.emit("Concat", parts, ["axis": .int(ctx.attribute("axis")?.int ?? 0)]), nil]
        },
        // The cotangent scattered back into a zero tensor shaped like the input.
        "Slice": { ctx in
            [ctx.emit("SliceGrad", [ctx.dy, ctx.input(0)] + Array(ctx.node.inputs.dropFirst())), nil, nil, nil, nil]
        },
        // Broadcasting: the engine sums the cotangent back to the input's shape (SumTo).
        "Expand": { ctx in [ctx.dy, nil] },
        // Constant mode: the input's window of dy, i.e. dy padded by the negated pads (a crop;
        // negative forward pads, which cropped, pad the cotangent back with zeros). Edge, reflect
        // and wrap: PadGrad adds each element back where it was copied from.
        "Pad": { ctx in
            let mode = ctx.attribute("mode")?.string ?? "constant"
            guard mode == "constant" else { return [ctx.emit("PadGrad", [ctx.dy] + ctx.node.inputs, ctx.node.attributes), nil, nil, nil] }
            let axes = ctx.node.inputs.count > 3 && !ctx.input(3).isEmpty ? ["", ctx.input(3)] : []
            return [ctx.emit("Pad", [ctx.dy, ctx.emit("Neg", [ctx.input(1)])] + axes, ["mode": .string("constant")]), nil, nil, nil]
        },
        // Gather and the other selections: IndexingVJPs.swift.
    ]
}
