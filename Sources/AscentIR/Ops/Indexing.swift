/// Ops that read or write elements by index: `Gather`, `GatherElements`, `GatherND`,
/// `ScatterElements`, `ScatterND`, `TensorScatter`, `Compress`, `NonZero`, `TopK`, `Unique`,
/// `OneHot`.
///
/// Gathers are linear in their data, so their cotangent is the adjoint selection: `dy` added into
/// zeros at the gathered positions (repeated indices accumulate).
extension OpDefinition {
    public static let gather: OpDefinition = OpDefinition(
        "Gather", inputs: 2...2, attributes: GatherAttributes.self, traits: .movesData, onnx: ONNXHistory([1, 11, 13]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            try requireIndices(ctx, 1)
            guard let ds = data.shape, let isShape = ctx.shape(1) else { return [ValueType(data.dtype, nil)] }
            guard ds.rank >= 1 else { throw ctx.error("cannot gather from a scalar") }
            let axis = try ShapeRules.axis(try ctx.attributes(GatherAttributes.self).axis, rank: ds.rank)
            return [ValueType(data.dtype, Shape(Array(ds.dims[..<axis]) + isShape.dims + Array(ds.dims[(axis + 1)...])))]
        },
        values: { ctx in
            guard let v = ctx.dims(0), ctx.shape(0)?.rank == 1, let indices = ctx.ints(1), ctx.shape(1).map({ $0.rank <= 1 }) ?? false else {
                return [nil]
            }
            return [indices.map { i in
                let j = i < 0 ? i + v.count : i
                return j >= 0 && j < v.count ? v[j] : .unknown
            }]
        },
        vjp: { g in
            guard let rank = g.rank(1) else { throw g.error("gradient of Gather needs the indices' rank") }
            return [try gatherBackward(g, indices: g.input(1), indexRank: rank, axis: try g.attributes(GatherAttributes.self).axis), nil]
        })

    public static let gatherElements: OpDefinition = OpDefinition(
        "GatherElements", inputs: 2...2, attributes: GatherAttributes.self, traits: .movesData, onnx: ONNXHistory([11, 13]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            try requireIndices(ctx, 1)
            if let s = ctx.shape(1), let ds = data.shape, s.rank != ds.rank {
                throw ctx.error("indices have rank \(s.rank), data has rank \(ds.rank)")
            }
            return [ValueType(data.dtype, ctx.shape(1))]
        },
        vjp: { g in
            let axis = try g.attributes(GatherAttributes.self).axis
            return [g.emit(.scatterElements, [g.zeros(like: g.x), g.input(1), g.dy], ["axis": .int(axis), "reduction": .string("add")]), nil]
        })

    public static let gatherND: OpDefinition = OpDefinition(
        "GatherND", inputs: 2...2, attributes: GatherNDAttributes.self, traits: .movesData, onnx: ONNXHistory([11, 12, 13]),
        shape: { ctx in
            guard let data = ctx.input(0) else { return [nil] }
            guard let ds = data.shape, let isShape = ctx.shape(1), let k = isShape.dims.last?.value else { return [ValueType(data.dtype, nil)] }
            let b = try ctx.attributes(GatherNDAttributes.self).batchDims
            guard b + k <= ds.rank else { throw ctx.error("indices \(isShape) do not fit data \(ds)") }
            return [ValueType(data.dtype, Shape(Array(isShape.dims.dropLast()) + Array(ds.dims[(b + k)...])))]
        },
        vjp: { g in
            guard try g.attributes(GatherNDAttributes.self).batchDims == 0 else {
                throw g.error("gradient of GatherND with batch_dims is not supported")
            }
            return [g.emit(.scatterND, [g.zeros(like: g.x), g.input(1), g.dy], ["reduction": .string("add")]), nil]
        })

    public static let scatterElements: OpDefinition = OpDefinition(
        "ScatterElements", inputs: 3...3, attributes: ScatterAttributes.self, onnx: ONNXHistory([11, 13, 16, 18], changes: [
            .attributeAdded("reduction", since: 16),
        ]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in
            let axis = Attribute.int(try g.attributes(ScatterAttributes.self).axis)
            return [try scatterData(g, .scatterElements, ["axis": axis]), nil,
                    g.when(2) { g.dy.apply(.gatherElements, [g.input(1)], ["axis": axis]) }]
        })

    public static let scatterND: OpDefinition = OpDefinition(
        "ScatterND", inputs: 3...3, attributes: ScatterAttributes.self, onnx: ONNXHistory([11, 13, 16, 18], changes: [
            .attributeAdded("reduction", since: 16),
        ]),
        shape: { ctx in [ctx.input(0)] },
        vjp: { g in [try scatterData(g, .scatterND, [:]), nil, g.when(2) { g.dy.apply(.gatherND, [g.input(1)]) }] })

    public static let tensorScatter: OpDefinition = OpDefinition(
        "TensorScatter", inputs: 2...3, attributes: TensorScatterAttributes.self, onnx: ONNXHistory([24]),
        shape: { ctx in [ctx.input(0)] })

    public static let compress: OpDefinition = OpDefinition(
        "Compress", inputs: 2...2, attributes: CompressAttributes.self, traits: .dataDependentShape,
        onnx: ONNXHistory([9, 11, 28]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil] }
            let axis = try ctx.attributes(CompressAttributes.self).axis
            guard let axis, let s = x.shape else { return [ValueType(x.dtype, Shape([Dim.unknown]))] }
            var dims = s.dims
            dims[try ShapeRules.axis(axis, rank: s.rank)] = .unknown
            return [ValueType(x.dtype, Shape(dims))]
        },
        vjp: { g in  // a Gather of the positions where the condition holds
            let positions = g.input(1).apply(.nonZero).reshaped(g.ints([-1]))
            if let axis = try g.attributes(CompressAttributes.self).axis {
                return [try gatherBackward(g, indices: positions, indexRank: 1, axis: axis), nil]
            }
            let flat = g.x.reshaped(g.ints([-1]))
            let scattered = g.emit(.scatterND, [g.zeros(like: flat), positions.unsqueezed([1]), g.dy], ["reduction": .string("add")])
            return [scattered.reshaped(like: g.x), nil]
        })

    public static let nonZero: OpDefinition = OpDefinition(
        "NonZero", inputs: 1...1, traits: .dataDependentShape, onnx: ONNXHistory([9, 13]),
        shape: { ctx in [ValueType(.int64, Shape([ctx.shape(0).map { .known($0.rank) } ?? .unknown, .unknown]))] })

    /// `TopK(x, k)`: values and int64 indices of the k largest (or smallest) along `axis`
    /// (`k` an attribute before opset 10). The gradient sends the values' cotangent back where
    /// they were taken from.
    public static let topK: OpDefinition = OpDefinition(
        "TopK", inputs: 1...2, outputs: 2...2, attributes: TopKAttributes.self,
        onnx: ONNXHistory([1, 10, 11, 24], changes: [.conversion(.topKAttribute, until: 10), .attributeAdded("largest", since: 11)]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return [nil, nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil), ValueType(.int64, nil)] }
            let a = try ctx.attributes(TopKAttributes.self)
            let axis = try ShapeRules.axis(a.axis, rank: s.rank)
            var dims = s.dims
            let k: Dim = ctx.has(1) ? (ctx.dims(1).flatMap { $0.count == 1 ? $0[0] : nil } ?? .unknown) : (a.k.map(Dim.known) ?? .unknown)
            if let v = k.value {
                guard v >= 0 else { throw ctx.error("k \(v) is negative") }
                if let n = s.dims[axis].value, v > n { throw ctx.error("k \(v) is larger than axis size \(n)") }
            }
            dims[axis] = k
            return [ValueType(x.dtype, Shape(dims)), ValueType(.int64, Shape(dims))]
        },
        vjp: { g in
            guard let dy = g.cotangents[0] else { return [nil, nil] }
            guard g.node.outputs.count > 1, !g.node.outputs[1].isEmpty else { throw g.error("gradient of TopK needs its indices output") }
            let axis = try g.attributes(TopKAttributes.self).axis
            return [g.emit(.scatterElements, [g.zeros(like: g.x), g.output(1), dy], ["axis": .int(axis), "reduction": .string("add")]), nil]
        })

    public static let unique: OpDefinition = OpDefinition(
        "Unique", inputs: 1...1, outputs: 1...4, attributes: UniqueAttributes.self, traits: .dataDependentShape,
        onnx: ONNXHistory([11, 28]),
        shape: { ctx in
            guard let x = ctx.input(0) else { return ctx.unknownOutputs(nil) }
            let vector = ValueType(.int64, Shape([Dim.unknown]))
            return Array([ValueType(x.dtype, nil), vector, vector, vector].prefix(ctx.outputCount))
        })

    public static let oneHot: OpDefinition = OpDefinition(
        "OneHot", inputs: 3...3, attributes: OneHotAttributes.self, onnx: ONNXHistory([9, 11, 28]),
        shape: { ctx in
            guard let values = ctx.input(2) else { return [nil] }
            guard let s = ctx.shape(0) else { return [ValueType(values.dtype, nil)] }
            let axis = try ShapeRules.axis(try ctx.attributes(OneHotAttributes.self).axis, rank: s.rank + 1)
            var depth = Dim.unknown
            if let d = ctx.doubles(1), d.count == 1 {
                guard d[0] >= 1, d[0] < 1e12 else { throw ctx.error("depth \(d[0]) is not positive") }
                depth = .known(Int(d[0]))
            }
            var dims = s.dims
            dims.insert(depth, at: axis)
            return [ValueType(values.dtype, Shape(dims))]
        })

    // MARK: Helpers

    static func requireIndices(_ ctx: ShapeContext, _ i: Int) throws {
        if let t = ctx.input(i), t.dtype != .int64, t.dtype != .int32 {
            throw ctx.error("indices must be int64 or int32, are \(t.dtype.rawValue)")
        }
    }

    /// The cotangent of `Gather(data, indices, axis)` for data: `dy`'s slices added into zeros at
    /// the indexed positions, through ScatterND along axis 0 with the axis moved to the front and back.
    static func gatherBackward(_ g: VJPContext, indices: ValueRef, indexRank q: Int, axis: Int) throws -> ValueRef {
        let data = g.x
        guard let rank = data.rank else { throw g.error("gradient of \(g.node.op) needs the data rank") }
        let a = try ShapeRules.axis(axis, rank: rank)
        let column = indices.unsqueezed([-1])
        let add: [String: Attribute] = ["reduction": .string("add")]
        guard a > 0 else { return g.emit(.scatterND, [g.zeros(like: data), column, g.dy], add) }
        let perm = [a] + Array(0..<a) + Array((a + 1)..<rank)
        let dyPerm = Array(a..<(a + q)) + Array(0..<a) + Array((a + q)..<(rank - 1 + q))
        let movedShape = data.shapeOf().apply(.gather, [g.ints(perm)])
        let zeros = g.emit(.constantOfShape, [movedShape], ["value": .tensor(Tensor(shape: [1], scalars: [Float(0)]))])
        return g.emit(.scatterND, [zeros, column, g.dy.transposed(dyPerm)], add).transposed(ShapeRules.inverse(perm))
    }

    /// The data cotangent of a scatter: `dy` where the scatter kept data (zeros where `reduction`
    /// none overwrote it; all of `dy` for `add`).
    static func scatterData(_ g: VJPContext, _ op: OpDefinition, _ attributes: [String: Attribute]) throws -> ValueRef? {
        let reduction = try g.attributes(ScatterAttributes.self).reduction
        guard reduction == "none" || reduction == "add" else {
            throw g.error("gradient of \(op.name) with reduction '\(reduction)' is not supported")
        }
        guard g.needs(0) else { return nil }
        return reduction == "add" ? g.dy : g.emit(op, [g.dy, g.input(1), g.zeros(like: g.input(2))], attributes)
    }
}

/// An `axis` attribute defaulting to 0 (`Gather`, `GatherElements`).
public struct GatherAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 0)]
    public let axis: Int
    public init(_ a: AttributeReader) throws { axis = try a.int("axis") }
}

public struct GatherNDAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("batch_dims", 0)]
    public let batchDims: Int
    public init(_ a: AttributeReader) throws { batchDims = try a.int("batch_dims") }
}

public struct ScatterAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 0), .string("reduction", "none")]
    public let axis: Int
    /// `none`, `add`, `mul`, `max` or `min`.
    public let reduction: String
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        reduction = try a.choice("reduction", ["none", "add", "mul", "max", "min"])
    }
}

public struct TensorScatterAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.string("mode", "linear"), .int("axis", -2)]
    public let circular: Bool, axis: Int
    public init(_ a: AttributeReader) throws {
        circular = try a.choice("mode", ["linear", "circular"]) == "circular"
        axis = try a.int("axis")
    }
}

public struct CompressAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("axis", kind: "int")]
    public let axis: Int?
    public init(_ a: AttributeReader) throws { axis = try a.optionalInt("axis") }
}

public struct TopKAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1), .int("largest", 1), .int("sorted", 1), .optional("k", kind: "int")]
    public let axis: Int, largest: Bool, sorted: Bool
    /// TopK-1's `k` attribute (later versions take k as input 1).
    public let k: Int?
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        largest = try a.bool("largest")
        sorted = try a.bool("sorted")
        k = try a.optionalInt("k")
    }
}

public struct UniqueAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("axis", kind: "int"), .int("sorted", 1)]
    public let axis: Int?, sorted: Bool
    public init(_ a: AttributeReader) throws {
        axis = try a.optionalInt("axis")
        sorted = try a.bool("sorted")
    }
}

public struct OneHotAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", -1)]
    public let axis: Int
    public init(_ a: AttributeReader) throws { axis = try a.int("axis") }
}
