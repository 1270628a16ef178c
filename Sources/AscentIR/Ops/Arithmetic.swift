/// Arithmetic, comparison and logic with NumPy broadcasting: `Add`, `Sub`, `Mul`, `Div`, `Pow`,
/// `Mod`, `Equal`, `Less`, `Greater`, `LessOrEqual`, `GreaterOrEqual`, `And`, `Or`, `Xor`,
/// the bitwise ops, the variadic `Max`, `Min`, `Sum`, `Mean`, and `Where`.
///
/// On small integer tensors whose elements are sizes (shape arithmetic in exported graphs) the
/// arithmetic and comparisons also compute symbolic values: `Mul(Shape(x)[0], 2)` is `2*N`.
/// Max/Min send the gradient to the first input on ties.
extension OpDefinition {
    public static let add: OpDefinition = binary("Add", onnx: [1, 6, 7, 13, 14], values: { try symbolic($0) { $0 + $1 } }) { g in [g.dy, g.dy] }
    public static let sub: OpDefinition = binary("Sub", onnx: [1, 6, 7, 13, 14], values: { try symbolic($0) { $0 - $1 } }) { g in
        [g.dy, g.when(1) { -g.dy }]
    }
    public static let mul: OpDefinition = binary("Mul", onnx: [1, 6, 7, 13, 14], values: { try symbolic($0) { $0 * $1 } }) { g in
        [g.when(0) { g.dy * g.input(1) }, g.when(1) { g.dy * g.input(0) }]
    }
    public static let div: OpDefinition = binary("Div", onnx: [1, 6, 7, 13, 14], values: { try symbolic($0) { a, b in
        if let x = a.value, let y = b.value { return y == 0 ? .unknown : .known(x / y) }  // integer division truncates
        return b.value.map { $0 > 0 ? a.floorDivided(by: $0) : .unknown } ?? a.dividedExactly(by: b)
    } }) { g in  // d/da = dy/b; d/db = −dy·y/b
        [g.when(0) { g.dy / g.input(1) }, g.when(1) { -(g.dy * g.y / g.input(1)) }]
    }
    /// `Pow(a, b)`: the exponent may have another numeric type than the base.
    public static let pow: OpDefinition = binary("Pow", onnx: [1, 7, 12, 13, 15], mixedTypes: true) { g in
        // d/da = dy·b·a^(b−1); d/db = dy·y·log(a)
        let a = g.input(0), b = g.input(1)
        return [g.when(0) { g.dy * (b * a.apply(.pow, [b - 1])) }, g.when(1) { g.dy * (g.y * a.log()) }]
    }
    public static let mod: OpDefinition = binary("Mod", onnx: [10, 13, 28], attributes: ModAttributes.self, legacy: false) { g in
        // y = a − q·b with q = trunc(a/b) (fmod) or floor(a/b): d/da = 1, d/db = −q = (y − a)/b
        [g.dy, g.when(1) { g.dy * ((g.y - g.input(0)) / g.input(1)) }]
    }
    public static let bitShift: OpDefinition = binary("BitShift", onnx: [11, 28], attributes: BitShiftAttributes.self, legacy: false, vjp: nil)
    public static let bitwiseAnd: OpDefinition = binary("BitwiseAnd", onnx: [18], legacy: false, vjp: nil)
    public static let bitwiseOr: OpDefinition = binary("BitwiseOr", onnx: [18], legacy: false, vjp: nil)
    public static let bitwiseXor: OpDefinition = binary("BitwiseXor", onnx: [18], legacy: false, vjp: nil)

    public static let equal: OpDefinition = comparison("Equal", onnx: [1, 7, 11, 13, 19]) { a, b in
        if let x = a.value, let y = b.value { return .known(x == y ? 1 : 0) }
        if a == b { return .known(1) }
        // Sizes are never negative: a symbolic size is not −1.
        if let y = b.value, y < 0, a.isSymbolic { return .known(0) }
        if let x = a.value, x < 0, b.isSymbolic { return .known(0) }
        return .unknown
    }
    public static let less: OpDefinition = comparison("Less", onnx: [1, 7, 9, 13])
    public static let greater: OpDefinition = comparison("Greater", onnx: [1, 7, 9, 13])
    public static let lessOrEqual: OpDefinition = comparison("LessOrEqual", onnx: [12, 16], legacy: false)
    public static let greaterOrEqual: OpDefinition = comparison("GreaterOrEqual", onnx: [12, 16], legacy: false)
    public static let and: OpDefinition = comparison("And", onnx: [1, 7])
    public static let or: OpDefinition = comparison("Or", onnx: [1, 7])
    public static let xor: OpDefinition = comparison("Xor", onnx: [1, 7])

    public static let max: OpDefinition = variadic("Max", onnx: [1, 6, 8, 12, 13], vjp: extremum(.greaterOrEqual))
    public static let min: OpDefinition = variadic("Min", onnx: [1, 6, 8, 12, 13], vjp: extremum(.lessOrEqual))
    public static let sum: OpDefinition = variadic("Sum", onnx: [1, 6, 8, 13]) { g in g.node.inputs.map { _ in g.dy } }
    public static let mean: OpDefinition = variadic("Mean", onnx: [1, 6, 8, 13]) { g in
        let scaled = g.dy * (1 / Float(g.node.inputs.count))
        return g.node.inputs.map { _ in scaled }
    }

    /// `Where(condition, a, b)`: `a` where the condition holds, else `b`, all broadcast.
    public static let `where`: OpDefinition = OpDefinition(
        "Where", inputs: 3...3, traits: .broadcasting, onnx: ONNXHistory([9, 16]),
        shape: { ctx in
            guard let t = ctx.input(1) else { return [nil] }
            let shapes = ctx.inputTypes.map { $0?.shape }
            guard shapes.allSatisfy({ $0 != nil }) else { return [ValueType(t.dtype, nil)] }
            var s = shapes[0]!
            for other in shapes.dropFirst() { s = try ShapeRules.broadcast(s, other!) }
            let layout = ctx.inputTypes.compactMap { $0 }.first { $0.layout != nil && $0.shape?.rank == s.rank }?.layout
            return [ValueType(t.dtype, s, layout: layout)]
        },
        values: { ctx in
            guard let c = ctx.dims(0), let a = ctx.dims(1), let b = ctx.dims(2) else { return [nil] }
            return [broadcastValues([c, a, b]) { v in v[0].value.map { $0 != 0 ? v[1] : v[2] } ?? .unknown }]
        },
        vjp: { g in [nil, g.when(1) { select(g.input(0), g.dy, 0) }, g.when(2) { select(g.input(0), 0, g.dy) }] },
        axes: { node, _ in node })

    // MARK: Builders

    /// A two-input op with NumPy broadcasting whose output has the inputs' type. Before opset 7
    /// (when `legacy`), ONNX broadcast only with explicit `broadcast`/`axis` attributes.
    static func binary(_ name: String, onnx versions: [Int], attributes: (any OpAttributes.Type)? = nil,
                       mixedTypes: Bool = false, legacy: Bool = true, values: ValueRule? = nil,
                       vjp: VJPRule?) -> OpDefinition {
        OpDefinition(name, inputs: 2...2, attributes: attributes, traits: .broadcasting,
                     onnx: ONNXHistory(versions, changes: legacy ? [.conversion(.legacyBroadcast, until: 7)] : []),
                     shape: { try broadcastInputs($0, dtype: nil, mixedTypes: mixedTypes) }, values: values, vjp: vjp,
                     axes: { node, _ in node })
    }

    /// A two-input comparison or logic op with a boolean output.
    static func comparison(_ name: String, onnx versions: [Int], legacy: Bool = true,
                           compare: (@Sendable (Dim, Dim) -> Dim)? = nil) -> OpDefinition {
        var values: ValueRule? = nil
        if let compare { values = { ctx in try symbolic(ctx, compare) } }
        return OpDefinition(name, inputs: 2...2, traits: .broadcasting,
                     onnx: ONNXHistory(versions, changes: legacy ? [.conversion(.legacyBroadcast, until: 7)] : []),
                     shape: { try broadcastInputs($0, dtype: .bool) },
                     values: values,
                     axes: { node, _ in node })
    }

    /// A broadcasting op of one or more inputs.
    static func variadic(_ name: String, onnx versions: [Int], vjp: VJPRule?) -> OpDefinition {
        OpDefinition(name, inputs: 1...Int.max, traits: .broadcasting, onnx: ONNXHistory(versions),
                     shape: { try broadcastInputs($0, dtype: nil) }, vjp: vjp, axes: { node, _ in node })
    }

    /// Two-input Max/Min: the gradient goes to the first input where it wins or ties.
    static func extremum(_ comparison: OpDefinition) -> VJPRule {
        return { g in
            guard g.node.inputs.count == 2 else {
                throw g.error("gradient of \(g.node.op) with \(g.node.inputs.count) inputs is not supported")
            }
            let first = g.input(0).apply(comparison, [g.input(1)])
            return [g.when(0) { select(first, g.dy, 0) }, g.when(1) { select(first, 0, g.dy) }]
        }
    }

    // MARK: Shape rules

    /// Broadcasts all inputs; the dtype is the first input's unless given; the layout is kept when
    /// an input of the output's rank carries one. Inputs must share a dtype unless `mixedTypes`.
    public static func broadcastInputs(_ ctx: ShapeContext, dtype: DType?, mixedTypes: Bool = false) throws -> [ValueType?] {
        let types = ctx.inputTypes
        guard let first = types.first ?? nil else { return [nil] }
        if !mixedTypes {
            for t in types.dropFirst() {
                if let t, t.dtype != first.dtype {
                    throw ctx.error("inputs mix \(first.dtype.rawValue) and \(t.dtype.rawValue)")
                }
            }
        }
        var shape: Shape? = first.shape
        for t in types.dropFirst() {
            guard let s = shape, let other = t?.shape else { shape = nil; break }
            do { shape = try ShapeRules.broadcast(s, other) } catch let e as AscentError { throw e.within("node \(ctx.node.label)") }
        }
        let layout = types.compactMap { $0 }.first { $0.layout != nil && $0.shape?.rank == shape?.rank }?.layout
        return [ValueType(dtype ?? first.dtype, shape, layout: layout)]
    }

    /// The symbolic value of a two-input elementwise op on size vectors.
    static func symbolic(_ ctx: ShapeContext, _ f: (Dim, Dim) -> Dim) throws -> [[Dim]?] {
        guard let a = ctx.dims(0), let b = ctx.dims(1) else { return [nil] }
        return [broadcastValues([a, b]) { f($0[0], $0[1]) }]
    }

    /// Elementwise over value vectors of equal length or length 1 (nil when they do not broadcast).
    static func broadcastValues(_ vectors: [[Dim]], _ f: ([Dim]) -> Dim) -> [Dim]? {
        let n = vectors.map(\.count).max() ?? 0
        guard vectors.allSatisfy({ $0.count == n || $0.count == 1 }) else { return nil }
        return (0..<n).map { i in f(vectors.map { $0.count == 1 ? $0[0] : $0[i] }) }
    }
}

public struct ModAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.int("fmod", 0)]
    /// `fmod` 1: the sign of the dividend (C's fmod); 0: the sign of the divisor (Python's %).
    public let fmod: Bool
    public init(_ a: AttributeReader) throws { fmod = try a.bool("fmod") }
}

public struct BitShiftAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("direction", kind: "string")]
    public let left: Bool
    public init(_ a: AttributeReader) throws { left = try a.choice("direction", ["LEFT", "RIGHT"]) == "LEFT" }
}
