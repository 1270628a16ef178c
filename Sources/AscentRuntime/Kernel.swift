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

/// What a kernel sees of its inputs when computing output types: the concrete type of each
/// input (nil for an omitted optional input) and, where known, its value.
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

/// A forward kernel for one node: built once per session from the node's attributes, then
/// asked for output types at plan time and run on each call.
protocol Kernel: Sendable {
    /// The output types for these inputs (one per node output, also for omitted outputs),
    /// or nil when they depend on an input value that is not known yet.
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]?

    /// Checks the input types the kernel accepts (dtypes, ranks beyond what the shape rule checks)
    /// and returns the output types it would compute when it computes them itself (transitional:
    /// the op's shape rule is the rule), else nil.
    func check(_ inputs: KernelInputs) throws -> [TensorType]?

    /// Computes the outputs. `inputs[i]` is nil for an omitted optional input; `outputs` are
    /// the types `outputTypes` gave. Allocate results with `context.allocate`.
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor]

    /// Output values computable from the input types alone (Shape, Size), or nil.
    func valuesFromTypes(_ inputs: KernelInputs) throws -> [Tensor]?

    /// Inputs whose buffer output 0 may take over when the input is not used later and has the
    /// output's byte size: the kernel reads each element of it before writing the same element.
    var inPlaceInputs: [Int] { get }

    /// A kernel specialized once per plan for these concrete inputs (and constant values), such
    /// as a oneDNN primitive with its weights reordered; nil keeps this kernel.
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)?
}

extension Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? { try outputTypes(inputs) }
    func valuesFromTypes(_ inputs: KernelInputs) throws -> [Tensor]? { nil }
    var inPlaceInputs: [Int] { [] }
    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? { nil }
}

/// Builds a kernel from a node, reading and checking its attributes.
typealias KernelFactory = @Sendable (NodeAttributes) throws -> any Kernel

/// Every op with a forward kernel, by IR op name. Each kernel family contributes one table.
enum KernelRegistry {
    static let factories: [String: KernelFactory] = {
        var all: [String: KernelFactory] = [:]
        let families: [[String: KernelFactory]] = [
            UnaryKernels.factories,
            BinaryKernels.factories,
            ConvolutionKernels.factories,
            PoolingKernels.factories,
            LinearKernels.factories,
            NormalizationKernels.factories,
            ShapeKernels.factories,
            IndexingKernels.factories,
            ReduceKernels.factories,
            CastKernels.factories,
            GradientKernels.factories,
            MoreKernels.factories,
            AttentionKernels.factories,
        ]
        for family in families {
            for (op, factory) in family {
                precondition(all[op] == nil, "kernel \(op) is registered twice")
                all[op] = factory
            }
        }
        return all
    }()

    /// True when `op` has a kernel.
    static func has(_ op: String) -> Bool { factories[op] != nil }

    /// The kernel for `node`. Throws when the node's attributes are invalid.
    static func make(_ node: Node) throws -> any Kernel {
        guard let factory = factories[node.op] else {
            throw AscentError.invalid("no kernel for \(node.op)").within("node \(node.label)")
        }
        do {
            return try factory(NodeAttributes(node))
        } catch let e as AscentError {
            throw e.context.isEmpty ? e.within("node \(node.label)") : e
        }
    }
}

/// Typed access to a node's attributes with ONNX defaults; errors name the attribute.
struct NodeAttributes {
    let node: Node

    init(_ node: Node) { self.node = node }

    var op: String { node.op }
    /// How many outputs the node declares, and which are used (non-empty names).
    var outputCount: Int { node.outputs.count }
    func usesOutput(_ i: Int) -> Bool { i < node.outputs.count && !node.outputs[i].isEmpty }

    func int(_ name: String, _ value: Int) throws -> Int {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.int else { throw mismatch(name, "int", a) }
        return v
    }
    func float(_ name: String, _ value: Float) throws -> Float {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.float else { throw mismatch(name, "float", a) }
        return Float(v)
    }
    func string(_ name: String, _ value: String) throws -> String {
        guard let a = node.attributes[name] else { return value }
        guard let v = a.string else { throw mismatch(name, "string", a) }
        return v
    }
    func ints(_ name: String) throws -> [Int]? {
        guard let a = node.attributes[name] else { return nil }
        if let v = a.ints { return v }
        if let v = a.int { return [v] }
        throw mismatch(name, "ints", a)
    }
    func tensor(_ name: String) throws -> Tensor? {
        guard let a = node.attributes[name] else { return nil }
        guard let v = a.tensor else { throw mismatch(name, "tensor", a) }
        return v
    }

    private func mismatch(_ name: String, _ kind: String, _ a: Attribute) -> AscentError {
        AscentError.invalid("attribute '\(name)' should be \(kind), is \(a.kind)")
    }
}

/// Errors kernels throw for bad input data or types; the executor adds the node.
enum KernelError {
    static func dtype(_ op: String, _ dtype: DType) -> AscentError {
        AscentError.invalid("\(op) does not support \(dtype.rawValue) tensors")
    }
    static func mismatch(_ message: String) -> AscentError { AscentError.invalid(message) }
}

/// The registration table for the kernels of the ops of ``MoreOps`` and the helpers they share.
/// The kernels are in `MathKernels.swift`, `SelectionKernels.swift`, `NormKernels.swift` and one file
/// each for the larger ones (Resize, GridSample, ConvTranspose, Recurrent, Quantize, DFT...). Most
/// compute directly and simply (Double accumulation, no blocking); they favour exact ONNX semantics
/// over speed.
///
/// Floating inputs are float32 (the importer converts the others); integer-capable ops accept
/// every integer type, computing in Int64 and wrapping back to the element type.
enum MoreKernels {
    static let factories: [String: KernelFactory] = {
        var table: [String: KernelFactory] = [
            "CastLike": { _ in CastLikeKernel() },
            "Size": { _ in SizeKernel() },
            "Mod": { try IntegerBinaryKernel($0) },
            "BitShift": { try IntegerBinaryKernel($0) },
            "BitwiseAnd": { try IntegerBinaryKernel($0) },
            "BitwiseOr": { try IntegerBinaryKernel($0) },
            "BitwiseXor": { try IntegerBinaryKernel($0) },
            "BitwiseNot": { _ in BitwiseNotKernel() },
            "IsNaN": { try MathKernel($0) },
            "IsInf": { try MathKernel($0) },
            "Shrink": { try MathKernel($0) },
            "ArgMax": { try ArgKernel($0) },
            "ArgMin": { try ArgKernel($0) },
            "GatherElements": { try GatherElementsKernel($0) },
            "Trilu": { try TriluKernel($0) },
            "CumSum": { try CumSumKernel($0) },
            "EyeLike": { try EyeLikeKernel($0) },
            "OneHot": { try OneHotKernel($0) },
            "TopK": { try TopKKernel($0) },
            "Hardmax": { try HardmaxKernel($0) },
            "DepthToSpace": { try BlockKernel($0) },
            "SpaceToDepth": { try BlockKernel($0) },
            "LpNormalization": { try LpNormKernel($0) },
            "InstanceNormalization": { try GroupNormKernel($0) },
            "GroupNormalization": { try GroupNormKernel($0) },
            "RMSNormalization": { try RMSNormKernel($0) },
            "MeanVarianceNormalization": { try MVNKernel($0) },
            "LRN": { try LRNKernel($0) },
            "NegativeLogLikelihoodLoss": { try LossKernel($0) },
            "SoftmaxCrossEntropyLoss": { try LossKernel($0) },
            "CumProd": { try CumSumKernel($0) },
            "Resize": { try ResizeKernel($0) },
            "ScatterElements": { try ScatterElementsKernel($0) },
            "ScatterND": { try ScatterNDKernel($0) },
            "GatherND": { try GatherNDKernel($0) },
            "Compress": { try CompressKernel($0) },
            "ReverseSequence": { try ReverseSequenceKernel($0) },
            "NonZero": { _ in NonZeroKernel() },
            "ConvTranspose": { try ConvTransposeKernel($0) },
            "SwiGLU": { try SwiGLUKernel($0) },
            "CausalConvWithState": { try CausalConvKernel($0) },
            "RotaryEmbedding": { try RotaryEmbeddingKernel($0) },
            "LinearAttention": { try LinearAttentionKernel($0) },
            "HannWindow": { try WindowKernel($0) },
            "HammingWindow": { try WindowKernel($0) },
            "BlackmanWindow": { try WindowKernel($0) },
            "CenterCropPad": { try CenterCropPadKernel($0) },
            "Det": { _ in DetKernel() },
            "Einsum": { try EinsumKernel($0) },
            "Unique": { try UniqueKernel($0) },
            "GridSample": { try GridSampleKernel($0) },
            "LpPool": { try LpPoolKernel($0) },
            "QuantizeLinear": { try QuantizeKernel($0) },
            "DequantizeLinear": { try DequantizeKernel($0) },
            "DynamicQuantizeLinear": { _ in DynamicQuantizeKernel() },
            "RNN": { try RecurrentKernel($0) },
            "GRU": { try RecurrentKernel($0) },
            "LSTM": { try RecurrentKernel($0) },
            "NonMaxSuppression": { try NonMaxSuppressionKernel($0) },
            "DFT": { try DFTKernel($0) },
            "AffineGrid": { try AffineGridKernel($0) },
            "Col2Im": { try Col2ImKernel($0) },
            "MaxUnpool": { try MaxUnpoolKernel($0) },
            "QLinearMatMul": { _ in QLinearMatMulKernel() },
            "MatMulInteger": { _ in MatMulIntegerKernel() },
            "BitCast": { try BitCastKernel($0) },
            "TensorScatter": { try TensorScatterKernel($0) },
            "RoiAlign": { try RoiAlignKernel($0) },
            "ConvInteger": { try ConvIntegerKernel($0) },
            "TfIdfVectorizer": { try TfIdfKernel($0) },
            "STFT": { try STFTKernel($0) },
            "MelWeightMatrix": { try MelWeightMatrixKernel($0) },
            "DeformConv": { try DeformConvKernel($0) },
        ]
        for op in [OpDefinition.acos, .acosh, .asin, .asinh, .atan, .atanh, .tan, .sinh, .cosh] { table[op.name] = { try MathKernel($0) } }
        for op in [OpDefinition.reduceL1, .reduceL2, .reduceLogSum, .reduceLogSumExp, .reduceSumSquare] {
            table[op.name] = { try MoreReduceKernel($0) }
        }
        return table
    }()
}

/// Requires a float32 input.
func requireFloat(_ op: String, _ t: TensorType) throws {
    guard t.dtype == .float32 else { throw KernelError.dtype(op, t.dtype) }
}

/// Requires a float32 or integer input.
func requireNumeric(_ op: String, _ t: TensorType) throws {
    guard t.dtype == .float32 || t.dtype.isInteger else { throw KernelError.dtype(op, t.dtype) }
}
