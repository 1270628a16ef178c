import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the elementwise and activation ops (Ops/Elementwise.swift, Ops/Activation.swift): maps of
// one tensor, Identity, Clip, the bitwise and float-class tests, SwiGLU.

/// One elementwise function with its parameters.
enum UnaryOp: Sendable {
    case relu, sigmoid, tanh, exp, log, neg, abs, sqrt, reciprocal, erf, floor, ceil, round, sign, sin, cos
    case tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh
    case softplus, softsign, mish, hardSwish, not
    case leakyRelu(Float), elu(Float), selu(alpha: Float, gamma: Float), hardSigmoid(alpha: Float, beta: Float)
    case gelu(tanh: Bool), celu(Float), thresholdedRelu(Float), swish(Float)
    /// `x + bias` below `−lambd`, `x − bias` above `lambd`, else 0 (float32 and integers).
    case shrink(bias: Float, lambd: Float)

    /// The dtypes this op accepts.
    func accepts(_ dtype: DType) -> Bool {
        switch self {
        case .not: return dtype == .bool
        case .neg, .abs, .sign, .relu: return dtype == .float32 || dtype == .int64 || dtype == .int32
        case .shrink: return dtype == .float32 || dtype.isInteger
        default: return dtype == .float32
        }
    }

    /// Rough cost of one element in simple operations (for the parallel threshold).
    var cost: Int {
        switch self {
        case .relu, .neg, .abs, .floor, .ceil, .round, .sign, .not, .leakyRelu, .hardSigmoid, .hardSwish,
             .thresholdedRelu, .softsign, .reciprocal, .sqrt, .shrink: return 1
        default: return 16
        }
    }

    /// Applies the map to `n` float32 elements (`y` may equal `x`).
    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .relu: map(x, y, n) { $0 > 0 ? $0 : 0 }
        case .sigmoid: map(x, y, n) { UnaryOp.sigmoid($0) }
        case .tanh: map(x, y, n) { tanhf($0) }
        case .exp: map(x, y, n) { expf($0) }
        case .log: map(x, y, n) { logf($0) }
        case .neg: map(x, y, n) { -$0 }
        case .abs: map(x, y, n) { Swift.abs($0) }
        case .sqrt: map(x, y, n) { $0.squareRoot() }
        case .reciprocal: map(x, y, n) { 1 / $0 }
        case .erf: map(x, y, n) { erff($0) }
        case .floor: map(x, y, n) { $0.rounded(.down) }
        case .ceil: map(x, y, n) { $0.rounded(.up) }
        case .round: map(x, y, n) { $0.rounded(.toNearestOrEven) }
        case .sign: map(x, y, n) { $0 > 0 ? 1 : ($0 < 0 ? -1 : ($0.isNaN ? $0 : 0)) }
        case .sin: map(x, y, n) { sinf($0) }
        case .cos: map(x, y, n) { cosf($0) }
        case .tan: map(x, y, n) { tanf($0) }
        case .asin: map(x, y, n) { asinf($0) }
        case .acos: map(x, y, n) { acosf($0) }
        case .atan: map(x, y, n) { atanf($0) }
        case .sinh: map(x, y, n) { sinhf($0) }
        case .cosh: map(x, y, n) { coshf($0) }
        case .asinh: map(x, y, n) { asinhf($0) }
        case .acosh: map(x, y, n) { acoshf($0) }
        case .atanh: map(x, y, n) { atanhf($0) }
        case .softplus: map(x, y, n) { UnaryOp.softplus($0) }
        case .softsign: map(x, y, n) { $0 / (1 + Swift.abs($0)) }
        case .mish: map(x, y, n) { $0 * tanhf(UnaryOp.softplus($0)) }
        case .hardSwish: map(x, y, n) { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        case .not: break
        case .leakyRelu(let alpha): map(x, y, n) { $0 >= 0 ? $0 : alpha * $0 }
        case .elu(let alpha): map(x, y, n) { $0 > 0 ? $0 : alpha * expm1f($0) }
        case .selu(let alpha, let gamma): map(x, y, n) { gamma * ($0 > 0 ? $0 : alpha * expm1f($0)) }
        case .hardSigmoid(let alpha, let beta): map(x, y, n) { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
        case .gelu(let tanh):
            if tanh {
                let c: Float = 0.7978845608028654 // sqrt(2/pi)
                map(x, y, n) { 0.5 * $0 * (1 + tanhf(c * ($0 + 0.044715 * $0 * $0 * $0))) }
            } else {
                map(x, y, n) { 0.5 * $0 * (1 + erff($0 * 0.7071067811865476)) }
            }
        case .celu(let alpha): map(x, y, n) { Swift.max(0, $0) + Swift.min(0, alpha * expm1f($0 / alpha)) }
        case .thresholdedRelu(let alpha): map(x, y, n) { $0 > alpha ? $0 : 0 }
        case .swish(let alpha): map(x, y, n) { $0 * UnaryOp.sigmoid(alpha * $0) }
        case .shrink(let bias, let lambd): map(x, y, n) { $0 < -lambd ? $0 + bias : ($0 > lambd ? $0 - bias : 0) }
        }
    }

    /// Applies integer forms (Neg, Abs, Sign, Relu); wrapping on overflow.
    func applyInteger<T: FixedWidthInteger & SignedInteger>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        switch self {
        case .neg: for i in 0..<n { y[i] = 0 &- x[i] }
        case .abs: for i in 0..<n { y[i] = x[i] < 0 ? 0 &- x[i] : x[i] }
        case .sign: for i in 0..<n { y[i] = x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0) }
        case .relu: for i in 0..<n { y[i] = x[i] > 0 ? x[i] : 0 }
        default: break
        }
    }

    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        // Stable on both sides: never exponentiates a large positive number.
        if x >= 0 { return 1 / (1 + expf(-x)) }
        let e = expf(x)
        return e / (1 + e)
    }

    @inline(__always)
    static func softplus(_ x: Float) -> Float {
        x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x))
    }
}

@inline(__always)
private func map(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float) -> Float) {
    for i in 0..<n { y[i] = f(x[i]) }
}

/// A ``UnaryOp`` over a whole tensor; may write in place.
struct UnaryKernel: Kernel {
    let op: UnaryOp

    init(_ op: UnaryOp) { self.op = op }

    var inPlaceInputs: [Int] { [0] }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard op.accepts(t.dtype) else { throw KernelError.dtype(t.dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.count
        if case .shrink(let bias, let lambd) = op, x.dtype.isInteger {
            // Integer Shrink in Double, truncated and wrapped back to the element type.
            let b = Double(bias), l = Double(lambd)
            storeIntegers(x.doubles().map { Int64($0 < -l ? $0 + b : ($0 > l ? $0 - b : 0)) }, into: y)
            return [y]
        }
        switch x.dtype {
        case .float32:
            let src = x.floats, dst = y.mutableFloats
            context.parallelFor(n, costPerItem: op.cost) { r in op.apply(src + r.lowerBound, dst + r.lowerBound, r.count) }
        case .int64:
            op.applyInteger(x.pointer(Int64.self), y.mutablePointer(Int64.self), n)
        case .int32:
            op.applyInteger(x.pointer(Int32.self), y.mutablePointer(Int32.self), n)
        case .bool:
            let src = x.pointer(UInt8.self), dst = y.mutablePointer(UInt8.self)
            for i in 0..<n { dst[i] = src[i] == 0 ? 1 : 0 }
        default:
            throw KernelError.dtype(x.dtype)
        }
        return [y]
    }
}

/// Identity: the output is the input (shared storage, no copy).
/// Identity passes any value: a tensor, a sequence, an optional.
struct IdentityKernel: ValueKernel {
    var needsValues: Bool { false }
    var computesOutputTypes: Bool { false }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [x]
    }

    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue] {
        guard let x = inputs.first ?? nil else { throw AscentError.invalid("missing input") }
        return [x]
    }
}

/// Clip(x, min, max): bounds from the optional scalar inputs (the importer turns the pre-opset-11
/// attributes into inputs).
struct ClipKernel: Kernel {
    var inPlaceInputs: [Int] { [0] }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard BinaryOp.numeric.contains(t.dtype) else { throw KernelError.dtype(t.dtype) }
        for i in 1..<3 where inputs.has(i) {
            let b = try inputs.type(i)
            guard b.count == 1, b.dtype == t.dtype else { throw AscentError.invalid("bound \(i) must be a \(t.dtype.rawValue) scalar, is \(b)") }
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        switch x.dtype {
        case .float32:
            let a = lo.map { $0.floats[0] } ?? -.infinity
            let b = hi.map { $0.floats[0] } ?? .infinity
            let src = x.floats, dst = y.mutableFloats
            context.parallelFor(x.count) { r in
                for i in r { dst[i] = Swift.min(Swift.max(src[i], a), b) }
            }
        case .int64: clip(x, y, lo, hi, Int64.self)
        case .int32: clip(x, y, lo, hi, Int32.self)
        case .int16: clip(x, y, lo, hi, Int16.self)
        case .int8: clip(x, y, lo, hi, Int8.self)
        case .uint8: clip(x, y, lo, hi, UInt8.self)
        default: throw KernelError.dtype(x.dtype)
        }
        return [y]
    }

    private func clip<T: FixedWidthInteger>(_ x: Tensor, _ y: Tensor, _ lo: Tensor?, _ hi: Tensor?, _: T.Type) {
        let a = lo.map { $0.pointer(T.self)[0] } ?? T.min, b = hi.map { $0.pointer(T.self)[0] } ?? T.max
        let src = x.pointer(T.self), dst = y.mutablePointer(T.self)
        for i in 0..<x.count { dst[i] = Swift.min(Swift.max(src[i], a), b) }
    }
}

/// IsNaN, and IsInf with its sign choices: float32 to bool.
struct FloatTestKernel: Kernel {
    enum Test: Sendable { case nan, infinity(negative: Bool, positive: Bool) }
    let test: Test

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        try requireFloat(try inputs.type(0))
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let s = x.floats, o = y.mutablePointer(UInt8.self)
        switch test {
        case .nan: for i in 0..<x.count { o[i] = s[i].isNaN ? 1 : 0 }
        case .infinity(let negative, let positive):
            for i in 0..<x.count { o[i] = s[i].isInfinite && (s[i] > 0 ? positive : negative) ? 1 : 0 }
        }
        return [y]
    }
}

/// BitwiseNot of an integer tensor.
struct BitwiseNotKernel: Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard x.dtype.isInteger else { throw KernelError.dtype(x.dtype) }
        return nil
    }
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        storeIntegers(integerValues(x).map { ~$0 }, into: y)
        return [y]
    }
}

/// SwiGLU(a, b) = a · σ(alpha·a) · b (same shapes, float32).
struct SwiGLUKernel: Kernel {
    let alpha: Float

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        try requireFloat(a)
        guard a == b else { throw AscentError.invalid("needs inputs of the same type, got \(a) and \(b)") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let pa = a.floats, pb = b.floats, o = y.mutableFloats
        for i in 0..<a.count { o[i] = pa[i] * (1 / (1 + expf(-alpha * pa[i]))) * pb[i] }
        return [y]
    }
}

extension KernelRegistry {
    static let elementwise: [(OpDefinition, KernelFactory)] = [
        (.identity, { _ in IdentityKernel() }),
        (.neg, { _ in UnaryKernel(.neg) }),
        (.exp, { _ in UnaryKernel(.exp) }),
        (.log, { _ in UnaryKernel(.log) }),
        (.sqrt, { _ in UnaryKernel(.sqrt) }),
        (.reciprocal, { _ in UnaryKernel(.reciprocal) }),
        (.abs, { _ in UnaryKernel(.abs) }),
        (.sin, { _ in UnaryKernel(.sin) }),
        (.cos, { _ in UnaryKernel(.cos) }),
        (.tan, { _ in UnaryKernel(.tan) }),
        (.asin, { _ in UnaryKernel(.asin) }),
        (.acos, { _ in UnaryKernel(.acos) }),
        (.atan, { _ in UnaryKernel(.atan) }),
        (.sinh, { _ in UnaryKernel(.sinh) }),
        (.cosh, { _ in UnaryKernel(.cosh) }),
        (.asinh, { _ in UnaryKernel(.asinh) }),
        (.acosh, { _ in UnaryKernel(.acosh) }),
        (.atanh, { _ in UnaryKernel(.atanh) }),
        (.erf, { _ in UnaryKernel(.erf) }),
        (.floor, { _ in UnaryKernel(.floor) }),
        (.ceil, { _ in UnaryKernel(.ceil) }),
        (.round, { _ in UnaryKernel(.round) }),
        (.sign, { _ in UnaryKernel(.sign) }),
        (.not, { _ in UnaryKernel(.not) }),
        (.bitwiseNot, { _ in BitwiseNotKernel() }),
        (.isNaN, { _ in FloatTestKernel(test: .nan) }),
        (.isInf, { node in
            let a = try IsInfAttributes(node)
            return FloatTestKernel(test: .infinity(negative: a.detectNegative, positive: a.detectPositive))
        }),
    ]

    static let activation: [(OpDefinition, KernelFactory)] = [
        (.relu, { _ in UnaryKernel(.relu) }),
        (.sigmoid, { _ in UnaryKernel(.sigmoid) }),
        (.tanh, { _ in UnaryKernel(.tanh) }),
        (.softplus, { _ in UnaryKernel(.softplus) }),
        (.softsign, { _ in UnaryKernel(.softsign) }),
        (.leakyRelu, { UnaryKernel(.leakyRelu(try LeakyReluAttributes($0).alpha)) }),
        (.thresholdedRelu, { UnaryKernel(.thresholdedRelu(try ThresholdedReluAttributes($0).alpha)) }),
        (.elu, { UnaryKernel(.elu(try EluAttributes($0).alpha)) }),
        (.selu, { node in
            let a = try SeluAttributes(node)
            return UnaryKernel(.selu(alpha: a.alpha, gamma: a.gamma))
        }),
        (.celu, { UnaryKernel(.celu(try CeluAttributes($0).alpha)) }),
        (.hardSigmoid, { node in
            let a = try HardSigmoidAttributes(node)
            return UnaryKernel(.hardSigmoid(alpha: a.alpha, beta: a.beta))
        }),
        (.hardSwish, { _ in UnaryKernel(.hardSwish) }),
        (.swish, { UnaryKernel(.swish(try SwishAttributes($0).alpha)) }),
        (.mish, { _ in UnaryKernel(.mish) }),
        (.gelu, { UnaryKernel(.gelu(tanh: try GeluAttributes($0).tanhApproximation)) }),
        (.shrink, { node in
            let a = try ShrinkAttributes(node)
            return UnaryKernel(.shrink(bias: a.bias, lambd: a.lambd))
        }),
        (.clip, { _ in ClipKernel() }),
        (.pRelu, { _ in BinaryKernel(op: .prelu) }),
        (.swiGLU, { SwiGLUKernel(alpha: try SwishAttributes($0).alpha) }),
    ]
}
