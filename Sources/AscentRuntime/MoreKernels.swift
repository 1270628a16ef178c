import AscentIR
#if canImport(Glibc)
import Glibc
#endif

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

// MARK: - Helpers

/// The elements of an integer or bool tensor as Int64.
func integerValues(_ t: Tensor) -> [Int64] {
    switch t.dtype {
    case .int64, .int32: return t.int64s()
    default: return t.doubles().map { Int64($0) }
    }
}

/// Writes `values` into `t` (an integer or bool tensor just allocated), wrapping to its width.
func storeIntegers(_ values: [Int64], into t: Tensor) {
    let n = min(values.count, t.count)
    switch t.dtype {
    case .int64: let p = t.mutablePointer(Int64.self); for i in 0..<n { p[i] = values[i] }
    case .int32: let p = t.mutablePointer(Int32.self); for i in 0..<n { p[i] = Int32(truncatingIfNeeded: values[i]) }
    case .int16: let p = t.mutablePointer(Int16.self); for i in 0..<n { p[i] = Int16(truncatingIfNeeded: values[i]) }
    case .int8: let p = t.mutablePointer(Int8.self); for i in 0..<n { p[i] = Int8(truncatingIfNeeded: values[i]) }
    case .bool: let p = t.mutablePointer(UInt8.self); for i in 0..<n { p[i] = values[i] != 0 ? 1 : 0 }
    default: let p = t.mutablePointer(UInt8.self); for i in 0..<n { p[i] = UInt8(truncatingIfNeeded: values[i]) }
    }
}

/// For each element of `output` (row-major), the offset of the element of an input of `shape`
/// that broadcasts to it.
func broadcastOffsets(_ shape: [Int], to output: [Int]) -> [Int] {
    let n = output.reduce(1, *)
    var out = [Int](repeating: 0, count: n)
    guard n > 0 else { return out }
    let loop = BroadcastLoop(output: output, inputs: [shape])
    let inner = loop.inner, s = loop.innerStride(0)
    loop.forEachRow(0..<loop.rows) { r, off in
        for i in 0..<inner { out[r * inner + i] = off[0] + i * s }
    }
    return out
}

/// Requires a float32 input.
func requireFloat(_ op: String, _ t: TensorType) throws {
    guard t.dtype == .float32 else { throw KernelError.dtype(op, t.dtype) }
}

/// Requires a float32 or integer input.
func requireNumeric(_ op: String, _ t: TensorType) throws {
    guard t.dtype == .float32 || t.dtype.isInteger else { throw KernelError.dtype(op, t.dtype) }
}

/// A tensor of `type` from Double values (rounded or truncated as ``Tensor/converted(to:)`` does).
func tensor(_ type: TensorType, doubles: [Double]) -> Tensor {
    Tensor(shape: type.shape, scalars: doubles).converted(to: type.dtype)
}

