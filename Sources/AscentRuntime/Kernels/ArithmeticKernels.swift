import AscentIR
#if canImport(Glibc)
import Glibc
#endif

// Kernels of the arithmetic ops (Ops/Arithmetic.swift): broadcasting arithmetic, comparisons and logic,
// the variadic Max/Min/Sum/Mean, Where, Mod, BitShift and the bitwise ops.

/// Elementwise ops of two tensors with NumPy broadcasting: arithmetic (float32,
/// int64, int32, int16, int8, uint8, uint16, uint32, uint64; integers wrap), comparisons (to bool), logic (bool); the
/// variadic Max/Min/Sum/Mean and PRelu run on them too.
///
/// Broadcasting runs through ``BroadcastLoop``, which collapses the shapes so the inner loop is
/// a contiguous row where each operand steps by 1 or stays put (same shape, scalar and
/// per-channel operands all take that path).
enum BinaryOp: Sendable {
    case add, sub, mul, div, pow, prelu, max, min
    case equal, less, greater, lessOrEqual, greaterOrEqual
    case and, or, xor

    var isComparison: Bool {
        switch self {
        case .equal, .less, .greater, .lessOrEqual, .greaterOrEqual: return true
        default: return false
        }
    }
    var isLogic: Bool {
        switch self {
        case .and, .or, .xor: return true
        default: return false
        }
    }

    /// The dtypes of arithmetic, comparisons and Max/Min/Sum.
    static let numeric: Set<DType> = [.float32, .int64, .int32, .int16, .int8, .uint8, .uint16, .uint32, .uint64]

    /// The output dtype for inputs of `a` and `b`, or an error naming what is wrong.
    func outputType(_ a: DType, _ b: DType) throws -> DType {
        if isLogic {
            guard a == .bool, b == .bool else { throw AscentError.invalid("\(self) needs bool inputs, got \(a.rawValue) and \(b.rawValue)") }
            return .bool
        }
        if self == .pow {
            guard a == .float32 || a.isInteger, b == .float32 || b.isInteger else {
                throw AscentError.invalid("needs a float32 or integer base and exponent, got \(a.rawValue) and \(b.rawValue)")
            }
            return a
        }
        guard a == b else { throw AscentError.invalid("inputs mix \(a.rawValue) and \(b.rawValue)") }
        let numeric: Set<DType> = self == .prelu ? [.float32] : BinaryOp.numeric
        if isComparison {
            guard numeric.contains(a) || (self == .equal && a == .bool) else { throw KernelError.dtype(a) }
            return .bool
        }
        guard numeric.contains(a) else { throw KernelError.dtype(a) }
        return a
    }

    /// One row of float32 results.
    func floatRow(_ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                  _ o: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .add: row(a, sa, b, sb, o, n) { $0 + $1 }
        case .sub: row(a, sa, b, sb, o, n) { $0 - $1 }
        case .mul: row(a, sa, b, sb, o, n) { $0 * $1 }
        case .div: row(a, sa, b, sb, o, n) { $0 / $1 }
        case .pow:
            if sb == 0 && b[0] == 2 { row(a, sa, b, sb, o, n) { x, _ in x * x } }
            else if sb == 0 && b[0] == 0.5 { row(a, sa, b, sb, o, n) { x, _ in x.squareRoot() } }
            else { row(a, sa, b, sb, o, n) { powf($0, $1) } }
        case .prelu: row(a, sa, b, sb, o, n) { $0 < 0 ? $0 * $1 : $0 }
        case .max: row(a, sa, b, sb, o, n) { $0.isNaN || $0 >= $1 ? $0 : $1 }
        case .min: row(a, sa, b, sb, o, n) { $0.isNaN || $0 <= $1 ? $0 : $1 }
        default: break
        }
    }

    /// One row of integer results (wrapping arithmetic; division by zero gives the dividend).
    func integerRow<T: FixedWidthInteger>(_ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                                          _ o: UnsafeMutablePointer<T>, _ n: Int) {
        switch self {
        case .add: row(a, sa, b, sb, o, n) { $0 &+ $1 }
        case .sub: row(a, sa, b, sb, o, n) { $0 &- $1 }
        case .mul: row(a, sa, b, sb, o, n) { $0 &* $1 }
        case .div: row(a, sa, b, sb, o, n) { $0.dividedReportingOverflow(by: $1).partialValue }
        case .max: row(a, sa, b, sb, o, n) { Swift.max($0, $1) }
        case .min: row(a, sa, b, sb, o, n) { Swift.min($0, $1) }
        default: break
        }
    }

    /// One row of a comparison or logic op, as 0/1 bytes.
    func boolRow<T: Comparable>(_ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                                _ o: UnsafeMutablePointer<UInt8>, _ n: Int) {
        switch self {
        case .equal: row(a, sa, b, sb, o, n) { $0 == $1 ? 1 : 0 }
        case .less: row(a, sa, b, sb, o, n) { $0 < $1 ? 1 : 0 }
        case .greater: row(a, sa, b, sb, o, n) { $0 > $1 ? 1 : 0 }
        case .lessOrEqual: row(a, sa, b, sb, o, n) { $0 <= $1 ? 1 : 0 }
        case .greaterOrEqual: row(a, sa, b, sb, o, n) { $0 >= $1 ? 1 : 0 }
        default: break
        }
    }

    func logicRow(_ a: UnsafePointer<UInt8>, _ sa: Int, _ b: UnsafePointer<UInt8>, _ sb: Int,
                  _ o: UnsafeMutablePointer<UInt8>, _ n: Int) {
        switch self {
        case .and: row(a, sa, b, sb, o, n) { $0 != 0 && $1 != 0 ? 1 : 0 }
        case .or: row(a, sa, b, sb, o, n) { $0 != 0 || $1 != 0 ? 1 : 0 }
        case .xor: row(a, sa, b, sb, o, n) { ($0 != 0) != ($1 != 0) ? 1 : 0 }
        default: break
        }
    }

    /// Computes `a ⊕ b` into `y` (already allocated with the broadcast shape). `y` may be `a`
    /// or `b` when that operand has `y`'s shape.
    func compute(_ a: Tensor, _ b: Tensor, into y: Tensor, context: ExecutionContext) {
        let loop = BroadcastLoop(output: y.shape, inputs: [a.shape, b.shape])
        let inner = loop.inner, sa = loop.innerStride(0), sb = loop.innerStride(1)
        let pa = a.rawPointer, pb = b.rawPointer, po = y.rawPointer
        let dtype = a.dtype
        let cost = self == .pow ? 16 : 1
        context.parallelFor(loop.rows, costPerItem: inner * cost) { range in
            loop.forEachRow(range) { r, off in
                let o = r * inner, i = off[0], j = off[1]
                if isLogic {
                    logicRow(pa.assumingMemoryBound(to: UInt8.self) + i, sa, pb.assumingMemoryBound(to: UInt8.self) + j, sb,
                             po.assumingMemoryBound(to: UInt8.self) + o, inner)
                    return
                }
                if isComparison {
                    func compare<T: Comparable>(_: T.Type) {
                        boolRow(pa.assumingMemoryBound(to: T.self) + i, sa, pb.assumingMemoryBound(to: T.self) + j, sb,
                                po.assumingMemoryBound(to: UInt8.self) + o, inner)
                    }
                    switch dtype {
                    case .float32: compare(Float.self)
                    case .int64: compare(Int64.self)
                    case .int32: compare(Int32.self)
                    case .int16: compare(Int16.self)
                    case .int8: compare(Int8.self)
                    case .uint16: compare(UInt16.self)
                    case .uint32: compare(UInt32.self)
                    case .uint64: compare(UInt64.self)
                    default: compare(UInt8.self)  // uint8, bool
                    }
                    return
                }
                func integers<T: FixedWidthInteger>(_: T.Type) {
                    integerRow(pa.assumingMemoryBound(to: T.self) + i, sa, pb.assumingMemoryBound(to: T.self) + j, sb,
                               po.assumingMemoryBound(to: T.self) + o, inner)
                }
                switch dtype {
                case .float32:
                    floatRow(pa.assumingMemoryBound(to: Float.self) + i, sa, pb.assumingMemoryBound(to: Float.self) + j, sb,
                             po.assumingMemoryBound(to: Float.self) + o, inner)
                case .int64: integers(Int64.self)
                case .int16: integers(Int16.self)
                case .int8: integers(Int8.self)
                case .uint8: integers(UInt8.self)
                case .uint16: integers(UInt16.self)
                case .uint32: integers(UInt32.self)
                case .uint64: integers(UInt64.self)
                default: integers(Int32.self)
                }
            }
        }
    }
}

/// `o[i] = f(a[i·sa], b[i·sb])` for strides of 0 or 1, with the stride tests hoisted out of the loop.
@inline(__always)
private func row<T, U>(_ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
                       _ o: UnsafeMutablePointer<U>, _ n: Int, _ f: (T, T) -> U) {
    if sa == 1 && sb == 1 {
        for i in 0..<n { o[i] = f(a[i], b[i]) }
    } else if sa == 1 {
        let y = b[0]
        for i in 0..<n { o[i] = f(a[i], y) }
    } else if sb == 1 {
        let x = a[0]
        for i in 0..<n { o[i] = f(x, b[i]) }
    } else {
        let v = f(a[0], b[0])
        for i in 0..<n { o[i] = v }
    }
}

/// A two-input elementwise op (Pow also with an integer base).
struct BinaryKernel: Kernel {
    let op: BinaryOp

    var inPlaceInputs: [Int] { op.isComparison ? [] : [0, 1] }

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        _ = try op.outputType(a.dtype, b.dtype)
        if op == .prelu, try BroadcastLoop.shape([a.shape, b.shape]) != a.shape {
            throw AscentError.invalid("slope \(b) does not broadcast to input \(a)")
        }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let a = inputs[0], var b = inputs[1] else { throw AscentError.invalid("missing input") }
        if op == .pow, a.dtype.isInteger {
            // An integer base: pow in float64, truncated to the base's type (as onnxruntime does).
            let shape = outputs[0].shape
            let ia = broadcastOffsets(a.shape, to: shape), ib = broadcastOffsets(b.shape, to: shape)
            let x = a.doubles(), e = b.doubles()
            return [tensor(outputs[0], doubles: (0..<ia.count).map { Glibc.pow(x[ia[$0]], e[ib[$0]]) })]
        }
        if op == .pow, b.dtype != .float32 { b = b.converted(to: .float32) }
        let y = context.allocate(outputs[0])
        op.compute(a, b, into: y, context: context)
        return [y]
    }
}

/// Max, Min, Sum, Mean of one or more inputs, broadcast together.
struct VariadicKernel: Kernel {
    let op: BinaryOp
    let mean: Bool

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let types = try (0..<inputs.count).map { try inputs.type($0) }
        let dtype = types[0].dtype
        guard types.allSatisfy({ $0.dtype == dtype }) else { throw AscentError.invalid("inputs have different dtypes") }
        guard dtype == .float32 || (!mean && BinaryOp.numeric.contains(dtype)) else { throw KernelError.dtype(dtype) }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let xs = inputs.compactMap { $0 }
        guard let first = xs.first else { throw AscentError.invalid("missing input") }
        if xs.count == 1 && !mean { return [first] }
        let y = context.allocate(outputs[0])
        if xs.count == 1 {
            StridedCopy(shape: y.shape, strides: contiguousStrides(first.shape), offset: 0)
                .run(source: first.rawPointer, destination: y.rawPointer, elementSize: 4, context: context)
        } else {
            op.compute(xs[0], xs[1], into: y, context: context)
            for x in xs.dropFirst(2) { op.compute(y, x, into: y, context: context) }
        }
        if mean {
            let p = y.mutableFloats, scale = 1 / Float(xs.count)
            for i in 0..<y.count { p[i] *= scale }
        }
        return [y]
    }
}

/// Where(condition, x, y): elements of `x` where `condition` is true, else of `y`; all three broadcast.
struct WhereKernel: Kernel {
    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let c = try inputs.type(0), x = try inputs.type(1), y = try inputs.type(2)
        guard c.dtype == .bool else { throw AscentError.invalid("condition must be bool, is \(c.dtype.rawValue)") }
        guard x.dtype == y.dtype else { throw AscentError.invalid("inputs mix \(x.dtype.rawValue) and \(y.dtype.rawValue)") }
        return nil
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let c = inputs[0], let x = inputs[1], let y = inputs[2] else { throw AscentError.invalid("missing input") }
        let out = context.allocate(outputs[0])
        let loop = BroadcastLoop(output: out.shape, inputs: [c.shape, x.shape, y.shape])
        let inner = loop.inner, sc = loop.innerStride(0), sx = loop.innerStride(1), sy = loop.innerStride(2)
        let size = x.dtype.byteSize
        let pc = c.pointer(UInt8.self), px = x.rawPointer, py = y.rawPointer, po = out.rawPointer
        func select<T>(_: T.Type) {
            let tx = px.assumingMemoryBound(to: T.self), ty = py.assumingMemoryBound(to: T.self)
            let to = po.assumingMemoryBound(to: T.self)
            context.parallelFor(loop.rows, costPerItem: inner) { range in
                loop.forEachRow(range) { r, off in
                    let cc = pc + off[0], xx = tx + off[1], yy = ty + off[2], oo = to + r * inner
                    // Contiguous rows (the gradient of Relu-like ops: Where(mask, dy, 0)) get loops
                    // without strides that load both sides before choosing, which the compiler
                    // vectorizes (a load inside the choice is conditional and keeps the loop scalar).
                    switch (sc, sx, sy) {
                    case (1, 1, 1): for i in 0..<inner { let a = xx[i], b = yy[i]; oo[i] = cc[i] != 0 ? a : b }
                    case (1, 1, 0): let v = yy[0]; for i in 0..<inner { let a = xx[i]; oo[i] = cc[i] != 0 ? a : v }
                    case (1, 0, 1): let v = xx[0]; for i in 0..<inner { let b = yy[i]; oo[i] = cc[i] != 0 ? v : b }
                    default: for i in 0..<inner { oo[i] = cc[i * sc] != 0 ? xx[i * sx] : yy[i * sy] }
                    }
                }
            }
        }
        switch size {
        case 1: select(UInt8.self)
        case 2: select(UInt16.self)
        case 4: select(UInt32.self)
        default: select(UInt64.self)
        }
        return [out]
    }
}

/// Mod (float32 and integers; `fmod` 0 takes the divisor's sign, 1 the dividend's), BitShift and
/// BitwiseAnd/Or/Xor (integers), with broadcasting. Integer division by zero gives 0.
struct IntegerBinaryKernel: Kernel {
    enum Op { case mod(fmod: Bool), shiftLeft, shiftRight, and, or, xor }
    let op: Op

    func check(_ inputs: KernelInputs) throws -> [TensorType]? {
        let a = try inputs.type(0), b = try inputs.type(1)
        guard a.dtype == b.dtype else { throw AscentError.invalid("inputs mix \(a.dtype.rawValue) and \(b.dtype.rawValue)") }
        if case .mod = op { try requireNumeric(a) } else if !a.dtype.isInteger { throw KernelError.dtype(a.dtype) }
        return nil
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
        if a.dtype == .uint64 {
            // Above Int64.max the bit patterns are negative as Int64: compute unsigned.
            let o = y.mutablePointer(UInt64.self)
            for i in 0..<n {
                let p = UInt64(bitPattern: x[ia[i]]), q = UInt64(bitPattern: z[ib[i]])
                switch op {
                case .mod: o[i] = q == 0 ? 0 : p % q
                case .shiftLeft: o[i] = q >= 64 ? 0 : p << q
                case .shiftRight: o[i] = q >= 64 ? 0 : p >> q
                case .and: o[i] = p & q
                case .or: o[i] = p | q
                case .xor: o[i] = p ^ q
                }
            }
            return [y]
        }
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

extension KernelRegistry {
    static let arithmetic: [(OpDefinition, KernelFactory)] = [
        (.add, { _ in BinaryKernel(op: .add) }),
        (.sub, { _ in BinaryKernel(op: .sub) }),
        (.mul, { _ in BinaryKernel(op: .mul) }),
        (.div, { _ in BinaryKernel(op: .div) }),
        (.pow, { _ in BinaryKernel(op: .pow) }),
        (.mod, { IntegerBinaryKernel(op: .mod(fmod: try ModAttributes($0).fmod)) }),
        (.bitShift, { IntegerBinaryKernel(op: try BitShiftAttributes($0).left ? .shiftLeft : .shiftRight) }),
        (.bitwiseAnd, { _ in IntegerBinaryKernel(op: .and) }),
        (.bitwiseOr, { _ in IntegerBinaryKernel(op: .or) }),
        (.bitwiseXor, { _ in IntegerBinaryKernel(op: .xor) }),
        (.equal, { _ in BinaryKernel(op: .equal) }),
        (.less, { _ in BinaryKernel(op: .less) }),
        (.greater, { _ in BinaryKernel(op: .greater) }),
        (.lessOrEqual, { _ in BinaryKernel(op: .lessOrEqual) }),
        (.greaterOrEqual, { _ in BinaryKernel(op: .greaterOrEqual) }),
        (.and, { _ in BinaryKernel(op: .and) }),
        (.or, { _ in BinaryKernel(op: .or) }),
        (.xor, { _ in BinaryKernel(op: .xor) }),
        (.max, { _ in VariadicKernel(op: .max, mean: false) }),
        (.min, { _ in VariadicKernel(op: .min, mean: false) }),
        (.sum, { _ in VariadicKernel(op: .add, mean: false) }),
        (.mean, { _ in VariadicKernel(op: .add, mean: true) }),
        (.where, { _ in WhereKernel() }),
    ]
}
