import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Kernels for the ops of ``MoreOps`` (this file: the elementwise, index, reduction and
/// normalization ones; the others have a file each: Resize, GridSample, ConvTranspose, Recurrent,
/// Quantize, DFT...). Most compute directly and simply (Double accumulation, no blocking); they
/// favour exact ONNX semantics over speed.
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
        for op in MoreOps.mathUnary { table[op] = { try MathKernel($0) } }
        for op in MoreOps.moreReductions { table[op] = { try MoreReduceKernel($0) } }
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

// MARK: - CastLike, Size

/// CastLike(x, like): x cast to like's type (the Cast kernel's conversions).
struct CastLikeKernel: Kernel {
    func cast(_ to: DType) throws -> CastKernel {
        let node = Node(name: "CastLike", op: "Cast", inputs: [], outputs: [], attributes: ["to": .int(CastOps.onnxCode(to))])
        return try CastKernel(NodeAttributes(node))
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0), like = try inputs.type(1)
        return try cast(like.dtype).outputTypes(KernelInputs(types: [x], values: [inputs.value(0)]))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        try cast(outputs[0].dtype).run([inputs[0]], outputs: outputs, context: context)
    }
}

/// Size: the number of elements, an int64 scalar (known from the type alone).
struct SizeKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? { [TensorType(.int64, [])] }
    func valuesFromTypes(_ inputs: KernelInputs) throws -> [Tensor]? { [Tensor(scalar: Int64(try inputs.type(0).count))] }
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [Tensor(scalar: Int64(x.count))]
    }
}

// MARK: - Mod, BitShift, Bitwise

/// Mod (float32 and integers; `fmod` 0 takes the divisor's sign, 1 the dividend's), BitShift and
/// BitwiseAnd/Or/Xor (integers), with broadcasting. Integer division by zero gives 0.
struct IntegerBinaryKernel: Kernel {
    enum Op { case mod(fmod: Bool), shiftLeft, shiftRight, and, or, xor }
    let op: Op
    let name: String

    init(_ a: NodeAttributes) throws {
        name = a.op
        switch a.op {
        case "Mod": op = .mod(fmod: try a.int("fmod", 0) != 0)
        case "BitShift":
            let d = try a.string("direction", "")
            guard d == "LEFT" || d == "RIGHT" else { throw AscentError.invalid("direction '\(d)' is not LEFT or RIGHT") }
            op = d == "LEFT" ? .shiftLeft : .shiftRight
        case "BitwiseAnd": op = .and
        case "BitwiseOr": op = .or
        default: op = .xor
        }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype == b.dtype else { throw AscentError.invalid("inputs mix \(a.dtype.rawValue) and \(b.dtype.rawValue)") }
        if case .mod = op { try requireNumeric(name, a) } else if !a.dtype.isInteger { throw KernelError.dtype(name, a.dtype) }
        return [TensorType(a.dtype, try BroadcastLoop.shape([a.shape, b.shape]))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let shape = outputs[0].shape
        let ia = broadcastOffsets(a.shape, to: shape), ib = broadcastOffsets(b.shape, to: shape)
        let y = context.allocate(outputs[0])
        let n = y.count
        if a.dtype == .float32 {
            let x = a.floats, z = b.floats, o = y.mutableFloats
            let truncated: Bool
            if case .mod(let f) = op { truncated = f } else { truncated = true }
            for i in 0..<n {
                let p = x[ia[i]], q = z[ib[i]]
                var r = fmodf(p, q)
                if !truncated, r != 0, (r < 0) != (q < 0) { r += q }
                o[i] = r
            }
            return [y]
        }
        let x = integerValues(a), z = integerValues(b)
        let width = Int64(a.dtype.byteSize * 8)
        var out = [Int64](repeating: 0, count: n)
        for i in 0..<n {
            let p = x[ia[i]], q = z[ib[i]]
            switch op {
            case .mod(let f):
                guard q != 0 else { out[i] = 0; continue }
                var r = p.remainderReportingOverflow(dividingBy: q).partialValue
                if !f, r != 0, (r < 0) != (q < 0) { r += q }
                out[i] = r
            case .shiftLeft: out[i] = q < 0 || q >= width ? 0 : p << q
            case .shiftRight:
                // Values are sign- or zero-extended to Int64, so Int64's arithmetic shift is right for both.
                out[i] = q < 0 || q >= width ? (p < 0 ? -1 : 0) : p >> q
            case .and: out[i] = p & q
            case .or: out[i] = p | q
            case .xor: out[i] = p ^ q
            }
        }
        storeIntegers(out, into: y)
        return [y]
    }
}

/// BitwiseNot of an integer tensor.
struct BitwiseNotKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype.isInteger else { throw KernelError.dtype("BitwiseNot", x.dtype) }
        return [x]
    }
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        storeIntegers(integerValues(x).map { ~$0 }, into: y)
        return [y]
    }
}

// MARK: - Math maps

/// Acos... Cosh (float32), IsNaN and IsInf (float32 → bool), Shrink (float32 and integers).
struct MathKernel: Kernel {
    let op: String
    let detectNegative: Bool, detectPositive: Bool
    let bias: Float, lambd: Float

    init(_ a: NodeAttributes) throws {
        op = a.op
        detectNegative = try a.int("detect_negative", 1) != 0
        detectPositive = try a.int("detect_positive", 1) != 0
        bias = try a.float("bias", 0)
        lambd = try a.float("lambd", 0.5)
    }

    var inPlaceInputs: [Int] { op == "IsNaN" || op == "IsInf" ? [] : [0] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        if op == "Shrink" { try requireNumeric(op, x) } else { try requireFloat(op, x) }
        return [op == "IsNaN" || op == "IsInf" ? TensorType(.bool, x.shape) : x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.count
        if op == "IsNaN" || op == "IsInf" {
            let s = x.floats, o = y.mutablePointer(UInt8.self)
            for i in 0..<n {
                let v = s[i]
                let hit = op == "IsNaN" ? v.isNaN : (v.isInfinite && (v > 0 ? detectPositive : detectNegative))
                o[i] = hit ? 1 : 0
            }
            return [y]
        }
        if op == "Shrink", x.dtype != .float32 {
            let v = x.doubles(), b = Double(bias), l = Double(lambd)
            let r = v.map { $0 < -l ? $0 + b : ($0 > l ? $0 - b : 0) }
            storeIntegers(r.map { Int64($0) }, into: y)
            return [y]
        }
        let s = x.floats, o = y.mutableFloats
        let f: (Float) -> Float
        switch op {
        case "Acos": f = { acosf($0) }
        case "Acosh": f = { acoshf($0) }
        case "Asin": f = { asinf($0) }
        case "Asinh": f = { asinhf($0) }
        case "Atan": f = { atanf($0) }
        case "Atanh": f = { atanhf($0) }
        case "Tan": f = { tanf($0) }
        case "Sinh": f = { sinhf($0) }
        case "Cosh": f = { coshf($0) }
        default:
            let b = bias, l = lambd
            f = { $0 < -l ? $0 + b : ($0 > l ? $0 - b : 0) }
        }
        for i in 0..<n { o[i] = f(s[i]) }
        return [y]
    }
}

// MARK: - Arg, GatherElements, Trilu, CumSum, EyeLike, OneHot, TopK, Hardmax

/// ArgMax/ArgMin along `axis` (int64 indices); ties give the first index, or the last with `select_last_index`.
struct ArgKernel: Kernel {
    let max: Bool, axis: Int, keepDims: Bool, last: Bool

    init(_ a: NodeAttributes) throws {
        max = a.op == "ArgMax"
        axis = try a.int("axis", 0)
        keepDims = try a.int("keepdims", 1) != 0
        last = try a.int("select_last_index", 0) != 0
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(max ? "ArgMax" : "ArgMin", x)
        let a = try ShapeRules.axis(axis, rank: x.rank)
        var shape = x.shape
        if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
        return [TensorType(.int64, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let v = x.doubles()
        let y = context.allocate(outputs[0])
        let o = y.mutablePointer(Int64.self)
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0, bv = v.isEmpty ? 0 : v[p * size * inner + q]
                for k in 1..<Swift.max(size, 1) {
                    let c = v[(p * size + k) * inner + q]
                    if bv.isNaN { break }
                    let better = max ? (c > bv || (last && c == bv)) : (c < bv || (last && c == bv))
                    if better || c.isNaN { best = k; bv = c }
                }
                o[p * inner + q] = Int64(best)
            }
        }
        return [y]
    }
}

/// GatherElements: `out[i][j][k] = data[index][j][k]` (for axis 0) with `index = indices[i][j][k]`.
struct GatherElementsKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", 0) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let data = try inputs.type(0), indices = try inputs.type(1)
        guard indices.dtype == .int64 || indices.dtype == .int32 else {
            throw AscentError.invalid("indices must be int64 or int32, are \(indices.dtype.rawValue)")
        }
        guard data.rank == indices.rank else { throw AscentError.invalid("indices \(indices) and data \(data) differ in rank") }
        _ = try ShapeRules.axis(axis, rank: data.rank)
        return [TensorType(data.dtype, indices.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let data = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: data.rank)
        let idx = indices.int64s()
        let y = context.allocate(outputs[0])
        let ds = contiguousStrides(data.shape), os = contiguousStrides(indices.shape)
        let e = data.dtype.byteSize, size = data.shape[a]
        for i in 0..<idx.count {
            var rest = i, offset = 0
            for d in 0..<indices.rank {
                let c = rest / os[d]
                rest %= os[d]
                if d == a {
                    let j = idx[i] < 0 ? Int(idx[i]) + size : Int(idx[i])
                    guard j >= 0, j < size else { throw AscentError.invalid("index \(idx[i]) is out of range for axis \(a) of size \(size)") }
                    offset += j * ds[d]
                } else {
                    offset += c * ds[d]
                }
            }
            memcpy(y.rawPointer + i * e, data.rawPointer + offset * e, e)
        }
        return [y]
    }
}

/// Trilu: the upper (or lower) triangle of the last two axes from diagonal `k`, zeros elsewhere.
struct TriluKernel: Kernel {
    let upper: Bool

    init(_ a: NodeAttributes) throws { upper = try a.int("upper", 1) != 0 }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank >= 2 else { throw AscentError.invalid("Trilu needs rank 2 or more, got \(x)") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let k = inputs.count > 1 ? inputs[1].map { Int($0.int64s().first ?? 0) } ?? 0 : 0
        let y = context.allocateZeroed(outputs[0])
        let rows = x.shape[x.rank - 2], cols = x.shape[x.rank - 1]
        let e = x.dtype.byteSize, batches = rows * cols == 0 ? 0 : x.count / (rows * cols)
        for b in 0..<batches {
            for i in 0..<rows {
                for j in 0..<cols where upper ? j - i >= k : j - i <= k {
                    let off = ((b * rows + i) * cols + j) * e
                    memcpy(y.rawPointer + off, x.rawPointer + off, e)
                }
            }
        }
        return [y]
    }
}

/// CumSum / CumProd along the axis given by input 1 (`exclusive`, `reverse`); float32 and integers
/// (wrapping).
struct CumSumKernel: Kernel {
    let exclusive: Bool, reverse: Bool, multiply: Bool

    init(_ a: NodeAttributes) throws {
        exclusive = try a.int("exclusive", 0) != 0
        reverse = try a.int("reverse", 0) != 0
        multiply = a.op == "CumProd"
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(multiply ? "CumProd" : "CumSum", x)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let axisTensor = inputs[1], let given = axisTensor.int64s().first else {
            throw AscentError.invalid("missing input")
        }
        let a = try ShapeRules.axis(Int(given), rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        func scan<T>(_ v: [T], _ identity: T, _ f: (T, T) -> T) -> [T] {
            var out = [T](repeating: identity, count: v.count)
            for p in 0..<outer {
                for q in 0..<inner {
                    var acc = identity
                    for s in 0..<size {
                        let k = reverse ? size - 1 - s : s
                        let i = (p * size + k) * inner + q
                        if exclusive { out[i] = acc; acc = f(acc, v[i]) } else { acc = f(acc, v[i]); out[i] = acc }
                    }
                }
            }
            return out
        }
        if x.dtype == .float32 {
            let v = x.scalars(as: Float.self)
            return [Tensor(shape: x.shape, scalars: multiply ? scan(v, 1, *) : scan(v, 0, +))]
        }
        let y = context.allocate(outputs[0])
        let v = integerValues(x)
        storeIntegers(multiply ? scan(v, 1, &*) : scan(v, 0, &+), into: y)
        return [y]
    }
}

/// EyeLike: a 2-D tensor shaped like the input with ones on diagonal `k`, of type `dtype`
/// (default: the input's).
struct EyeLikeKernel: Kernel {
    let dtype: DType?, k: Int

    init(_ a: NodeAttributes) throws {
        k = try a.int("k", 0)
        if a.node.attributes["dtype"] != nil {
            let code = try a.int("dtype", 1)
            guard let t = CastOps.dtype(onnxCode: code) else { throw AscentError.invalid("unsupported dtype code \(code)") }
            // Floating types are computed as float32.
            dtype = t.isFloatingPoint ? .float32 : t
        } else {
            dtype = nil
        }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank == 2 else { throw AscentError.invalid("EyeLike needs a 2-D input, got \(x)") }
        return [TensorType(dtype ?? x.dtype, x.shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let t = outputs[0], rows = t.shape[0], cols = t.shape[1]
        var v = [Double](repeating: 0, count: t.count)
        for i in 0..<rows where i + k >= 0 && i + k < cols { v[i * cols + i + k] = 1 }
        return [tensor(t, doubles: v)]
    }
}

/// OneHot(indices, depth, values): `values[1]` where the index matches, `values[0]` elsewhere,
/// along a new axis `axis`; negative indices count from `depth`.
struct OneHotKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", -1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let indices = try inputs.type(0), values = try inputs.type(2)
        guard values.count == 2 else { throw AscentError.invalid("values must hold 2 elements, hold \(values.count)") }
        guard let d = inputs.value(1) else { return nil }
        guard d.count == 1 else { throw AscentError.invalid("depth must be a scalar") }
        let depth = d.doubles()[0]
        guard depth >= 1, depth < 1e12 else { throw AscentError.invalid("depth \(depth) is not positive") }
        let a = try ShapeRules.axis(axis, rank: indices.rank + 1)
        var shape = indices.shape
        shape.insert(Int(depth), at: a)
        return [TensorType(values.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let indices = inputs[0], let values = inputs[2] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: indices.rank + 1)
        let depth = outputs[0].shape[a]
        let idx = indices.doubles()
        let y = context.allocate(outputs[0])
        let e = values.dtype.byteSize
        let outer = product(indices.shape[..<a]), inner = product(indices.shape[a...])
        for p in 0..<outer {
            for d in 0..<depth {
                for q in 0..<inner {
                    var i = Int(idx[p * inner + q])
                    if i < 0 { i += depth }
                    let src = values.rawPointer + (i == d ? e : 0)
                    memcpy(y.rawPointer + ((p * depth + d) * inner + q) * e, src, e)
                }
            }
        }
        return [y]
    }
}

/// TopK(x, k) (or TopK-1's `k` attribute): the `k` largest (or smallest) values along `axis` and their int64 indices, sorted;
/// equal values keep the lower index first.
struct TopKKernel: Kernel {
    let axis: Int, largest: Bool
    /// TopK-1's `k` attribute, used when there is no k input.
    let attributeK: Int?

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        largest = try a.int("largest", 1) != 0
        attributeK = a.node.attributes["k"] == nil ? nil : try a.int("k", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric("TopK", x)
        if !inputs.has(1), attributeK == nil { throw AscentError.invalid("TopK needs k (an input, or the opset-1 attribute)") }
        guard let ks = inputs.has(1) ? try inputs.ints(1) : attributeK.map({ [$0] }) else { return nil }
        guard ks.count == 1 else { throw AscentError.invalid("k must hold one value") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        guard ks[0] >= 0, ks[0] <= x.shape[a] else { throw AscentError.invalid("k \(ks[0]) is out of range for axis size \(x.shape[a])") }
        var shape = x.shape
        shape[a] = ks[0]
        return [TensorType(x.dtype, shape), TensorType(.int64, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let k = outputs[0].shape[a]
        let v = x.doubles()
        let values = context.allocate(outputs[0]), indices = context.allocate(outputs[1])
        let e = x.dtype.byteSize, ip = indices.mutablePointer(Int64.self)
        var order = [Int](repeating: 0, count: size)
        for p in 0..<outer {
            for q in 0..<inner {
                for s in 0..<size { order[s] = s }
                let base = p * size * inner + q
                order.sort { i, j in
                    let x = v[base + i * inner], y = v[base + j * inner]
                    if x == y || (x.isNaN && y.isNaN) { return i < j }
                    if x.isNaN { return largest }
                    if y.isNaN { return !largest }
                    return largest ? x > y : x < y
                }
                for s in 0..<k {
                    let o = (p * k + s) * inner + q
                    ip[o] = Int64(order[s])
                    memcpy(values.rawPointer + o * e, x.rawPointer + (base + order[s] * inner) * e, e)
                }
            }
        }
        return [values, indices]
    }
}

/// Hardmax along `axis`: 1 at the first maximum of each slice, 0 elsewhere.
struct HardmaxKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", -1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("Hardmax", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let (outer, size, inner) = around(x.shape, axis: a)
        let y = context.allocateZeroed(outputs[0])
        let s = x.floats, o = y.mutableFloats
        guard size > 0 else { return [y] }
        for p in 0..<outer {
            for q in 0..<inner {
                var best = 0
                for k in 1..<size where s[(p * size + k) * inner + q] > s[(p * size + best) * inner + q] { best = k }
                o[(p * size + best) * inner + q] = 1
            }
        }
        return [y]
    }
}

// MARK: - DepthToSpace, SpaceToDepth

/// DepthToSpace and SpaceToDepth (`mode` DCR or CRD) on NCHW tensors of any type.
struct BlockKernel: Kernel {
    let toSpace: Bool, b: Int, crd: Bool

    init(_ a: NodeAttributes) throws {
        toSpace = a.op == "DepthToSpace"
        b = try a.int("blocksize", 0)
        guard b > 0 else { throw AscentError.invalid("blocksize \(b) is not positive") }
        let mode = try a.string("mode", "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw AscentError.invalid("mode '\(mode)' is not DCR or CRD") }
        crd = mode == "CRD"
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.rank == 4 else { throw AscentError.invalid("needs a 4-D input, got \(x)") }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        if toSpace {
            guard c % (b * b) == 0 else { throw AscentError.invalid("channels \(c) are not a multiple of \(b * b)") }
            return [TensorType(x.dtype, [n, c / (b * b), h * b, w * b])]
        }
        guard h % b == 0, w % b == 0 else { throw AscentError.invalid("\(x) is not a multiple of blocksize \(b)") }
        return [TensorType(x.dtype, [n, c * b * b, h / b, w / b])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let e = x.dtype.byteSize
        // Iterate over the space-side tensor [n, c, H, W] (H, W the large sizes).
        let space = toSpace ? y.shape : x.shape
        let (n, c, hh, ww) = (space[0], space[1], space[2], space[3])
        let h = hh / b, w = ww / b, depth = c * b * b
        for ni in 0..<n {
            for ci in 0..<c {
                for yi in 0..<hh {
                    for xi in 0..<ww {
                        let i = yi % b, j = xi % b, hi = yi / b, wi = xi / b
                        let d = crd ? ci * b * b + i * b + j : (i * b + j) * c + ci
                        let spaceOffset = ((ni * c + ci) * hh + yi) * ww + xi
                        let depthOffset = ((ni * depth + d) * h + hi) * w + wi
                        if toSpace {
                            memcpy(y.rawPointer + spaceOffset * e, x.rawPointer + depthOffset * e, e)
                        } else {
                            memcpy(y.rawPointer + depthOffset * e, x.rawPointer + spaceOffset * e, e)
                        }
                    }
                }
            }
        }
        return [y]
    }
}

// MARK: - Reductions

/// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare (computed in Double;
/// float32 and integers), with ReduceSum's axes, `keepdims` and `noop_with_empty_axes`.
struct MoreReduceKernel: Kernel {
    let op: String
    let keepDims: Bool, noopWithEmptyAxes: Bool
    let attributeAxes: [Int]?

    init(_ a: NodeAttributes) throws {
        op = a.op
        keepDims = try a.int("keepdims", 1) != 0
        noopWithEmptyAxes = try a.int("noop_with_empty_axes", 0) != 0
        attributeAxes = try a.ints("axes")
    }

    func axes(_ inputs: KernelInputs) throws -> [Int]? {
        let x = try inputs.type(0)
        var given = attributeAxes
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            given = v
        }
        return try ReduceOps.reducedAxes(given, rank: x.rank, noopWithEmptyAxes: noopWithEmptyAxes)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireNumeric(op, x)
        guard let axes = try axes(inputs) else { return nil }
        var shape: [Int] = []
        for (i, d) in x.shape.enumerated() {
            if !axes.contains(i) { shape.append(d) } else if keepDims { shape.append(1) }
        }
        return [TensorType(x.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        guard let axes = try axes(KernelInputs(types: inputs.map { $0?.type }, values: inputs)) else {
            throw AscentError(.internal, "reduction axes unknown at run time")
        }
        let v = x.doubles()
        let kept = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let m = outputs[0].count
        // Output offset of each input element: iterate the input, the output steps 0 along reduced axes.
        let map = axes.isEmpty ? Array(0..<v.count) : broadcastOffsets(kept, to: x.shape)
        var result = [Double](repeating: 0, count: m)
        if axes.isEmpty {
            // noop_with_empty_axes: the elementwise part of the reduction only.
            for i in 0..<v.count {
                switch op {
                case "ReduceL1": result[i] = abs(v[i])
                case "ReduceL2": result[i] = abs(v[i])
                case "ReduceLogSum": result[i] = naturalLog(v[i])
                case "ReduceLogSumExp": result[i] = v[i]
                default: result[i] = v[i] * v[i]
                }
            }
            return [tensor(outputs[0], doubles: result)]
        }
        switch op {
        case "ReduceLogSumExp":
            var top = [Double](repeating: -.infinity, count: m)
            for i in 0..<v.count where v[i] > top[map[i]] { top[map[i]] = v[i] }
            for i in 0..<v.count {
                let t = top[map[i]]
                result[map[i]] += naturalExp(t.isInfinite ? v[i] : v[i] - t)
            }
            for j in 0..<m { result[j] = naturalLog(result[j]) + (top[j].isInfinite ? 0 : top[j]) }
        default:
            for i in 0..<v.count {
                let x = v[i]
                switch op {
                case "ReduceL1": result[map[i]] += abs(x)
                case "ReduceLogSum": result[map[i]] += x
                default: result[map[i]] += x * x
                }
            }
            if op == "ReduceL2" { result = result.map { $0.squareRoot() } }
            if op == "ReduceLogSum" { result = result.map { naturalLog($0) } }
        }
        if x.dtype.isInteger { result = result.map { $0.rounded(.toNearestOrEven) } }
        return [tensor(outputs[0], doubles: result)]
    }
}

@inline(__always) func naturalLog(_ x: Double) -> Double { log(x) }
@inline(__always) func naturalExp(_ x: Double) -> Double { exp(x) }

// MARK: - Normalizations

/// LpNormalization along `axis`: `x / ‖x‖ₚ` (p 1 or 2); a zero norm gives 0.
struct LpNormKernel: Kernel {
    let axis: Int, p: Int

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        p = try a.int("p", 2)
        guard p == 1 || p == 2 else { throw AscentError.invalid("p \(p) is not 1 or 2") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("LpNormalization", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let (outer, size, inner) = around(x.shape, axis: try ShapeRules.axis(axis, rank: x.rank))
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for a in 0..<outer {
            for q in 0..<inner {
                var norm: Double = 0
                for k in 0..<size {
                    let v = Double(s[(a * size + k) * inner + q])
                    norm += p == 1 ? abs(v) : v * v
                }
                if p == 2 { norm = norm.squareRoot() }
                for k in 0..<size {
                    let i = (a * size + k) * inner + q
                    o[i] = norm == 0 ? 0 : Float(Double(s[i]) / norm)
                }
            }
        }
        return [y]
    }
}

/// InstanceNormalization (one group per channel) and GroupNormalization over `[N, C, ...]`:
/// `y = (x − mean) / √(var + ε) · scale[c] + bias[c]`, statistics per sample and group.
/// GroupNormalization-18's per-group scale and bias (`num_groups` values) are accepted too.
struct GroupNormKernel: Kernel {
    let instance: Bool, groups: Int, epsilon: Float

    init(_ a: NodeAttributes) throws {
        instance = a.op == "InstanceNormalization"
        groups = instance ? 0 : try a.int("num_groups", 0)
        epsilon = try a.float("epsilon", 1e-5)
        guard instance || groups > 0 else { throw AscentError.invalid("num_groups must be positive") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat(instance ? "InstanceNormalization" : "GroupNormalization", x)
        guard x.rank >= 2 else { throw AscentError.invalid("needs rank 2 or more, got \(x)") }
        let c = x.shape[1], g = instance ? c : groups
        guard g > 0, c % g == 0 else { throw AscentError.invalid("channels \(c) do not divide into \(g) groups") }
        for i in 1...2 {
            let p = try inputs.type(i)
            guard p.count == c || p.count == g else { throw AscentError.invalid("parameter \(i) is \(p), expected [\(c)]") }
        }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1], let bias = inputs[2] else { throw AscentError.invalid("missing input") }
        let n = x.shape[0], c = x.shape[1], spatial = product(x.shape[2...])
        let g = instance ? c : groups, per = c / g
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats, w = scale.floats(), b = bias.floats()
        for ni in 0..<n {
            for gi in 0..<g {
                let start = (ni * c + gi * per) * spatial, count = per * spatial
                var mean: Double = 0
                for i in 0..<count { mean += Double(s[start + i]) }
                mean /= Double(max(count, 1))
                var variance: Double = 0
                for i in 0..<count { let d = Double(s[start + i]) - mean; variance += d * d }
                variance /= Double(max(count, 1))
                let inv = 1 / (variance + Double(epsilon)).squareRoot()
                for k in 0..<per {
                    let ch = gi * per + k
                    let sw = Double(w.count == c ? w[ch] : w[gi]), sb = Double(b.count == c ? b[ch] : b[gi])
                    for i in 0..<spatial {
                        let j = start + k * spatial + i
                        o[j] = Float((Double(s[j]) - mean) * inv * sw + sb)
                    }
                }
            }
        }
        return [y]
    }
}

/// RMSNormalization: `x / √(mean(x²) + ε) · scale` over the axes from `axis` on.
struct RMSNormKernel: Kernel {
    let axis: Int, epsilon: Float

    init(_ a: NodeAttributes) throws {
        axis = try a.int("axis", -1)
        epsilon = try a.float("epsilon", 1e-5)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("RMSNormalization", x)
        _ = try ShapeRules.axis(axis, rank: x.rank)
        _ = try BroadcastLoop.shape([x.shape, try inputs.type(1).shape])
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let scale = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: x.rank)
        let rows = product(x.shape[..<a]), size = product(x.shape[a...])
        let w = broadcastOffsets(scale.shape, to: x.shape), sw = scale.floats()
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for r in 0..<rows {
            var sum: Double = 0
            for i in 0..<size { let v = Double(s[r * size + i]); sum += v * v }
            let inv = 1 / (sum / Double(max(size, 1)) + Double(epsilon)).squareRoot()
            for i in 0..<size {
                let j = r * size + i
                o[j] = Float(Double(s[j]) * inv) * sw[w[j]]
            }
        }
        return [y]
    }
}

/// MeanVarianceNormalization over `axes` (default [0, 2, 3]): `(x − mean) / (√(E[x²] − mean²) + 1e-9)`.
struct MVNKernel: Kernel {
    let axes: [Int]

    init(_ a: NodeAttributes) throws { axes = try a.ints("axes") ?? [0, 2, 3] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("MeanVarianceNormalization", x)
        _ = try IndexingOps.normalizedAxes(axes, rank: x.rank)
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let reduced = try IndexingOps.normalizedAxes(axes, rank: x.rank)
        let kept = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let m = kept.reduce(1, *)
        let map = broadcastOffsets(kept, to: x.shape)
        let s = x.floats, n = x.count
        var sum = [Double](repeating: 0, count: m), squares = [Double](repeating: 0, count: m)
        for i in 0..<n { let v = Double(s[i]); sum[map[i]] += v; squares[map[i]] += v * v }
        let per = Double(max(n / max(m, 1), 1))
        let y = context.allocate(outputs[0])
        let o = y.mutableFloats
        for i in 0..<n {
            let mean = sum[map[i]] / per
            let std = max(squares[map[i]] / per - mean * mean, 0).squareRoot()
            o[i] = Float((Double(s[i]) - mean) / (std + 1e-9))
        }
        return [y]
    }
}

/// LRN across channels of `[N, C, ...]`: `x / (bias + alpha/size · Σ x²)^beta` over the window of
/// `size` channels around each one.
struct LRNKernel: Kernel {
    let alpha: Float, beta: Float, bias: Float, size: Int

    init(_ a: NodeAttributes) throws {
        alpha = try a.float("alpha", 0.0001)
        beta = try a.float("beta", 0.75)
        bias = try a.float("bias", 1)
        size = try a.int("size", 0)
        guard size > 0 else { throw AscentError.invalid("size must be positive") }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("LRN", x)
        guard x.rank >= 3 else { throw AscentError.invalid("LRN needs rank 3 or more, got \(x)") }
        return [x]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let n = x.shape[0], c = x.shape[1], spatial = product(x.shape[2...])
        let before = (size - 1) / 2, after = size - 1 - before
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutableFloats
        for ni in 0..<n {
            for ci in 0..<c {
                let lo = max(0, ci - before), hi = min(c - 1, ci + after)
                for i in 0..<spatial {
                    var sum: Float = 0
                    for k in lo...hi { let v = s[(ni * c + k) * spatial + i]; sum += v * v }
                    let j = (ni * c + ci) * spatial + i
                    o[j] = s[j] / powf(bias + alpha / Float(size) * sum, beta)
                }
            }
        }
        return [y]
    }
}
