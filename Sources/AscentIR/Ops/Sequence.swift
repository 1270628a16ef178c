/// Sequence and optional values (``ValueKind``): ONNX's `SequenceConstruct`, `SequenceEmpty`,
/// `SequenceAt`, `SequenceInsert`, `SequenceErase`, `SequenceLength`, `SplitToSequence`,
/// `ConcatFromSequence`, `SequenceMap`, `Optional`, `OptionalHasElement`, `OptionalGetElement`.
///
/// A sequence's type is the type of its tensors (sizes that differ between them unknown); an
/// optional's, of the tensor or sequence it may hold. Positions are int32/int64 scalars, negative
/// from the end. `SequenceMap` runs its `body` once per element: its inputs are the elements of the
/// sequence inputs (and the other inputs whole), its outputs each become a sequence; like `Loop`,
/// the node lists the outer values the body reads as its last `captured` inputs.
///
/// Gradients: none of these has a rule; the gradient builder refuses a path through one, naming it.
extension OpDefinition {
    public static let sequenceConstruct = OpDefinition(
        "SequenceConstruct", inputs: 1...Int.max, traits: .valueKinds, onnx: ONNXHistory([11]),
        shape: { ctx in
            let types = (0..<ctx.inputCount).map(ctx.input)
            return [try SequenceTypes.joined(types, ctx).map { $0.with(kind: .sequence) }]
        })

    public static let sequenceEmpty = OpDefinition(
        "SequenceEmpty", inputs: 0...0, attributes: SequenceEmptyAttributes.self, traits: .valueKinds,
        onnx: ONNXHistory([11]),
        shape: { ctx in [ValueType(try ctx.attributes(SequenceEmptyAttributes.self).dtype, nil, kind: .sequence)] })

    public static let sequenceAt = OpDefinition(
        "SequenceAt", inputs: 2...2, traits: [.valueKinds, .dataDependentShape], onnx: ONNXHistory([11]),
        shape: { ctx in
            [try SequenceTypes.sequence(ctx, 0)?.tensorType]
        })

    public static let sequenceInsert = OpDefinition(
        "SequenceInsert", inputs: 2...3, traits: .valueKinds, onnx: ONNXHistory([11]),
        shape: { ctx in
            let s = try SequenceTypes.sequence(ctx, 0)
            if let s, let t = ctx.input(1), t.isTensor, s.dtype != t.dtype {
                throw ctx.error("inserts \(t) into \(s)")
            }
            // An empty sequence's element shape says nothing yet.
            return [try SequenceTypes.joined([s?.shape == nil ? nil : s?.tensorType, ctx.input(1)], ctx).map { $0.with(kind: .sequence) }]
        })

    public static let sequenceErase = OpDefinition(
        "SequenceErase", inputs: 1...2, traits: .valueKinds, onnx: ONNXHistory([11]),
        shape: { ctx in [try SequenceTypes.sequence(ctx, 0)] })

    public static let sequenceLength = OpDefinition(
        "SequenceLength", inputs: 1...1, traits: .valueKinds, onnx: ONNXHistory([11]),
        shape: { ctx in
            _ = try SequenceTypes.sequence(ctx, 0)
            return [ValueType(.int64, Shape([Int]()))]
        })

    public static let splitToSequence = OpDefinition(
        "SplitToSequence", inputs: 1...2, attributes: SplitToSequenceAttributes.self, traits: .valueKinds,
        onnx: ONNXHistory([11, 24]),
        shape: { ctx in
            let a = try ctx.attributes(SplitToSequenceAttributes.self)
            guard let x = ctx.input(0) else { return [nil] }
            guard let s = x.shape else { return [ValueType(x.dtype, nil, kind: .sequence)] }
            let axis = try SequenceTypes.axis(a.axis, rank: s.rank, ctx)
            var dims = s.dims
            let scalarSplit = ctx.constant(1)?.shape.isEmpty ?? false
            if !a.keepdims, !ctx.has(1) || scalarSplit {
                dims.remove(at: axis)  // also after a scalar split (of 1), as onnxruntime reads keepdims
            } else if let split = ctx.ints(1), split.count == 1, ctx.constant(1)?.shape.isEmpty ?? false,
                      let n = s.dims[axis].value, n % split[0] == 0 {
                dims[axis] = .known(split[0])  // equal parts
            } else if !ctx.has(1) {
                dims[axis] = .known(1)
            } else {
                dims[axis] = .unknown
            }
            return [ValueType(x.dtype, Shape(dims), kind: .sequence)]
        })

    public static let concatFromSequence = OpDefinition(
        "ConcatFromSequence", inputs: 1...1, attributes: ConcatFromSequenceAttributes.self,
        traits: [.valueKinds, .dataDependentShape], onnx: ONNXHistory([11]),
        shape: { ctx in
            let a = try ctx.attributes(ConcatFromSequenceAttributes.self)
            guard let s = try SequenceTypes.sequence(ctx, 0) else { return [nil] }
            guard let shape = s.shape else { return [ValueType(s.dtype, nil)] }
            let rank = shape.rank + (a.newAxis ? 1 : 0)
            let axis = try SequenceTypes.axis(a.axis, rank: rank, ctx)
            var dims = shape.dims
            if a.newAxis { dims.insert(.unknown, at: axis) } else { dims[axis] = .unknown }
            return [ValueType(s.dtype, Shape(dims))]
        })

    public static let sequenceMap = OpDefinition(
        "SequenceMap", inputs: 1...Int.max, outputs: 1...Int.max, attributes: SequenceMapAttributes.self,
        traits: [.valueKinds, .subgraphs, .dataDependentShape], onnx: ONNXHistory([17]),
        shape: { ctx in
            let a = try ctx.attributes(SequenceMapAttributes.self)
            guard a.body.inputs.count == ctx.inputCount, a.body.outputs.count == ctx.outputCount else {
                throw ctx.error("the body has \(a.body.inputs.count) inputs and \(a.body.outputs.count) outputs for a node of "
                    + "\(ctx.inputCount) inputs and \(ctx.outputCount) outputs")
            }
            guard ctx.input(0).map({ $0.kind == .sequence }) ?? true else { throw ctx.error("input 0 is \(ctx.input(0)!), not a sequence") }
            let inputs: [ControlFlowTypes.Input] = (0..<ctx.inputCount).map { i in
                guard let t = ctx.input(i) else { return .type(nil) }
                return t.kind == .sequence ? .type(ValueType(t.dtype, t.shape.map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) })) : .outer(i)
            }
            let body = try ControlFlowTypes.outputs(of: a.body, ctx, inputs: inputs)
            return body.map { $0.map { ValueType($0.dtype, $0.shape.map { Shape(Array(repeating: Dim.unknown, count: $0.rank)) }, kind: .sequence) } }
        })

    public static let optional = OpDefinition(
        "Optional", inputs: 0...1, attributes: OptionalAttributes.self, traits: .valueKinds, onnx: ONNXHistory([15, 28]),
        shape: { ctx in
            let a = try ctx.attributes(OptionalAttributes.self)
            if let t = ctx.input(0) {
                guard !t.kind.isOptional else { throw ctx.error("input is already optional: \(t)") }
                return [t.with(kind: t.kind.wrapped)]
            }
            guard ctx.has(0) || a.type != nil else { throw ctx.error("an empty Optional needs the 'type' attribute") }
            return [a.type.map { $0.with(kind: $0.kind.wrapped) }]
        })

    public static let optionalHasElement = OpDefinition(
        "OptionalHasElement", inputs: 0...1, traits: .valueKinds, onnx: ONNXHistory([15, 18, 28]),
        shape: { _ in [ValueType(.bool, Shape([Int]()))] })

    public static let optionalGetElement = OpDefinition(
        "OptionalGetElement", inputs: 1...1, traits: [.valueKinds, .dataDependentShape], onnx: ONNXHistory([15, 18, 28]),
        shape: { ctx in [ctx.input(0).map { $0.with(kind: $0.kind.unwrapped) }] })
}

/// `SequenceEmpty`: the dtype of the (absent) elements, an ONNX `TensorProto.DataType` code.
public struct SequenceEmptyAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("dtype", DType.float32.onnxCode)]
    public let dtype: DType
    public init(_ a: AttributeReader) throws {
        let code = try a.int("dtype")
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("dtype code \(code) is not supported") }
        dtype = t
    }
}

/// `SplitToSequence`: the axis, and whether pieces of size 1 keep it when `split` is omitted or a
/// scalar (onnxruntime's reading, which PyTorch's `unbind` export relies on; ONNX's reference
/// evaluator ignores `keepdims` whenever `split` is given). A 1-D `split` always keeps the axis.
public struct SplitToSequenceAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("axis", 0), .int("keepdims", 1)]
    public let axis: Int, keepdims: Bool
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        keepdims = try a.bool("keepdims")
    }
}

/// `ConcatFromSequence`: the axis, and whether the tensors are stacked along a new one.
public struct ConcatFromSequenceAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("axis", kind: "int"), .int("new_axis", 0)]
    public let axis: Int, newAxis: Bool
    public init(_ a: AttributeReader) throws {
        axis = try a.int("axis")
        newAxis = try a.bool("new_axis")
    }
}

/// `SequenceMap`: the body and how many trailing inputs are captured outer values.
public struct SequenceMapAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("body", kind: "graph"), .int("captured", 0)]
    public let body: Graph
    public let captured: Int
    public init(_ a: AttributeReader) throws {
        body = try a.graph("body")
        captured = try a.int("captured")
        guard captured >= 0, captured < a.node.inputs.count else { throw AscentError.invalid("captured is \(captured)") }
    }
}

/// `Optional`: the type of an empty optional's element (`type`, an ONNX `TypeProto`, held as the
/// type's text: `float32[?]`, `seq(float32[?])`).
public struct OptionalAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.optional("type", kind: "type")]
    public let type: ValueType?
    public init(_ a: AttributeReader) throws {
        guard let text = try a.optionalString("type") else { type = nil; return }
        guard let t = ValueType(parsing: text), !t.kind.isOptional else { throw AscentError.invalid("attribute 'type' is not a tensor or sequence type: \(text)") }
        type = t
    }
}

/// Type helpers of the sequence ops.
enum SequenceTypes {
    /// Input `i` as a sequence type (nil when unknown); throws when it is another kind.
    static func sequence(_ ctx: ShapeContext, _ i: Int) throws -> ValueType? {
        guard let t = ctx.input(i) else { return nil }
        guard t.kind == .sequence else { throw ctx.error("input \(i) is \(t), not a sequence") }
        return t
    }

    /// The common type of tensors (nil entries unknown): one dtype, sizes kept where all agree.
    static func joined(_ types: [ValueType?], _ ctx: ShapeContext) throws -> ValueType? {
        var out: ValueType?
        for case let t? in types {
            guard t.isTensor else { throw ctx.error("\(t) is not a tensor") }
            guard let o = out else { out = t.tensorType; continue }
            guard o.dtype == t.dtype else { throw ctx.error("tensors of \(o.dtype.rawValue) and \(t.dtype.rawValue) in one sequence") }
            out = ControlFlowTypes.join(o, t)
        }
        return out
    }

    static func axis(_ axis: Int, rank: Int, _ ctx: ShapeContext) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw ctx.error("axis \(axis) is out of range for rank \(rank)") }
        return a
    }
}
