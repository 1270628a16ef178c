import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// HannWindow, HammingWindow, BlackmanWindow(size): the window of `size` points (`periodic` or
/// symmetric), of type `output_datatype` (floating types computed as float32).
struct WindowKernel: Kernel {
    let op: String, periodic: Bool, dtype: DType

    init(_ a: NodeAttributes) throws {
        op = a.op
        periodic = try a.int("periodic", 1) != 0
        let code = try a.int("output_datatype", 1)
        guard let t = DType(onnxCode: code) else { throw AscentError.invalid("unsupported output_datatype \(code)") }
        dtype = t.isFloatingPoint ? .float32 : t
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        guard let n = try inputs.ints(0) else { return nil }
        guard n.count == 1, n[0] >= 0 else { throw AscentError.invalid("size must be a non-negative scalar") }
        return [TensorType(dtype, [n[0]])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let size = outputs[0].shape[0]
        let n = Double(periodic ? size : size - 1)
        let v = (0..<size).map { i -> Double in
            let x = Double(i)
            switch op {
            case "HannWindow": let s = sin(x * .pi / n); return s * s
            case "HammingWindow": return 25.0 / 46.0 - cos(x * .pi * 2 / n) * (1 - 25.0 / 46.0)
            default: return cos(x * .pi * 2 / n) * -0.5 + cos(x * .pi * 4 / n) * 0.08 + 0.42
            }
        }
        return [tensor(outputs[0], doubles: v)]
    }
}

/// CenterCropPad(input, shape): each listed axis centre-cropped or zero-padded to its new size
/// (the extra element of an odd difference goes to the end).
struct CenterCropPadKernel: Kernel {
    let axes: [Int]?

    init(_ a: NodeAttributes) throws { axes = try a.ints("axes") }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        guard let sizes = try inputs.ints(1) else { return nil }
        let list = try ShapeRules.normalizedAxes(axes ?? Array(0..<x.rank), rank: x.rank)
        guard sizes.count == list.count, sizes.allSatisfy({ $0 >= 0 }) else { throw AscentError.invalid("shape \(sizes) does not fit axes \(list)") }
        var shape = x.shape
        for (i, a) in list.enumerated() { shape[a] = sizes[i] }
        return [TensorType(x.dtype, shape)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let out = outputs[0].shape
        let y = context.allocateZeroed(outputs[0])
        // Per axis: output index = input index + shift, where shift = (out − in) / 2 rounded toward zero... as the reference:
        let shift = zip(x.shape, out).map { i, o in o >= i ? (o - i) / 2 : -((i - o) / 2) }
        let xs = contiguousStrides(x.shape), ys = contiguousStrides(out), e = x.dtype.byteSize
        for i in 0..<x.count {
            var rest = i, offset = 0, inside = true
            for d in 0..<x.rank {
                let c = rest / xs[d] + shift[d]
                rest %= xs[d]
                if c < 0 || c >= out[d] { inside = false; break }
                offset += c * ys[d]
            }
            if inside { memcpy(y.rawPointer + offset * e, x.rawPointer + i * e, e) }
        }
        return [y]
    }
}

/// Det of `[..., M, M]` float32 matrices (LU with partial pivoting, in Double).
struct DetKernel: Kernel {
    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("Det", x)
        guard x.rank >= 2, x.shape[x.rank - 1] == x.shape[x.rank - 2] else { throw AscentError.invalid("Det needs square matrices, got \(x)") }
        return [TensorType(x.dtype, Array(x.shape.dropLast(2)))]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let m = x.shape[x.rank - 1], v = x.doubles(), count = m == 0 ? 0 : v.count / (m * m)
        var out = [Float](repeating: 1, count: outputs[0].count)
        for b in 0..<count {
            var a = Array(v[(b * m * m)..<((b + 1) * m * m)])
            var det = 1.0
            for col in 0..<m {
                var pivot = col
                for r in (col + 1)..<max(m, col + 1) where abs(a[r * m + col]) > abs(a[pivot * m + col]) { pivot = r }
                if a[pivot * m + col] == 0 { det = 0; break }
                if pivot != col {
                    for k in 0..<m { a.swapAt(pivot * m + k, col * m + k) }
                    det = -det
                }
                det *= a[col * m + col]
                for r in (col + 1)..<max(m, col + 1) {
                    let f = a[r * m + col] / a[col * m + col]
                    for k in col..<m { a[r * m + k] -= f * a[col * m + k] }
                }
            }
            out[b] = Float(det)
        }
        return [Tensor(shape: outputs[0].shape, scalars: out)]
    }
}

/// Einsum over float32 or integer operands: explicit (`ij,jk->ik`) or implicit output, `...`
/// ellipses broadcast NumPy-style; computed by iterating every label combination.
struct EinsumKernel: Kernel {
    let equation: String

    init(_ a: NodeAttributes) throws { equation = try a.string("equation", "").filter { $0 != " " } }

    struct Plan {
        var operands: [[Character]]
        var output: [Character]
        var sizes: [Character: Int]
    }

    func plan(_ shapes: [[Int]]) throws -> Plan {
        let parts = equation.components(separatedBy: "->")
        let lhs = parts[0].components(separatedBy: ",")
        guard lhs.count == shapes.count, parts.count <= 2 else {
            throw AscentError.invalid("equation '\(equation)' does not match \(shapes.count) inputs")
        }
        let ellipsisLabels = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        var ellipsisRank = 0
        var operands: [[Character]] = []
        var sizes: [Character: Int] = [:]
        for (term, shape) in zip(lhs, shapes) {
            var labels: [Character]
            if let r = term.range(of: "...") {
                let before = Array(term[..<r.lowerBound]), after = Array(term[r.upperBound...])
                let k = shape.count - before.count - after.count
                guard k >= 0 else { throw AscentError.invalid("term '\(term)' does not fit shape \(shape)") }
                ellipsisRank = max(ellipsisRank, k)
                labels = before + Array(ellipsisLabels[(ellipsisLabels.count - k)...]) + after
            } else {
                labels = Array(term)
            }
            guard labels.count == shape.count else { throw AscentError.invalid("term '\(term)' does not fit shape \(shape)") }
            for (l, d) in zip(labels, shape) {
                if let s = sizes[l], s != d {
                    guard s == 1 || d == 1 else { throw AscentError.invalid("label \(l) has sizes \(s) and \(d)") }
                    sizes[l] = max(s, d)
                } else {
                    sizes[l] = d
                }
            }
            operands.append(labels)
        }
        let ellipsis = Array(ellipsisLabels[(ellipsisLabels.count - ellipsisRank)...])
        var output: [Character]
        if parts.count == 2 {
            let term = parts[1]
            if let r = term.range(of: "...") {
                output = Array(term[..<r.lowerBound]) + ellipsis + Array(term[r.upperBound...])
            } else {
                output = Array(term)
            }
        } else {
            var counts: [Character: Int] = [:]
            for o in operands { for l in o where !ellipsis.contains(l) { counts[l, default: 0] += 1 } }
            output = ellipsis + counts.filter { $0.value == 1 }.keys.sorted()
        }
        for l in output where sizes[l] == nil { throw AscentError.invalid("output label \(l) is not in the inputs") }
        return Plan(operands: operands, output: output, sizes: sizes)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let types = try (0..<inputs.count).map { try inputs.type($0) }
        guard let first = types.first else { throw AscentError.invalid("Einsum needs inputs") }
        try requireNumeric("Einsum", first)
        guard types.allSatisfy({ $0.dtype == first.dtype }) else { throw AscentError.invalid("Einsum inputs have different types") }
        let p = try plan(types.map(\.shape))
        return [TensorType(first.dtype, p.output.map { p.sizes[$0]! })]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let xs = inputs.compactMap { $0 }
        let p = try plan(xs.map(\.shape))
        let summed = Array(Set(p.operands.joined()).subtracting(p.output)).sorted()
        let labels = p.output + summed
        let dims = labels.map { p.sizes[$0]! }
        let values = xs.map { $0.doubles() }
        // Per operand and label: the element stride (0 for a broadcast size-1 axis).
        let strides: [[Int]] = xs.indices.map { k in
            let s = contiguousStrides(xs[k].shape)
            return labels.map { l in
                var total = 0
                for (i, m) in p.operands[k].enumerated() where m == l && xs[k].shape[i] != 1 { total += s[i] }
                return total
            }
        }
        let outCount = outputs[0].count, inner = dims[p.output.count...].reduce(1, *)
        var result = [Double](repeating: 0, count: outCount)
        var index = [Int](repeating: 0, count: labels.count)
        if outCount > 0 && inner > 0 {
            for o in 0..<outCount {
                var rest = o
                for i in stride(from: p.output.count - 1, through: 0, by: -1) { index[i] = rest % dims[i]; rest /= dims[i] }
                var acc = 0.0
                for s in 0..<inner {
                    var r = s
                    for i in stride(from: labels.count - 1, through: p.output.count, by: -1) { index[i] = r % dims[i]; r /= dims[i] }
                    var prod = 1.0
                    for k in xs.indices {
                        var off = 0
                        for i in labels.indices { off += index[i] * strides[k][i] }
                        prod *= values[k][off]
                    }
                    acc += prod
                }
                result[o] = acc
            }
        }
        return [tensor(outputs[0], doubles: result)]
    }
}

/// Unique: the distinct elements (or slices along `axis`), sorted or in first-occurrence order,
/// with the int64 first indices, inverse indices and counts.
struct UniqueKernel: Kernel {
    let axis: Int?, sorted: Bool, outputCount: Int

    init(_ a: NodeAttributes) throws {
        axis = a.node.attributes["axis"] == nil ? nil : try a.int("axis", 0)
        sorted = try a.int("sorted", 1) != 0
        outputCount = max(1, a.outputCount)
    }

    struct Result { var order: [Int]; var inverse: [Int]; var counts: [Int]; var sliceCount: Int; var axis: Int? }

    func compute(_ x: Tensor) throws -> Result {
        let v = x.doubles()
        let a = try axis.map { try ShapeRules.axis($0, rank: x.rank) }
        let (outer, size, inner) = a.map { around(x.shape, axis: $0) } ?? (1, x.count, 1)
        let slices: [[Double]] = (0..<size).map { s in
            var out: [Double] = []
            out.reserveCapacity(outer * inner)
            for p in 0..<outer { for q in 0..<inner { out.append(v[(p * size + s) * inner + q]) } }
            return out
        }
        var firsts: [Int] = []  // the first slice index of each group, in first-occurrence order
        var group = [Int](repeating: 0, count: size)
        var counts: [Int] = []
        var seen: [[Double]: Int] = [:]
        for s in 0..<size {
            if let g = seen[slices[s]] {
                group[s] = g
                counts[g] += 1
            } else {
                seen[slices[s]] = firsts.count
                group[s] = firsts.count
                firsts.append(s)
                counts.append(1)
            }
        }
        var order = Array(firsts.indices)
        if sorted {
            order.sort { i, j in slices[firsts[i]].lexicographicallyPrecedes(slices[firsts[j]]) }
        }
        var rank = [Int](repeating: 0, count: firsts.count)
        for (r, g) in order.enumerated() { rank[g] = r }
        return Result(order: order.map { firsts[$0] }, inverse: group.map { rank[$0] },
                      counts: order.map { counts[$0] }, sliceCount: size, axis: a)
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let t = try inputs.type(0)
        guard let x = inputs.value(0) else { return nil }
        let r = try compute(x)
        let k = r.order.count
        var shape = [k]
        if let a = r.axis { shape = t.shape; shape[a] = k }
        return Array([TensorType(t.dtype, shape), TensorType(.int64, [k]), TensorType(.int64, [r.sliceCount]),
                      TensorType(.int64, [k])].prefix(outputCount))
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0] else { throw AscentError.invalid("missing input") }
        let r = try compute(x)
        let y = context.allocate(outputs[0])
        let e = x.dtype.byteSize
        let (outer, size, inner) = r.axis.map { around(x.shape, axis: $0) } ?? (1, x.count, 1)
        let k = r.order.count
        for p in 0..<outer {
            for (j, s) in r.order.enumerated() {
                memcpy(y.rawPointer + (p * k + j) * inner * e, x.rawPointer + (p * size + s) * inner * e, inner * e)
            }
        }
        let all = [y, Tensor(shape: [k], scalars: r.order.map { Int64($0) }),
                   Tensor(shape: [r.sliceCount], scalars: r.inverse.map { Int64($0) }),
                   Tensor(shape: [k], scalars: r.counts.map { Int64($0) })]
        return Array(all.prefix(outputCount))
    }
}
