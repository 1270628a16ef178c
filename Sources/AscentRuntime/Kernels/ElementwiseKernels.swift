import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the elementwise and activation ops (Ops/Elementwise.swift, Ops/Activation.swift): maps of
// one tensor, Identity, Clip, the bitwise and float-class tests, SwiGLU.

/// Elementwise maps of one tensor: activations and math functions (float32), a few integer
/// forms (Neg, Abs, Sign, Relu), Not (bool), Identity (any type, no copy) and Clip.
enum UnaryKernels {
    static let factories: [String: KernelFactory] = {
        var table: [String: KernelFactory] = [:]
        for op in ["Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf", "Floor",
                   "Ceil", "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Mish", "HardSwish", "Not",
                   "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Gelu", "Celu", "ThresholdedRelu", "Swish"] {
            table[op] = { UnaryKernel(try UnaryOp($0)) }
        }
        table["Identity"] = { _ in IdentityKernel() }
        table["Clip"] = { try ClipKernel($0) }
        return table
    }()
}

/// One elementwise function with its parameters.
enum UnaryOp: Sendable {
    case relu, sigmoid, tanh, exp, log, neg, abs, sqrt, reciprocal, erf, floor, ceil, round, sign, sin, cos
    case softplus, softsign, mish, hardSwish, not
    case leakyRelu(Float), elu(Float), selu(alpha: Float, gamma: Float), hardSigmoid(alpha: Float, beta: Float)
    case gelu(tanh: Bool), celu(Float), thresholdedRelu(Float), swish(Float)

    init(_ a: NodeAttributes) throws {
        switch a.op {
        case "Relu": self = .relu
        case "Sigmoid": self = .sigmoid
        case "Tanh": self = .tanh
        case "Exp": self = .exp
        case "Log": self = .log
        case "Neg": self = .neg
        case "Abs": self = .abs
        case "Sqrt": self = .sqrt
        case "Reciprocal": self = .reciprocal
        case "Erf": self = .erf
        case "Floor": self = .floor
        case "Ceil": self = .ceil
        case "Round": self = .round
        case "Sign": self = .sign
        case "Sin": self = .sin
        case "Cos": self = .cos
        case "Softplus": self = .softplus
        case "Softsign": self = .softsign
        case "Mish": self = .mish
        case "HardSwish": self = .hardSwish
        case "Not": self = .not
        case "LeakyRelu": self = .leakyRelu(try a.float("alpha", 0.01))
        case "Elu": self = .elu(try a.float("alpha", 1))
        case "Selu": self = .selu(alpha: try a.float("alpha", 1.67326319217681884765625),
                                  gamma: try a.float("gamma", 1.05070102214813232421875))
        case "HardSigmoid": self = .hardSigmoid(alpha: try a.float("alpha", 0.2), beta: try a.float("beta", 0.5))
        case "Gelu":
            let approximate = try a.string("approximate", "none")
            guard approximate == "none" || approximate == "tanh" else {
                throw AscentError.invalid("Gelu approximate '\(approximate)' is not 'none' or 'tanh'")
            }
            self = .gelu(tanh: approximate == "tanh")
        case "Celu": self = .celu(try a.float("alpha", 1))
        case "ThresholdedRelu": self = .thresholdedRelu(try a.float("alpha", 1))
        case "Swish": self = .swish(try a.float("alpha", 1))
        default: throw AscentError.invalid("no unary kernel for \(a.op)")
        }
    }

    /// The dtypes this op accepts.
    func accepts(_ dtype: DType) -> Bool {
        switch self {
        case .not: return dtype == .bool
        case .neg, .abs, .sign, .relu: return dtype == .float32 || dtype == .int64 || dtype == .int32
        default: return dtype == .float32
        }
    }

    /// Rough cost of one element in simple operations (for the parallel threshold).
    var cost: Int {
        switch self {
        case .relu, .neg, .abs, .floor, .ceil, .round, .sign, .not, .leakyRelu, .hardSigmoid, .hardSwish,
             .thresholdedRelu, .softsign, .reciprocal, .sqrt: return 1
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

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard op.accepts(t.dtype) else { throw KernelError.dtype("\(op)", t.dtype) }
        return [t]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.count
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
            throw KernelError.dtype("\(op)", x.dtype)
        }
        return [y]
    }
}

/// Identity: the output is the input (shared storage, no copy).
struct IdentityKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? { [try inputs.type(0)] }
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [x]
    }
}

/// Clip(x, min, max): bounds from the optional scalar inputs (or the pre-opset-11 attributes).
struct ClipKernel: Kernel {
    let minAttribute: Float?
    let maxAttribute: Float?

    init(_ a: NodeAttributes) throws {
        minAttribute = a.node.attributes["min"] == nil ? nil : try a.float("min", 0)
        maxAttribute = a.node.attributes["max"] == nil ? nil : try a.float("max", 0)
    }

    var inPlaceInputs: [Int] { [0] }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard BinaryOp.numeric.contains(t.dtype) else { throw KernelError.dtype("Clip", t.dtype) }
        for i in 1..<3 where inputs.has(i) {
            let b = try inputs.type(i)
            guard b.count == 1, b.dtype == t.dtype else { throw AscentError.invalid("Clip bound \(i) must be a \(t.dtype.rawValue) scalar, is \(b)") }
        }
        return [t]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let lo = inputs.count > 1 ? inputs[1] : nil, hi = inputs.count > 2 ? inputs[2] : nil
        switch x.dtype {
        case .float32:
            let a = lo.map { $0.floats[0] } ?? minAttribute ?? -.infinity
            let b = hi.map { $0.floats[0] } ?? maxAttribute ?? .infinity
            let src = x.floats, dst = y.mutableFloats
            context.parallelFor(x.count) { r in
                for i in r { dst[i] = Swift.min(Swift.max(src[i], a), b) }
            }
        case .int64: clip(x, y, lo, hi, Int64.self)
        case .int32: clip(x, y, lo, hi, Int32.self)
        case .int16: clip(x, y, lo, hi, Int16.self)
        case .int8: clip(x, y, lo, hi, Int8.self)
        case .uint8: clip(x, y, lo, hi, UInt8.self)
        default: throw KernelError.dtype("Clip", x.dtype)
        }
        return [y]
    }

    private func clip<T: FixedWidthInteger>(_ x: Tensor, _ y: Tensor, _ lo: Tensor?, _ hi: Tensor?, _: T.Type) {
        let a = lo.map { $0.pointer(T.self)[0] } ?? T.min, b = hi.map { $0.pointer(T.self)[0] } ?? T.max
        let src = x.pointer(T.self), dst = y.mutablePointer(T.self)
        for i in 0..<x.count { dst[i] = Swift.min(Swift.max(src[i], a), b) }
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

/// SwiGLU(a, b) = a · σ(alpha·a) · b (same shapes, float32).
struct SwiGLUKernel: Kernel {
    let alpha: Float

    init(_ a: NodeAttributes) throws { alpha = try a.float("alpha", 1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        try requireFloat("SwiGLU", a)
        guard a == b else { throw AscentError.invalid("SwiGLU needs inputs of the same type, got \(a) and \(b)") }
        return [a]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], let b = inputs[1] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let pa = a.floats, pb = b.floats, o = y.mutableFloats
        for i in 0..<a.count { o[i] = pa[i] * (1 / (1 + expf(-alpha * pa[i]))) * pb[i] }
        return [y]
    }
}
