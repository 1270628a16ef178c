import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Ops that relabel or move elements: Reshape, Flatten, Squeeze, Unsqueeze (views sharing the
/// input's storage, no copy), Transpose, Concat, and the constant producers Constant and Shape.
/// All work on any dtype.
enum ShapeKernels {
    static let factories: [String: KernelFactory] = [
        "Reshape": { try ReshapeKernel($0) },
        "Flatten": { try FlattenKernel($0) },
        "Squeeze": { try SqueezeKernel($0, unsqueeze: false) },
        "Unsqueeze": { try SqueezeKernel($0, unsqueeze: true) },
        "Transpose": { try TransposeKernel($0) },
        "Concat": { try ConcatKernel($0) },
        "Constant": { try ConstantKernel($0) },
        "Shape": { try ShapeKernel($0) },
    ]
}

/// A kernel whose output is its first input under another shape (same storage).
protocol ViewKernel: Kernel {}

extension ViewKernel {
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        return [try x.reshaped(outputs[0].shape)]
    }
}

/// Reshape with ONNX's rules: `0` copies the input size (unless `allowzero`), one `-1` is inferred.
struct ReshapeKernel: ViewKernel {
    let allowZero: Bool

    init(_ a: NodeAttributes) throws { allowZero = try a.int("allowzero", 0) != 0 }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let request = try inputs.ints(1) else { return nil }
        var shape: [Int] = []
        var inferred: Int?
        for (i, r) in request.enumerated() {
            switch r {
            case -1:
                guard inferred == nil else { throw AscentError.invalid("more than one -1 in shape \(request)") }
                inferred = i
                shape.append(1)
            case 0 where !allowZero:
                guard i < x.rank else { throw AscentError.invalid("shape \(request) copies axis \(i) of \(x)") }
                shape.append(x.shape[i])
            case ..<0:
                throw AscentError.invalid("invalid size \(r) in shape \(request)")
            default:
                shape.append(r)
            }
        }
        guard let known = Shape.product(shape) else { throw AscentError.invalid("shape \(request) overflows") }
        if let i = inferred {
            guard known > 0, x.count % known == 0 else { throw AscentError.invalid("cannot reshape \(x) to \(request)") }
            shape[i] = x.count / known
        } else if known != x.count {
            throw AscentError.invalid("cannot reshape \(x) (\(x.count) elements) to \(Shape(shape))")
        }
        return [TensorType(x.dtype, shape)]
    }
}

/// Flatten to 2-D at `axis`: `[prod(shape[..<axis]), prod(shape[axis...])]`.
struct FlattenKernel: ViewKernel {
    let axis: Int

    init(_ a: NodeAttributes) throws { axis = try a.int("axis", 1) }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        let a = axis < 0 ? axis + x.rank : axis
        guard a >= 0, a <= x.rank else { throw AscentError.invalid("axis \(axis) is out of range for rank \(x.rank)") }
        return [TensorType(x.dtype, [product(x.shape[..<a]), product(x.shape[a...])])]
    }
}

/// Squeeze / Unsqueeze with axes from the second input (opset 13) or the `axes` attribute.
struct SqueezeKernel: ViewKernel {
    let unsqueeze: Bool
    let attributeAxes: [Int]?

    init(_ a: NodeAttributes, unsqueeze: Bool) throws {
        self.unsqueeze = unsqueeze
        attributeAxes = try a.ints("axes")
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        var given = attributeAxes
        if inputs.has(1) {
            guard let v = try inputs.ints(1) else { return nil }
            given = v
        }
        if unsqueeze {
            guard let given else { throw AscentError.invalid("missing axes") }
            let axes = try ShapeRules.normalizedAxes(given, rank: x.rank + given.count)
            var rest = x.shape.makeIterator()
            let shape = (0..<(x.rank + given.count)).map { axes.contains($0) ? 1 : (rest.next() ?? 1) }
            return [TensorType(x.dtype, shape)]
        }
        let axes = try given.map { try ShapeRules.normalizedAxes($0, rank: x.rank) } ?? x.shape.indices.filter { x.shape[$0] == 1 }
        for a in axes where x.shape[a] != 1 { throw AscentError.invalid("cannot squeeze axis \(a) of \(x)") }
        return [TensorType(x.dtype, x.shape.indices.filter { !axes.contains($0) }.map { x.shape[$0] })]
    }
}

/// Transpose by `perm` (default: reversed axes). A permutation that only moves size-1 axes is a view.
struct TransposeKernel: Kernel {
    let perm: [Int]?

    init(_ a: NodeAttributes) throws { perm = try a.ints("perm") }

    func permutation(rank: Int) throws -> [Int] {
        let p = perm ?? Array((0..<rank).reversed())
        guard p.count == rank, Set(p) == Set(0..<rank) else {
            throw AscentError.invalid("perm \(p) is not a permutation of rank \(rank)")
        }
        return p
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        return [TensorType(x.dtype, try permutation(rank: x.rank).map { x.shape[$0] })]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let p = try permutation(rank: x.rank)
        let moved = p.filter { x.shape[$0] != 1 }
        if moved == moved.sorted() { return [try x.reshaped(outputs[0].shape)] }
        let y = context.allocate(outputs[0])
        let s = contiguousStrides(x.shape)
        StridedCopy(shape: outputs[0].shape, strides: p.map { s[$0] }, offset: 0)
            .run(source: x.rawPointer, destination: y.rawPointer, elementSize: x.dtype.byteSize, context: context)
        return [y]
    }
}

/// Concat along `axis`: all inputs share the dtype and every other size.
struct ConcatKernel: Kernel {
    let axis: Int

    init(_ a: NodeAttributes) throws {
        guard a.node.attributes["axis"] != nil else { throw AscentError.invalid("missing attribute 'axis'") }
        axis = try a.int("axis", 0)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let types = try (0..<inputs.count).map { try inputs.type($0) }
        let first = types[0]
        let a = try ShapeRules.axis(axis, rank: first.rank)
        var shape = first.shape
        shape[a] = 0
        for t in types {
            guard t.dtype == first.dtype, t.rank == first.rank,
                  (0..<t.rank).allSatisfy({ $0 == a || t.shape[$0] == first.shape[$0] }) else {
                throw AscentError.invalid("cannot concatenate \(t) with \(first) on axis \(a)")
            }
            shape[a] += t.shape[a]
        }
        return [TensorType(first.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let xs = inputs.compactMap { $0 }
        let out = outputs[0]
        let y = context.allocate(out)
        let a = try ShapeRules.axis(axis, rank: out.rank)
        let outer = product(out.shape[..<a])
        let innerBytes = product(out.shape[(a + 1)...]) * out.dtype.byteSize
        let rowBytes = out.shape[a] * innerBytes
        var offset = 0
        for x in xs {
            let chunk = x.shape[a] * innerBytes
            let src = x.rawPointer, dst = y.rawPointer + offset
            context.parallelFor(outer, costPerItem: chunk / 4 + 1) { rows in
                for r in rows { memcpy(dst + r * rowBytes, src + r * chunk, chunk) }
            }
            offset += chunk
        }
        return [y]
    }
}

/// Constant: the `value` tensor attribute.
struct ConstantKernel: Kernel {
    let value: Tensor

    init(_ a: NodeAttributes) throws {
        guard let v = try a.tensor("value") else { throw AscentError.invalid("missing tensor attribute 'value'") }
        value = v
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? { [value.type] }
    func valuesFromTypes(_ inputs: KernelInputs) throws -> [Tensor]? { [value] }
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] { [value] }
}

/// Shape: the input's sizes as int64, optionally `[start, end)` (opset 15). Known at plan time.
struct ShapeKernel: Kernel {
    let start: Int
    let end: Int?

    init(_ a: NodeAttributes) throws {
        start = try a.int("start", 0)
        end = a.node.attributes["end"] == nil ? nil : try a.int("end", 0)
    }

    func sizes(_ x: TensorType) -> [Int64] {
        func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + x.rank : i, 0), x.rank) }
        let lo = clamp(start), hi = clamp(end ?? x.rank)
        return lo < hi ? x.shape[lo..<hi].map { Int64($0) } : []
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        [TensorType(.int64, [sizes(try inputs.type(0)).count])]
    }

    func valuesFromTypes(_ inputs: KernelInputs) throws -> [Tensor]? {
        let s = sizes(try inputs.type(0))
        return [Tensor(shape: [s.count], scalars: s)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let s = sizes(x.type)
        return [Tensor(shape: [s.count], scalars: s)]
    }
}
