import AscentIR

/// The dtype Ascent holds an ONNX type code as (floating types as float32, unsigned 16/32/64-bit
/// integers as int64), with the code's width in bytes; nil for types Ascent has no form for.
func importedType(onnxCode code: Int) -> (dtype: DType, width: Int)? {
    switch code {
    case 4: return (.int64, 2)
    case 12: return (.int64, 4)
    case 13: return (.int64, 8)
    case 10, 16: return (.float32, 2)
    case 11: return (.float32, 8)
    default:
        guard let t = DType(onnxCode: code) else { return nil }
        return (t, t.byteSize)
    }
}

/// BitCast(x, to): the bits of each element reinterpreted as type `to` of the same width. Works on
/// the bits the imported values still carry: same-width types directly, float64 targets from int64
/// (rounded to float32), and unsigned 16/32/64-bit types (held as int64) by truncating or
/// zero-extending to their width.
struct BitCastKernel: Kernel {
    let code: Int, target: DType, width: Int

    init(_ a: NodeAttributes) throws {
        code = try a.int("to", 0)
        guard let t = importedType(onnxCode: code) else { throw AscentError.invalid("bitcast to unsupported type code \(code)") }
        (target, width) = t
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        [TensorType(target, try inputs.type(0).shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let y = context.allocate(outputs[0])
        let n = x.count
        if code == 11 {
            guard x.dtype == .int64 else { throw AscentError.invalid("bitcast of \(x.dtype.rawValue) to float64 is not supported") }
            let s = x.pointer(Int64.self), o = y.mutableFloats
            for i in 0..<n { o[i] = Float(Double(bitPattern: UInt64(bitPattern: s[i]))) }
        } else if target == .int64 && width < 8 {
            // Unsigned target held as int64: the source's low `width` bytes, zero-extended.
            let v = integerValues(x), mask: Int64 = (1 << (8 * width)) - 1
            storeIntegers(v.map { $0 & mask }, into: y)
        } else if x.dtype.byteSize == target.byteSize && width == target.byteSize {
            y.rawPointer.copyMemory(from: x.rawPointer, byteCount: x.byteCount)
        } else if x.dtype == .int64 && target.isInteger && width == target.byteSize {
            // An unsigned source held as int64, cast to a signed type of its width: the low bits.
            storeIntegers(x.int64s(), into: y)
        } else {
            throw AscentError.invalid("bitcast of \(x.dtype.rawValue) to type code \(code) is not supported")
        }
        return [y]
    }
}

/// TensorScatter(past_cache, update, write_indices?): `update` written into the cache along `axis`
/// from each batch entry's write index (wrapping around in `circular` mode).
struct TensorScatterKernel: Kernel {
    let circular: Bool, axis: Int

    init(_ a: NodeAttributes) throws {
        let mode = try a.string("mode", "linear")
        guard mode == "linear" || mode == "circular" else { throw AscentError.invalid("mode '\(mode)' is not linear or circular") }
        circular = mode == "circular"
        axis = try a.int("axis", -2)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let cache = try inputs.type(0), update = try inputs.type(1)
        let a = try ShapeRules.axis(axis, rank: cache.rank)
        guard update.rank == cache.rank, update.dtype == cache.dtype,
              (0..<cache.rank).allSatisfy({ $0 == a ? update.shape[$0] <= cache.shape[$0] : update.shape[$0] == cache.shape[$0] }) else {
            throw AscentError.invalid("update \(update) does not fit cache \(cache) along axis \(a)")
        }
        return [cache]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let cache = inputs[0], let update = inputs[1] else { throw AscentError.invalid("missing input") }
        let a = try ShapeRules.axis(axis, rank: cache.rank)
        let writes = inputs.count > 2 ? inputs[2]?.int64s().map { Int($0) } : nil
        let y = context.allocate(outputs[0])
        y.rawPointer.copyMemory(from: cache.rawPointer, byteCount: cache.byteCount)
        let (outer, size, inner) = around(cache.shape, axis: a)
        let length = update.shape[a], e = cache.dtype.byteSize
        let perBatch = cache.shape[0] == 0 ? 0 : outer / cache.shape[0]
        for p in 0..<outer {
            let start = writes?[a == 0 ? 0 : p / max(perBatch, 1)] ?? 0
            for s in 0..<length {
                var t = start + s
                if circular { t = ((t % size) + size) % size }
                guard t >= 0, t < size else { throw AscentError.invalid("write position \(t) is outside the cache") }
                (y.rawPointer + (p * size + t) * inner * e).copyMemory(from: update.rawPointer + (p * length + s) * inner * e, byteCount: inner * e)
            }
        }
        return [y]
    }
}
