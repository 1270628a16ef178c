import AscentIR

// Kernels of the sequence and optional ops (Ops/Sequence.swift). A sequence is a list of tensors
// (``GraphValue/sequence(_:)``), an absent optional ``GraphValue/none``; these kernels run at run time
// only (``ValueKernel``), and tensors pass into and out of sequences without copies except where
// SplitToSequence and ConcatFromSequence cut or join them.

/// A sequence kernel from a function of the node's inputs.
private struct SequenceKernel: ValueKernel {
    let body: @Sendable ([GraphValue?], ExecutionContext) throws -> [GraphValue]
    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue] { try body(inputs, context) }
}

/// Input `i` as a sequence.
private func sequenceInput(_ inputs: [GraphValue?], _ i: Int) throws -> [Tensor] {
    guard i < inputs.count, let v = inputs[i] else { throw AscentError.invalid("missing input \(i)") }
    guard let s = v.sequence else { throw AscentError.invalid("input \(i) is \(v.summary), not a sequence") }
    return s
}

/// Input `i` as a tensor, or nil when omitted.
private func tensor(_ inputs: [GraphValue?], _ i: Int) throws -> Tensor? {
    guard i < inputs.count, let v = inputs[i] else { return nil }
    guard let t = v.tensor else { throw AscentError.invalid("input \(i) is \(v.summary), not a tensor") }
    return t
}

/// A position input (an int32/int64 scalar, negative from the end) made non-negative; valid from 0
/// to `count - 1`, or to `count` when `end` (an insertion point). nil when the input is omitted.
private func position(_ inputs: [GraphValue?], _ i: Int, count: Int, end: Bool = false) throws -> Int? {
    guard let t = try tensor(inputs, i) else { return nil }
    guard t.count == 1, t.dtype == .int64 || t.dtype == .int32 else {
        throw AscentError.invalid("the position must be one int32 or int64, is \(t.dtype.rawValue)\(Shape(t.shape))")
    }
    let p = Int(t.int64s()[0])
    let q = p < 0 ? p + count : p
    guard q >= 0, q < count + (end ? 1 : 0) else {
        throw AscentError.invalid("position \(p) is out of range for a sequence of \(count) tensors")
    }
    return q
}

/// The part `range` of `x` along `axis` (that axis dropped when `squeeze`).
private func cut(_ x: Tensor, axis: Int, _ range: Range<Int>, squeeze: Bool, context: ExecutionContext) -> Tensor {
    var shape = x.shape
    let n = shape[axis]
    shape[axis] = range.count
    let outer = product(x.shape[..<axis]), inner = product(x.shape[(axis + 1)...]) * x.dtype.byteSize
    let out = context.allocate(TensorType(x.dtype, shape))
    let chunk = range.count * inner
    for o in 0..<outer where chunk > 0 {
        (out.rawPointer + o * chunk).copyMemory(from: x.rawPointer + (o * n + range.lowerBound) * inner, byteCount: chunk)
    }
    if squeeze { shape.remove(at: axis) }
    return squeeze ? (try! Tensor(dtype: x.dtype, shape: shape, storage: out.storage)) : out
}

/// `parts` joined along `axis` (all other sizes equal).
private func join(_ parts: [Tensor], axis: Int, context: ExecutionContext) throws -> Tensor {
    let first = parts[0]
    for p in parts where p.dtype != first.dtype || p.rank != first.rank
        || zip(p.shape, first.shape).enumerated().contains(where: { $0.offset != axis && $0.element.0 != $0.element.1 }) {
        throw AscentError.invalid("cannot join \(first.type) and \(p.type) along axis \(axis)")
    }
    var shape = first.shape
    shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
    let outer = product(first.shape[..<axis]), inner = product(first.shape[(axis + 1)...]) * first.dtype.byteSize
    let out = context.allocate(TensorType(first.dtype, shape))
    let row = shape[axis] * inner
    var offset = 0
    for p in parts {
        let chunk = p.shape[axis] * inner
        for o in 0..<outer where chunk > 0 {
            (out.rawPointer + o * row + offset).copyMemory(from: p.rawPointer + o * chunk, byteCount: chunk)
        }
        offset += chunk
    }
    return out
}

private func axis(_ axis: Int, rank: Int) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < rank else { throw AscentError.invalid("axis \(axis) is out of range for rank \(rank)") }
    return a
}

/// SequenceMap: the body once per position of the sequence inputs (the tensor inputs whole each
/// time), each output collected into a sequence.
private struct SequenceMapKernel: ValueKernel {
    let body: NestedGraph

    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue] {
        let values = try inputs.enumerated().map { i, v -> GraphValue in
            guard let v else { throw AscentError.invalid("missing input \(i)") }
            return v
        }
        let count = try sequenceInput(inputs, 0).count
        for (i, v) in values.enumerated() {
            if let s = v.sequence, s.count != count {
                throw AscentError.invalid("input \(i) has \(s.count) tensors, input 0 has \(count)")
            }
        }
        var outputs = Array(repeating: [Tensor](), count: body.graph.outputs.count)
        for k in 0..<count {
            let step = values.map { v -> GraphValue in v.sequence.map { .tensor($0[k]) } ?? v }
            for (j, o) in try body.run(values: step, threads: context.threads).enumerated() {
                guard let t = o.tensor else { throw AscentError.invalid("the body's output \(j) is \(o.summary), not a tensor") }
                outputs[j].append(t)
            }
        }
        return outputs.map(GraphValue.sequence)
    }
}

extension KernelRegistry {
    static let sequence: [(OpDefinition, KernelFactory)] = [
        (.sequenceConstruct, { _ in SequenceKernel { inputs, _ in
            [.sequence(try inputs.indices.map { i in
                guard let t = try tensor(inputs, i) else { throw AscentError.invalid("missing input \(i)") }
                return t
            })]
        } }),
        (.sequenceEmpty, { node in
            _ = try SequenceEmptyAttributes(node)
            return SequenceKernel { _, _ in [.sequence([])] }
        }),
        (.sequenceAt, { _ in SequenceKernel { inputs, _ in
            let s = try sequenceInput(inputs, 0)
            guard let p = try position(inputs, 1, count: s.count) else { throw AscentError.invalid("missing position") }
            return [.tensor(s[p])]
        } }),
        (.sequenceInsert, { _ in SequenceKernel { inputs, _ in
            var s = try sequenceInput(inputs, 0)
            guard let t = try tensor(inputs, 1) else { throw AscentError.invalid("missing tensor") }
            if let first = s.first, first.dtype != t.dtype {
                throw AscentError.invalid("inserts \(t.dtype.rawValue) into a sequence of \(first.dtype.rawValue)")
            }
            s.insert(t, at: try position(inputs, 2, count: s.count, end: true) ?? s.count)
            return [.sequence(s)]
        } }),
        (.sequenceErase, { _ in SequenceKernel { inputs, _ in
            var s = try sequenceInput(inputs, 0)
            guard !s.isEmpty else { throw AscentError.invalid("erases from an empty sequence") }
            s.remove(at: try position(inputs, 1, count: s.count) ?? s.count - 1)
            return [.sequence(s)]
        } }),
        (.sequenceLength, { _ in SequenceKernel { inputs, _ in
            [.tensor(Tensor(scalar: Int64(try sequenceInput(inputs, 0).count)))]
        } }),
        (.splitToSequence, { node in
            let a = try SplitToSequenceAttributes(node)
            return SequenceKernel { inputs, context in
                guard let x = try tensor(inputs, 0) else { throw AscentError.invalid("missing input") }
                let ax = try axis(a.axis, rank: x.rank)
                let n = x.shape[ax]
                guard let split = try tensor(inputs, 1) else {
                    return [.sequence((0..<n).map { cut(x, axis: ax, $0..<$0 + 1, squeeze: !a.keepdims, context: context) })]
                }
                guard split.dtype == .int64 || split.dtype == .int32, split.rank <= 1 else {
                    throw AscentError.invalid("split must be int32 or int64 of rank 0 or 1")
                }
                let values = split.int64s().map { Int($0) }
                var sizes: [Int]
                if split.rank == 0 {
                    guard values[0] > 0 else { throw AscentError.invalid("split \(values[0]) must be positive") }
                    // keepdims 0 drops the axis after a scalar split too, as onnxruntime does (PyTorch's
                    // unbind exports as a split of 1 with keepdims 0); only pieces of size 1 can lose it.
                    if !a.keepdims {
                        guard values[0] == 1 else { throw AscentError.invalid("keepdims 0 with split \(values[0]): pieces of size 1 only") }
                        return [.sequence((0..<n).map { cut(x, axis: ax, $0..<$0 + 1, squeeze: true, context: context) })]
                    }
                    sizes = Array(repeating: values[0], count: n / values[0])
                    if n % values[0] != 0 { sizes.append(n % values[0]) }
                } else {
                    sizes = values
                    guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == n else {
                        throw AscentError.invalid("split \(sizes) does not add up to the \(n) of axis \(ax)")
                    }
                }
                var start = 0
                return [.sequence(sizes.map { size in
                    defer { start += size }
                    return cut(x, axis: ax, start..<start + size, squeeze: false, context: context)
                })]
            }
        }),
        (.concatFromSequence, { node in
            let a = try ConcatFromSequenceAttributes(node)
            return SequenceKernel { inputs, context in
                let s = try sequenceInput(inputs, 0)
                guard let first = s.first else { throw AscentError.invalid("concatenates an empty sequence") }
                let ax = try axis(a.axis, rank: first.rank + (a.newAxis ? 1 : 0))
                let parts = try a.newAxis ? s.map { t in
                    var shape = t.shape
                    shape.insert(1, at: ax)
                    return try Tensor(dtype: t.dtype, shape: shape, storage: t.storage)
                } : s
                return [.tensor(try join(parts, axis: ax, context: context))]
            }
        }),
        (.sequenceMap, { node in SequenceMapKernel(body: NestedGraph(try SequenceMapAttributes(node).body)) }),
        (.optional, { node in
            _ = try OptionalAttributes(node)
            return SequenceKernel { inputs, _ in [(inputs.first ?? nil) ?? GraphValue.none] }
        }),
        (.optionalHasElement, { _ in SequenceKernel { inputs, _ in
            let has: Bool
            switch inputs.first ?? nil {
            case nil, .none?: has = false
            default: has = true
            }
            return [.tensor(Tensor(scalar: has))]
        } }),
        (.optionalGetElement, { _ in SequenceKernel { inputs, _ in
            guard let v = inputs.first ?? nil else { throw AscentError.invalid("missing input") }
            if case .none = v { throw AscentError.invalid("the optional is empty") }
            return [v]
        } }),
    ]
}
