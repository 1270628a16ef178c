/// Everything Ascent knows about one op, in one place: its arity, its attributes (a typed struct
/// carrying the ONNX defaults), its one shape rule, the traits graph passes ask about, its
/// vector-Jacobian product (or a decomposition into other ops), and its ONNX history.
///
/// Each op family defines its ops as static members in one file under `Ops/` (`.relu`, `.conv`,
/// `.resize`); ``OpRegistry`` lists the families, and every other table — the runtime's kernels,
/// the gradient rules, the ONNX importer and exporter, the README's op table — is derived from the
/// definitions, keyed by the definition rather than by a name written again.
public struct OpDefinition: Sendable, CustomStringConvertible {
    /// The op type as nodes name it (ONNX's name for ONNX ops).
    public let name: String
    /// `""` for ai.onnx ops, `com.microsoft` for onnxruntime's contrib ops, ``OpDefinition/ascentDomain``
    /// for Ascent's own (backward primitives, fused forms).
    public let domain: String
    /// Allowed number of inputs (trailing optional inputs may be omitted).
    public let inputs: ClosedRange<Int>
    /// Allowed number of outputs.
    public let outputs: ClosedRange<Int>
    /// The attributes the op reads, with their defaults.
    public let attributes: [AttributeSpec]
    /// Decodes and checks a node's attributes (the typed struct's initializer).
    public let decodeAttributes: (@Sendable (Node) throws -> Void)?
    public let traits: OpTraits
    /// The output types from the input types, constant inputs and symbolic input values. With
    /// concrete input sizes and constants (as the planner gives) the result is concrete.
    public let shape: ShapeRule
    /// The symbolic values of small integer outputs (shape arithmetic: `Shape`, `Gather`, `Concat`
    /// of sizes...), or nil when the op does not propagate them.
    public let values: ValueRule?
    /// The vector-Jacobian product, or nil when the op has none (then a ``decomposition`` may give one).
    public let vjp: VJPRule?
    /// The op written with other ops: used for its gradient when it has no ``vjp`` and for ONNX
    /// export at opsets that predate it.
    public let decomposition: Decomposition?
    /// The op's ONNX versions and older forms, or nil when it has no ONNX form.
    public let onnx: ONNXHistory?
    /// How the op is rewritten when its inputs are transposed (the layout pass), or nil.
    public let axes: AxisRule?
    /// Multiply-accumulates per run, for `inspect`; nil when the op does no arithmetic worth counting.
    public let cost: CostRule?

    /// The domain of Ascent's own ops.
    public static let ascentDomain = "ascent"

    public init(_ name: String, domain: String = "", inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1,
                attributes: (any OpAttributes.Type)? = nil, traits: OpTraits = [], onnx: ONNXHistory? = nil,
                shape: @escaping ShapeRule, values: ValueRule? = nil, vjp: VJPRule? = nil,
                decomposition: Decomposition? = nil, axes: AxisRule? = nil, cost: CostRule? = nil) {
        self.name = name
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes?.specs ?? []
        if let attributes {
            self.decodeAttributes = { node in try attributes.decode(node) }
        } else {
            self.decodeAttributes = nil
        }
        self.traits = traits
        self.onnx = onnx
        self.shape = shape
        self.values = values
        self.vjp = vjp
        self.decomposition = decomposition
        self.axes = axes
        self.cost = cost
    }

    /// The attribute specification named `name`.
    public func attribute(_ name: String) -> AttributeSpec? { attributes.first { $0.name == name } }

    /// True for a backward primitive or another op that only Ascent's own graphs use.
    public var isInternal: Bool { domain == OpDefinition.ascentDomain }

    /// True when nodes of this op are `node`.
    public func matches(_ node: Node) -> Bool { node.op == name }

    public var description: String { domain.isEmpty ? name : "\(domain).\(name)" }
}

extension OpDefinition: Hashable {
    public static func == (a: OpDefinition, b: OpDefinition) -> Bool { a.name == b.name && a.domain == b.domain }
    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(domain)
    }
}

/// Computes the output types of a node; an output type of nil means "unknown".
public typealias ShapeRule = @Sendable (ShapeContext) throws -> [ValueType?]

/// Computes the symbolic values of a node's outputs where they are small integer vectors whose
/// elements are sizes (one entry per output; nil where unknown).
public typealias ValueRule = @Sendable (ShapeContext) throws -> [[Dim]?]

/// Multiply-accumulates of one node, from the types of its values.
public typealias CostRule = @Sendable (_ node: Node, _ types: [String: ValueType]) -> Int?

/// The node that computes `transpose(output, permutation)` from inputs that are each already
/// `transpose(input, permutation)` (all of the op's tensor inputs of the output's rank), or nil
/// when the op cannot be run on permuted axes. Rank-lower inputs (broadcast constants) are the
/// pass's business.
public typealias AxisRule = @Sendable (_ node: Node, _ permutation: [Int]) -> Node?

/// What graph passes may assume about an op.
public struct OpTraits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Element by element on input 0: output 0 has input 0's shape (and layout); other inputs are
    /// scalars or per-call parameters (Relu, Clip, Cast, LeakyRelu).
    public static let elementwise = OpTraits(rawValue: 1 << 0)
    /// Element by element over all inputs with NumPy broadcasting (Add, Where, Equal, Max).
    public static let broadcasting = OpTraits(rawValue: 1 << 1)
    /// Reduces over axes given by an `axes` attribute or input 1, with `keepdims`.
    public static let reduction = OpTraits(rawValue: 1 << 2)
    /// Only gradient graphs use it; it has no ONNX form.
    public static let backward = OpTraits(rawValue: 1 << 3)
    /// Output sizes depend on input data, not only on input sizes and constants (NonZero, Unique).
    public static let dataDependentShape = OpTraits(rawValue: 1 << 4)
    /// Reads only its input's type, never its data (Shape, Size).
    public static let readsTypeOnly = OpTraits(rawValue: 1 << 5)
    /// Outputs are random: never folded or merged.
    public static let nondeterministic = OpTraits(rawValue: 1 << 6)
    /// Moves or selects elements without arithmetic (Reshape, Transpose, Slice, Gather).
    public static let movesData = OpTraits(rawValue: 1 << 7)
    /// Reads input 0 as an image-like `[N, C, spatial...]` value (`[N, spatial..., C]` with
    /// `data_format` NHWC): convolutions and pools.
    public static let spatial = OpTraits(rawValue: 1 << 8)
    /// Reads or writes quantized integers standing for reals (QuantizeLinear, QLinearConv,
    /// QLinearAdd...): gradients refuse a path through it rather than treat it as integer data.
    public static let quantized = OpTraits(rawValue: 1 << 9)
    /// Has nested graphs (graph attributes): `If`, `Loop`, `Scan`. Passes that do not look into
    /// nested graphs leave graphs with such nodes alone.
    public static let subgraphs = OpTraits(rawValue: 1 << 10)
    /// Takes its value from its last input but passes the gradient to its first input only
    /// (``OpDefinition/straightThrough``): the inputs after the first are on no gradient path.
    public static let straightThrough = OpTraits(rawValue: 1 << 11)
    /// Takes or gives sequence and optional values (``ValueKind``), not only tensors: the sequence
    /// and optional ops, `Identity`, and control flow. Other ops refuse such inputs.
    public static let valueKinds = OpTraits(rawValue: 1 << 12)
}
