import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// CastLike, Size, Mod, BitShift, the bitwise ops and the math maps (Acos... IsNaN, Shrink).
/// Registered in ``MoreKernels``.

// MARK: - CastLike, Size

/// CastLike(x, like): x cast to like's type (the Cast kernel's conversions).
struct CastLikeKernel: Kernel {
    func cast(_ to: DType) throws -> CastKernel {
        let node = Node(name: "CastLike", op: "Cast", inputs: [], outputs: [], attributes: ["to": .int(to.onnxCode)])
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

