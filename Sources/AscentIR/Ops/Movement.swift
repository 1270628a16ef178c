/// Ops that move, select or repeat elements without arithmetic: `Reshape`, `Flatten`,
/// `Transpose`, `Squeeze`, `Unsqueeze`, `Concat`, `Split`, `Slice`, `Pad`, `Tile`, `Expand`,
/// `DepthToSpace`, `SpaceToDepth`, `CenterCropPad`, `Trilu`, `ReverseSequence`, and the backward
/// primitives `SliceGrad(dy, x, starts, ends[, axes[, steps]])` (dy written where the Slice read,
/// in zeros shaped like x) and `PadGrad(dy, x, pads[, value[, axes]])` (each element added back
/// where Pad copied it from, any mode).
///
/// Index lists are inputs (the opset-13+ forms). Sizes stay exact through symbolic inputs where
/// the graph determines them (`Reshape` to `[N, -1]`, `Concat` of `[S]` and `[S]` is `[2*S]`), and
/// the size vectors exported graphs build from `Shape` are tracked symbolically through
/// `Concat`, `Slice`, `Squeeze`, `Unsqueeze`, `Reshape`.
extension OpDefinition {
    public static let reshape: OpDefinition = OpDefinition(
        "Reshape", inputs: 2...2, attributes: ReshapeAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 5, 13, 14, 19, 21, 23, 24, 25], changes: [
            .inputWasAttribute(input: 1, attribute: "shape", until: 5), .attributeAdded("allowzero", since: 14),
        ]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let request = ctx.dims(1) else {
                if let t = ctx.input(1), t.dtype != .int64, t.dtype != .int32 { throw ctx.error("shape input must be int64, is \(t.dtype.rawValue)") }
                let rank = ctx.shape(1)?.dims.first?.value
                return [ValueType(x.dtype, rank.map { Shape(Array(repeating: Dim.unknown, count: $0)) })]
            }
            return [ValueType(x.dtype, Shape(try reshaped(ctx, x.shape, request)))]
        },
        values: { ctx in [ctx.dims(0)] },
        vjp: { g in [g.dy.reshaped(like: g.x), nil] })

    public static let flatten: OpDefinition = OpDefinition(
        "Flatten", inputs: 1...1, attributes: AxisAttributes.self, traits: .movesData, onnx: ONNXHistory([1, 9, 11, 13, 21, 23, 24, 25]),
        shape: { ctx in
            guard let x = ctx.input(0), let s = x.shape else { return [ctx.input(0).map { ValueType($0.dtype, nil) }] }
            var axis = try ctx.attributes(AxisAttributes.self).axis
            if axis < 0 { axis += s.rank }
            guard axis >= 0, axis <= s.rank else { throw ctx.error("axis \(axis) is out of range for rank \(s.rank)") }
            return [ValueType(x.dtype, Shape([try ShapeRules.product(s.dims[..<axis]), try ShapeRules.product(s.dims[axis...])]))]
        },
        vjp: { g in [g.dy.reshaped(like: g.x)] })

    public static let transpose: OpDefinition = OpDefinition(
        "Transpose", inputs: 1...1, attributes: TransposeAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 13, 21, 23, 24, 25]),
        shape: { ctx in
            guard let x = ctx.input(0), let s = x.shape else { return [ctx.input(0)] }
            let perm = try ctx.attributes(TransposeAttributes.self).permutation(rank: s.rank)
            return [ValueType(x.dtype, Shape(perm.map { s.dims[$0] }))]
        },
        vjp: { g in
            guard let rank = g.rank(0) else { throw g.error("gradient of Transpose needs the input rank") }
            return [g.dy.transposed(ShapeRules.inverse(try g.attributes(TransposeAttributes.self).permutation(rank: rank)))]
        })

    public static let squeeze: OpDefinition = OpDefinition(
        "Squeeze", inputs: 1...2, attributes: AxesAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 11, 13, 21, 23, 24, 25], changes: [.inputWasAttribute(input: 1, attribute: "axes", until: 13)]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            let (known, given) = try axesList(ctx)
            guard let ds = data.shape, known else { return [ValueType(data.dtype, nil)] }
            let axes: [Int]
            if let given {
                axes = try ShapeRules.normalizedAxes(given, rank: ds.rank)
                for a in axes {
                    if let v = ds.dims[a].value, v != 1 { throw ctx.error("cannot squeeze axis \(a) of size \(v)") }
                }
            } else {
                guard ds.dims.allSatisfy({ $0.value != nil }) else { return [ValueType(data.dtype, nil)] }
                axes = ds.dims.indices.filter { ds.dims[$0] == .known(1) }
            }
            return [ValueType(data.dtype, Shape(ds.dims.indices.filter { !axes.contains($0) }.map { ds.dims[$0] }))]
        },
        values: { ctx in [ctx.dims(0)] },
        vjp: { g in [g.dy.reshaped(like: g.x), nil] })

    public static let unsqueeze: OpDefinition = OpDefinition(
        "Unsqueeze", inputs: 1...2, attributes: AxesAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 11, 13, 21, 23, 24, 25], changes: [.inputWasAttribute(input: 1, attribute: "axes", until: 13)]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            let (known, given) = try axesList(ctx)
            guard known else { return [ValueType(data.dtype, nil)] }
            guard let given else { throw ctx.error("missing axes") }
            guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
            let rank = ds.rank + given.count
            let axes = try ShapeRules.normalizedAxes(given, rank: rank)
            var rest = ds.dims.makeIterator()
            var dims: [Dim] = []
            for i in 0..<rank {
                if axes.contains(i) { dims.append(.known(1)) } else if let d = rest.next() { dims.append(d) }
            }
            return [ValueType(data.dtype, Shape(dims))]
        },
        values: { ctx in [ctx.dims(0)] },
        vjp: { g in [g.dy.reshaped(like: g.x), nil] })

    public static let concat: OpDefinition = OpDefinition(
        "Concat", inputs: 1...Int.max, attributes: ConcatAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 4, 11, 13], changes: [.conversion(.concatDefaultAxis, until: 4)]),
        shape: { ctx in
            guard let first = ctx.input(0), let s0 = first.shape else { return [ctx.input(0)] }
            guard s0.rank > 0 else { throw ctx.error("input 0 is a scalar; Concat needs rank 1 or more") }
            let axis = try ShapeRules.axis(try ctx.attributes(ConcatAttributes.self).axis, rank: s0.rank)
            var dims = s0.dims
            var total = s0.dims[axis]
            for i in 1..<ctx.inputTypes.count {
                guard let s = ctx.shape(i) else { return [ValueType(first.dtype, nil)] }
                guard s.rank == s0.rank else { throw ctx.error("input \(i) has rank \(s.rank), expected \(s0.rank)") }
                for d in 0..<s.rank where d != axis {
                    if case .known(let p) = dims[d], case .known(let q) = s.dims[d], p != q {
                        throw ctx.error("input \(i) has shape \(s), incompatible with \(s0) on axis \(d)")
                    }
                    if dims[d].value == nil, s.dims[d].value != nil { dims[d] = s.dims[d] }
                }
                total = total + s.dims[axis]
            }
            dims[axis] = total
            return [ValueType(first.dtype, Shape(dims), layout: first.layout)]
        },
        values: { ctx in
            var out: [Dim] = []
            for i in 0..<ctx.inputCount {
                guard let v = ctx.dims(i) else { return [nil] }
                out += v
            }
            return [out]
        },
        vjp: { g in
            guard let rank = g.y.rank else { throw g.error("gradient of Concat needs the output rank") }
            let axis = try ShapeRules.axis(try g.attributes(ConcatAttributes.self).axis, rank: rank)
            var offset = 0
            var grads: [ValueRef?] = []
            for i in 0..<g.inputCount {
                guard let size = g.shape(i)?.dims[axis].value else {
                    throw g.error("gradient of Concat needs the inputs' sizes along axis \(axis)")
                }
                grads.append(g.when(i) { g.dy.sliced(starts: [offset], ends: [offset + size], axes: [axis]) })
                offset += size
            }
            return grads
        })

    public static let split: OpDefinition = OpDefinition(
        "Split", inputs: 1...2, outputs: 1...Int.max, attributes: SplitAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 2, 11, 13, 18], changes: [.conversion(.splitForms, until: 13), .attributeAdded("num_outputs", since: 18)]),
        shape: { ctx in
            let n = ctx.outputCount
            guard let data = ctx.input(0) else { return Array(repeating: nil, count: n) }
            guard let ds = data.shape else { return Array(repeating: ValueType(data.dtype, nil), count: n) }
            let axis = try ShapeRules.axis(try ctx.attributes(SplitAttributes.self).axis, rank: ds.rank)
            var sizes: [Dim] = Array(repeating: .unknown, count: n)
            if ctx.has(1) {
                if let values = ctx.ints(1) {
                    guard values.count == n, values.allSatisfy({ $0 >= 0 }) else {
                        throw ctx.error("split \(values) does not give \(n) non-negative sizes")
                    }
                    if let total = ds.dims[axis].value, values.reduce(0, +) != total {
                        throw ctx.error("split \(values) does not add up to \(total)")
                    }
                    sizes = values.map(Dim.known)
                }
            } else if let total = ds.dims[axis].value {
                sizes = ShapeRules.equalSplit(size: total, parts: n).map(Dim.known)
            } else if case let d = ds.dims[axis].dividedExactly(by: .known(n)), d != .unknown {
                sizes = Array(repeating: d, count: n)
            }
            return sizes.map { d in
                var dims = ds.dims
                dims[axis] = d
                return ValueType(data.dtype, Shape(dims), layout: data.layout)
            }
        },
        vjp: { g in  // the outputs' cotangents joined back (zeros for outputs nothing flowed into)
            let parts = g.node.outputs.indices.map { i in g.cotangents[i] ?? g.zeros(like: g.output(i)) }
            return [parts[0].apply(.concat, Array(parts.dropFirst()), ["axis": .int(try g.attributes(SplitAttributes.self).axis)]), nil]
        })

    public static let slice: OpDefinition = OpDefinition(
        "Slice", inputs: 3...5, traits: .movesData,
        onnx: ONNXHistory([1, 10, 11, 13], changes: [.conversion(.sliceAttributes, until: 10)]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
            guard let r = try sliceRanges(ctx, rank: ds.rank) else {
                return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
            }
            var dims = ds.dims
            for (i, a) in r.axes.enumerated() { dims[a] = slicedSize(ds.dims[a], start: r.starts[i], end: r.ends[i], step: r.steps[i]) }
            return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
        },
        values: { ctx in
            guard let v = ctx.dims(0), let s = ctx.shape(0), s.rank == 1, let r = try sliceRanges(ctx, rank: 1), r.axes == [0] else {
                return [nil]
            }
            let (first, count) = ShapeRules.sliceRange(start: r.starts[0], end: r.ends[0], step: r.steps[0], size: v.count)
            return [(0..<count).map { v[first + $0 * r.steps[0]] }]
        },
        vjp: { g in [g.emit(.sliceGrad, names: [g.dy.name, g.x.name] + Array(g.node.inputs.dropFirst())), nil, nil, nil, nil] })

    public static let sliceGrad: OpDefinition = backward("SliceGrad", inputs: 4...6, like: 1)

    public static let pad: OpDefinition = OpDefinition(
        "Pad", inputs: 2...4, attributes: PadAttributes.self, traits: .movesData,
        onnx: ONNXHistory([1, 2, 11, 13, 18, 19, 21, 23, 24, 25], changes: [
            .conversion(.padAttributes, until: 11), .inputAdded(3, since: 18),
        ]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            _ = try ctx.attributes(PadAttributes.self)
            guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
            guard let pads = ctx.ints(1), !ctx.has(3) || ctx.ints(3) != nil else {
                return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))]
            }
            let axes = try ShapeRules.normalizedAxes(ctx.ints(3) ?? Array(0..<ds.rank), rank: ds.rank)
            guard pads.count == 2 * axes.count else { throw ctx.error("pads has \(pads.count) values, expected \(2 * axes.count)") }
            var dims = ds.dims
            for (i, a) in axes.enumerated() {
                let size = ds.dims[a] + .known(try ShapeRules.add(pads[i], pads[i + axes.count]))
                if let v = size.value, v < 0 { throw ctx.error("pads \(pads) crop axis \(a) below zero") }
                dims[a] = size
            }
            return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
        },
        vjp: { g in
            // Constant mode: the input's window of dy, i.e. dy padded by the negated pads (a crop;
            // negative forward pads, which cropped, pad the cotangent back with zeros). Edge,
            // reflect and wrap: PadGrad adds each element back where it was copied from.
            guard try g.attributes(PadAttributes.self).mode == .constant else {
                return [g.emit(.padGrad, names: [g.dy.name] + g.node.inputs, g.node.attributes), nil, nil, nil]
            }
            let axes = g.has(3) ? ["", g.node.inputs[3]] : []
            return [g.emit(.pad, names: [g.dy.name, (-g.input(1)).name] + axes, ["mode": .string("constant")]), nil, nil, nil]
        })

    public static let padGrad: OpDefinition = backward("PadGrad", inputs: 3...5, attributes: PadAttributes.self, like: 1)

    public static let tile: OpDefinition = OpDefinition(
        "Tile", inputs: 2...2, traits: .movesData, onnx: ONNXHistory([1, 6, 13], changes: [.conversion(.tile1, until: 6)]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            guard let ds = data.shape else { return [ValueType(data.dtype, nil)] }
            guard let r = ctx.ints(1) else { return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: ds.rank)))] }
            guard r.count == ds.rank, r.allSatisfy({ $0 >= 0 }) else { throw ctx.error("repeats \(r) do not match rank \(ds.rank)") }
            let dims = try zip(ds.dims, r).map { d, k -> Dim in
                if let v = d.value { return .known(try ShapeRules.multiply(v, k)) }
                return d * .known(k)
            }
            return [ValueType(data.dtype, Shape(dims), layout: data.layout)]
        },
        vjp: { g in  // dy viewed as [r0, d0, r1, d1, ...], summed over the repeats
            guard let rank = g.rank(0) else { throw g.error("gradient of Tile needs the input rank") }
            let repeats = g.input(1).cast(to: .int64).unsqueezed([1])
            let pairs = repeats.apply(.concat, [g.x.shapeOf().unsqueezed([1])], ["axis": .int(1)])
            let blocks = g.dy.reshaped(pairs.reshaped(g.ints([-1])))
            return [blocks.sum(axes: (0..<rank).map { 2 * $0 }, keepDims: false), nil]
        })

    public static let expand: OpDefinition = OpDefinition(
        "Expand", inputs: 2...2, traits: .movesData, onnx: ONNXHistory([8, 13]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            guard let ds = data.shape, let target = ctx.dims(1) else {
                let rank = ctx.shape(1)?.dims.first?.value
                if let ds = data.shape, let rank { return [ValueType(data.dtype, Shape(Array(repeating: Dim.unknown, count: Swift.max(rank, ds.rank))))] }
                return [ValueType(data.dtype, nil)]
            }
            if target.contains(where: { ($0.value ?? 0) < 0 }) { throw ctx.error("shape \(target) has a negative size") }
            do { return [ValueType(data.dtype, try ShapeRules.broadcast(ds, Shape(target)))] } catch let e as AscentError {
                throw e.within("node \(ctx.node.label)")
            }
        },
        vjp: { g in [g.dy, nil] })  // broadcasting: the engine sums the cotangent back (SumTo)

    public static let depthToSpace: OpDefinition = blockRearrangement("DepthToSpace", onnx: [1, 11, 13, 28], toSpace: true) { g in
        [g.dy.apply(.spaceToDepth, [], g.node.attributes)]
    }
    public static let spaceToDepth: OpDefinition = blockRearrangement("SpaceToDepth", onnx: [1, 13, 28], toSpace: false) { g in
        [g.dy.apply(.depthToSpace, [], g.node.attributes)]
    }

    public static let centerCropPad: OpDefinition = OpDefinition(
        "CenterCropPad", inputs: 2...2, attributes: OptionalAxesAttributes.self, traits: .movesData, onnx: ONNXHistory([18]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
            let axes = try ShapeRules.normalizedAxes(try ctx.attributes(OptionalAxesAttributes.self).axes ?? Array(0..<s.rank), rank: s.rank)
            var dims = s.dims
            let sizes = ctx.dims(1)
            for (i, a) in axes.enumerated() { dims[a] = sizes.map { i < $0.count ? $0[i] : .unknown } ?? .unknown }
            return [ValueType(x.dtype, Shape(dims))]
        },
        vjp: { g in  // cropping and padding about the centre are each other's adjoints
            var sizes = g.x.shapeOf()
            if let axes = try g.attributes(OptionalAxesAttributes.self).axes { sizes = sizes.apply(.gather, [g.ints(axes)]) }
            return [g.dy.apply(.centerCropPad, [sizes], g.node.attributes), nil]
        })

    public static let trilu: OpDefinition = OpDefinition(
        "Trilu", inputs: 1...2, attributes: TriluAttributes.self, onnx: ONNXHistory([14]),
        shape: { ctx in
            if let s = ctx.shape(0), s.rank < 2 { throw ctx.error("Trilu needs rank 2 or more, got \(s)") }
            return [ctx.input(0)]
        },
        vjp: { g in [g.emit(.trilu, names: [g.dy.name] + Array(g.node.inputs.dropFirst()), g.node.attributes), nil] })

    public static let reverseSequence: OpDefinition = OpDefinition(
        "ReverseSequence", inputs: 2...2, attributes: ReverseSequenceAttributes.self, traits: .movesData,
        onnx: ONNXHistory([10, 28]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in [g.dy.apply(.reverseSequence, [g.input(1)], g.node.attributes), nil] })

    // MARK: Helpers

    static func blockRearrangement(_ name: String, onnx versions: [Int], toSpace: Bool, vjp: @escaping VJPRule) -> OpDefinition {
        OpDefinition(name, inputs: 1...1, attributes: BlockAttributes.self, traits: .movesData, onnx: ONNXHistory(versions),
                     shape: { ctx in
                         guard let x = ctx.input(0) else { return [nil] }
                         let b = try ctx.attributes(BlockAttributes.self).blockSize
                         guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
                         guard s.rank == 4 else { throw ctx.error("needs a 4-D input, got \(s)") }
                         let bb = try ShapeRules.multiply(b, b)
                         func divided(_ d: Dim, by k: Int) throws -> Dim {
                             if let v = d.value, v % k != 0 { throw ctx.error("size \(v) is not a multiple of \(k)") }
                             return d.dividedExactly(by: .known(k))
                         }
                         let c = toSpace ? try divided(s.dims[1], by: bb) : s.dims[1] * .known(bb)
                         let h = toSpace ? s.dims[2] * .known(b) : try divided(s.dims[2], by: b)
                         let w = toSpace ? s.dims[3] * .known(b) : try divided(s.dims[3], by: b)
                         return [ValueType(x.dtype, Shape([s.dims[0], c, h, w]))]
                     },
                     vjp: vjp)
    }

    /// The shape `Reshape` gives `input` for a requested shape (0 copies the input's size unless
    /// `allowzero`, −1 takes what is left).
    static func reshaped(_ ctx: ShapeContext, _ input: Shape?, _ request: [Dim]) throws -> [Dim] {
        let allowZero = try ctx.attributes(ReshapeAttributes.self).allowZero
        var dims: [Dim] = []
        var inferred: Int? = nil
        for (i, r) in request.enumerated() {
            switch r {
            case .known(-1):
                guard inferred == nil else { throw ctx.error("more than one -1 in shape \(request)") }
                inferred = i
                dims.append(.unknown)
            case .known(0) where !allowZero:
                guard let s = input, i < s.rank else { dims.append(.unknown); continue }
                dims.append(s.dims[i])
            case .known(let v) where v < 0:
                throw ctx.error("invalid size \(v) in shape \(request)")
            default:
                dims.append(r)
            }
        }
        guard let input else { return dims }
        let total = try ShapeRules.product(input.dims)
        if let i = inferred {
            let rest = Dim.product(dims.enumerated().filter { $0.offset != i }.map(\.element))
            if let t = total.value, let k = rest.value, k > 0 {
                guard t % k == 0 else { throw ctx.error("cannot reshape \(input) to \(request)") }
                dims[i] = .known(t / k)
            } else if rest != .known(0) {
                dims[i] = total.dividedExactly(by: rest)
            }
        } else if let t = total.value, let n = Dim.product(dims).value, t != n {
            throw ctx.error("cannot reshape \(input) (\(t) elements) to \(Shape(dims))")
        }
        return dims
    }

    /// The axes of Squeeze/Unsqueeze: the second input when given (`known` false when it is not a
    /// constant), else the `axes` attribute (nil when there is neither).
    static func axesList(_ ctx: ShapeContext) throws -> (known: Bool, axes: [Int]?) {
        if ctx.has(1) {
            guard let v = ctx.ints(1) else { return (false, nil) }
            return (true, v)
        }
        return (true, try ctx.attributes(AxesAttributes.self).axes)
    }

    /// Slice's starts, ends, normalized axes and steps when all are constants.
    static func sliceRanges(_ ctx: ShapeContext, rank: Int) throws -> (starts: [Int], ends: [Int], axes: [Int], steps: [Int])? {
        guard let s = ctx.ints(1), let e = ctx.ints(2) else { return nil }
        if (ctx.has(3) && ctx.ints(3) == nil) || (ctx.has(4) && ctx.ints(4) == nil) { return nil }
        let axes = try ShapeRules.normalizedAxes(ctx.has(3) ? ctx.ints(3)! : Array(0..<s.count), rank: rank)
        let steps = ctx.has(4) ? ctx.ints(4)! : Array(repeating: 1, count: s.count)
        guard e.count == s.count, axes.count == s.count, steps.count == s.count else {
            throw ctx.error("starts, ends, axes and steps have different lengths")
        }
        guard !steps.contains(0) else { throw ctx.error("slice step is 0") }
        return (s, e, axes, steps)
    }

    /// The size a Slice takes from an axis of `size`: exact for a known size; for a symbolic one,
    /// the usual exported forms (`[k:]`, `[-k:]`, `[a:b]` with 0 ≤ a ≤ b), assuming the axis is
    /// long enough.
    static func slicedSize(_ size: Dim, start: Int, end: Int, step: Int) -> Dim {
        if let v = size.value { return .known(ShapeRules.sliceRange(start: start, end: end, step: step, size: v).count) }
        guard step == 1 else { return .unknown }
        let open = end >= Int(Int32.max)
        if open { return start >= 0 ? size - .known(start) : .known(-start) }
        if start >= 0, end >= start { return .known(end - start) }
        if start < 0, end < 0, end >= start { return .known(end - start) }
        return .unknown
    }
}

public struct ReshapeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("allowzero", 0)]
    public let allowZero: Bool
    public init(_ a: AttributeReader) throws { allowZero = try a.bool("allowzero") }
}

/// One `axis` attribute defaulting to 1 (`Flatten`).
public struct AxisAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 1)]
    public let axis: Int
    public init(_ a: AttributeReader) throws { axis = try a.int("axis") }
}

public struct TransposeAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("perm", kind: "ints")]
    public let perm: [Int]?
    public init(_ a: AttributeReader) throws { perm = try a.ints("perm") }
    /// The permutation for `rank` (reversed axes by default), checked.
    public func permutation(rank: Int) throws -> [Int] {
        let p = perm ?? Array((0..<rank).reversed())
        guard p.count == rank, Set(p) == Set(0..<rank) else {
            throw AscentError.invalid("perm \(p) is not a permutation of rank \(rank)")
        }
        return p
    }
}

/// An optional `axes` attribute (Squeeze and Unsqueeze before opset 13, CenterCropPad).
public struct AxesAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("axes", kind: "ints")]
    public let axes: [Int]?
    public init(_ a: AttributeReader) throws { axes = try a.ints("axes") }
}
public typealias OptionalAxesAttributes = AxesAttributes

public struct ConcatAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("axis", kind: "int")]
    public let axis: Int
    public init(_ a: AttributeReader) throws { axis = try a.int("axis") }
}

public struct SplitAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 0), .optional("num_outputs", kind: "int")]
    public let axis: Int, numOutputs: Int?
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        numOutputs = try a.optionalInt("num_outputs")
    }
}

public struct PadAttributes: OpAttributes {
    public enum Mode: String, Sendable { case constant, reflect, edge, wrap }
    public static let specs: [AttributeSpec] = [.string("mode", "constant")]
    public let mode: Mode
    public init(_ a: AttributeReader) throws {
        mode = Mode(rawValue: try a.choice("mode", ["constant", "reflect", "edge", "wrap"]))!
    }
}

public struct BlockAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("blocksize", kind: "int"), .string("mode", "DCR")]
    public let blockSize: Int
    /// `DCR` (depth-column-row, the default) or `CRD`.
    public let columnRowDepth: Bool
    public init(_ a: AttributeReader) throws {
        blockSize = try a.int("blocksize")
        guard blockSize > 0 else { throw AscentError.invalid("blocksize \(blockSize) is not positive") }
        columnRowDepth = try a.choice("mode", ["DCR", "CRD"]) == "CRD"
    }
}

public struct TriluAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("upper", 1)]
    public let upper: Bool
    public init(_ a: AttributeReader) throws { upper = try a.bool("upper") }
}

public struct ReverseSequenceAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("batch_axis", 1), .int("time_axis", 0)]
    public let batchAxis: Int, timeAxis: Int
    public init(_ a: AttributeReader) throws {
        batchAxis = try a.int("batch_axis")
        timeAxis = try a.int("time_axis")
    }
}
