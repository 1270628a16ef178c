import AscentIR

/// The concrete type of a tensor once shapes are known: element type and sizes.
struct TensorType: Hashable, Sendable, CustomStringConvertible {
    var dtype: DType
    var shape: [Int]

    init(_ dtype: DType, _ shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements.
    var count: Int { shape.reduce(1, *) }
    var rank: Int { shape.count }
    var byteCount: Int { count * dtype.byteSize }

    /// `float32[2,3]`.
    var description: String { dtype.rawValue + Shape(shape).description }
}

/// What a kernel sees of its inputs when it checks them: the concrete type of each input (nil for
/// an omitted optional input) and, where known, its value.
///
/// At plan time only constants (initializers and folded values) have values; at run time,
/// for steps whose output types depend on input values, every value is there.
struct KernelInputs {
    let types: [TensorType?]
    let values: [Tensor?]

    var count: Int { types.count }

    /// True when input `i` is given (not omitted, not past the end).
    func has(_ i: Int) -> Bool { i < types.count && types[i] != nil }

    /// The type of required input `i`.
    func type(_ i: Int) throws -> TensorType {
        guard i < types.count, let t = types[i] else { throw AscentError.invalid("missing input \(i)") }
        return t
    }

    /// The value of input `i` when known.
    func value(_ i: Int) -> Tensor? { i < values.count ? values[i] : nil }

    /// Input `i` read as integers (an index list such as Reshape's shape), or nil when its value
    /// is not known yet. Throws when the input is not an integer tensor.
    func ints(_ i: Int) throws -> [Int]? {
        guard let t = value(i) else { return nil }
        guard t.dtype == .int64 || t.dtype == .int32 else {
            throw AscentError.invalid("input \(i) must be int64, is \(t.dtype.rawValue)")
        }
        return t.int64s().map { Int($0) }
    }
}

/// A forward kernel for one node: built once per session from the node's attributes, asked at
/// plan time to check its inputs (the op's IR shape rule gives the output types), and run on each
/// call.
protocol Kernel: Sendable {
    /// Checks what the kernel accepts beyond what the op's shape rule checks (dtypes, ranks,
    /// parameter sizes, index values it reads), throwing naming the problem; returns nil. Only a
    /// kernel of an op whose output sizes depend on input data (``OpTraits/dataDependentShape``:
    /// NonZero, Unique...) returns the output types, computed from the input values (nil while
    /// those are not known).
    func check(_ inputs: KernelInputs) throws -> [TensorType]?

    /// Computes the outputs. `inputs[i]` is nil for an omitted optional input; `outputs` are the
    /// types of the node's outputs. Allocate results with `context.allocate`.
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor]

    /// Inputs whose buffer output 0 may take over when the input is not used later and has the
    /// output's byte size: the kernel reads each element of it before writing the same element.
    var inPlaceInputs: [Int] { get }

    /// A kernel specialized once per plan for these concrete inputs (and constant values), such
    /// as a oneDNN primitive with its weights reordered; nil keeps this kernel.
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)?

    /// True for a kernel that gives its outputs' types by running (If, Loop, Scan: the branch or
    /// the number of iterations decides them): when they are not known before, it runs with no
    /// output types and the results' types are the outputs'.
    var computesOutputTypes: Bool { get }
}

extension Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? { nil }
    var inPlaceInputs: [Int] { [] }
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? { nil }
    var computesOutputTypes: Bool { false }
}

/// A kernel that takes or gives sequence and optional values (``GraphValue``): the sequence ops,
/// and Identity, If, Loop and Scan when a value they pass is one. The executor runs such a step
/// with ``runValues(_:context:)`` after the values it reads are computed (never at plan time), and
/// the results' own types are the outputs' types.
protocol ValueKernel: Kernel {
    /// Computes the outputs from the inputs (nil for an omitted input).
    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue]
    /// True when the kernel only runs on values (a sequence op); false when it also runs on tensors
    /// alone through ``Kernel/run(_:outputs:context:)`` (Identity, control flow).
    var needsValues: Bool { get }
}

extension ValueKernel {
    var needsValues: Bool { true }
    var computesOutputTypes: Bool { true }

    /// The tensor form: every input and output a tensor.
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        try runValues(inputs.map { $0.map(GraphValue.tensor) }, context: context).map { v in
            guard let t = v.tensor else { throw AscentError.invalid("gives \(v.summary) where a tensor is expected") }
            return t
        }
    }
}

/// Builds a kernel from a node: decodes the op's attribute struct and checks what the kernel
/// supports of it.
typealias KernelFactory = @Sendable (Node) throws -> any Kernel

/// Every op with a forward kernel. Each kernel family file contributes one table of
/// `(definition, factory)` pairs (`KernelRegistry.elementwise`, `.convolution`...), keyed here by
/// the definition's name.
enum KernelRegistry {
    /// The family tables, in ``OpRegistry``'s family order (backward primitives after their family).
    static let families: [[(OpDefinition, KernelFactory)]] = [
        elementwise, activation, arithmetic, convolution, convolutionBackward, pooling, poolingBackward, linear,
        normalization, reduction, reductionBackward, movement, movementBackward, constants, indexing, cast,
        resampling, resamplingBackward, recurrent, attention, quantization, signal, loss, detection, controlFlow, sequence,
    ]

    /// The factories by op name.
    static let factories: [String: KernelFactory] = {
        var all: [String: KernelFactory] = [:]
        for (definition, factory) in families.joined() {
            precondition(all[definition.name] == nil, "kernel \(definition.name) is registered twice")
            all[definition.name] = factory
        }
        return all
    }()

    /// The definitions of the ops with a kernel.
    static var definitions: [OpDefinition] { families.joined().map(\.0) }

    /// True when `op` has a kernel.
    static func has(_ op: String) -> Bool { factories[op] != nil }

    /// The kernel for `node`. Throws when the node's attributes are invalid or unsupported.
    static func make(_ node: Node) throws -> any Kernel {
        guard let factory = factories[node.op] else {
            throw AscentError.invalid("no kernel for \(node.op)").within("node \(node.label)")
        }
        do {
            return try factory(node)
        } catch let e as AscentError {
            throw e.context.isEmpty ? e.within("node \(node.label)") : e
        }
    }
}

extension Node {
    /// True when the node lists output `i` under a name (not omitted).
    func usesOutput(_ i: Int) -> Bool { i < outputs.count && !outputs[i].isEmpty }
}

/// Errors kernels throw for bad input data or types; the executor adds the node (and its op).
enum KernelError {
    static func dtype(_ dtype: DType) -> AscentError {
        AscentError.invalid("\(dtype.rawValue) tensors are not supported")
    }
    static func mismatch(_ message: String) -> AscentError { AscentError.invalid(message) }
}

/// Requires a float32 input.
func requireFloat(_ t: TensorType) throws {
    guard t.dtype == .float32 else { throw KernelError.dtype(t.dtype) }
}

/// Requires a float32 or integer input.
func requireNumeric(_ t: TensorType) throws {
    guard t.dtype == .float32 || t.dtype.isInteger else { throw KernelError.dtype(t.dtype) }
}
