import AscentIR
import Synchronization

// Kernels of the control-flow ops (Ops/ControlFlow.swift): If, Loop, Scan. Each nested graph runs in
// a Session of its own — validated, fused, planned per input shapes and cached like any session —
// made once per set of input dtypes. Their output sizes may depend on data (a branch's shape, a
// loop's trip count), so they give their outputs' types themselves (``Kernel/computesOutputTypes``).

/// A nested graph ready to run: one session per set of input dtypes (and kinds) it is fed.
final class NestedGraph: Sendable {
    let graph: Graph
    private let sessions = Mutex<[[String]: Session]>([:])

    /// float64 values in the nested graph are computed as float32, as in the enclosing one.
    init(_ graph: Graph) {
        var g = graph
        for i in g.outputs.indices where g.outputs[i].type.dtype == .float64 { g.outputs[i].type.dtype = .float32 }
        self.graph = g
    }

    /// The graph's outputs, in order, for `inputs` (one per graph input, in order).
    func run(_ inputs: [Tensor], threads: Int) throws -> [Tensor] {
        try run(values: inputs.map(GraphValue.tensor), threads: threads).map { v in
            guard let t = v.tensor else { throw AscentError.invalid("graph '\(graph.name)' gives \(v.summary) where a tensor is expected") }
            return t
        }
    }

    /// The graph's outputs, in order, for `inputs` (one per graph input, in order): tensors,
    /// sequences and optionals. Each input is typed by its value (its dtype; a sequence's or an
    /// absent optional's as declared when it has no tensor to tell).
    func run(values inputs: [GraphValue], threads: Int) throws -> [GraphValue] {
        guard inputs.count == graph.inputs.count else {
            throw AscentError(.internal, "graph '\(graph.name)' takes \(graph.inputs.count) inputs, given \(inputs.count)")
        }
        let types = zip(inputs, graph.inputs).map { value, info -> ValueType in
            let declared = info.type
            switch value {
            case .tensor(let t):
                return ValueType(t.dtype, nil, kind: declared.kind.isOptional ? .optionalTensor : .tensor)
            case .sequence(let ts):
                return ValueType(ts.first?.dtype ?? declared.dtype, nil, kind: declared.kind.isOptional ? .optionalSequence : .sequence)
            case .none:
                return ValueType(declared.dtype, nil, kind: declared.kind.wrapped)
            }
        }
        let key = types.map(\.description)
        let session = try sessions.withLock { cache -> Session in
            if let s = cache[key] { return s }
            var g = graph
            for i in g.inputs.indices { g.inputs[i].type = types[i] }
            let s = try Session(graph: g, options: Session.Options(threads: threads, adaptiveThreads: false))
            cache[key] = s
            return s
        }
        var feeds: [String: GraphValue] = [:]
        for (info, v) in zip(graph.inputs, inputs) { feeds[info.name] = v }
        let out = try session.run(values: feeds)
        return try graph.outputs.map { o in
            guard let v = out[o.name] else { throw AscentError(.internal, "graph '\(graph.name)' gave no '\(o.name)'") }
            return v
        }
    }
}

/// A boolean scalar (any one-element tensor: nonzero is true).
private func truth(_ t: Tensor, _ what: String) throws -> Bool {
    guard t.count == 1 else { throw AscentError.invalid("\(what) has \(t.count) elements, expected 1") }
    return t.doubles()[0] != 0
}

/// The inputs `range`, each required.
private func required(_ inputs: [Tensor?], _ range: Range<Int>) throws -> [Tensor] {
    try range.map { i in
        guard i < inputs.count, let t = inputs[i] else { throw AscentError.invalid("missing input \(i)") }
        return t
    }
}

/// If: runs the branch the condition picks. A condition known when planning picks the branch once.
struct IfKernel: ValueKernel {
    let then: NestedGraph
    let otherwise: NestedGraph

    var computesOutputTypes: Bool { true }
    var needsValues: Bool { false }

    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue] {
        guard let c = inputs.first??.tensor else { throw AscentError.invalid("missing condition") }
        let branch = try truth(c, "the condition") ? then : otherwise
        return try branch.run(values: requiredValues(inputs, 1..<inputs.count), threads: context.threads)
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let c = inputs.first ?? nil else { throw AscentError.invalid("missing condition") }
        let branch = try truth(c, "the condition") ? then : otherwise
        return try branch.run(required(inputs, 1..<inputs.count), threads: context.threads)
    }

    func specialized(_ inputs: KernelInputs, outputs: [TensorType], threads: Int) throws -> (any Kernel)? {
        guard let c = inputs.value(0) else { return nil }
        return TakenBranchKernel(branch: try truth(c, "the condition") ? then : otherwise)
    }
}

/// The value inputs `range`, each required.
private func requiredValues(_ inputs: [GraphValue?], _ range: Range<Int>) throws -> [GraphValue] {
    try range.map { i in
        guard i < inputs.count, let v = inputs[i] else { throw AscentError.invalid("missing input \(i)") }
        return v
    }
}

/// If with a condition known when planning: the taken branch alone.
struct TakenBranchKernel: Kernel {
    let branch: NestedGraph

    var computesOutputTypes: Bool { true }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        try branch.run(required(inputs, 1..<inputs.count), threads: context.threads)
    }
}

/// Loop: runs the body while the iteration count is below `M` (when given) and the condition
/// holds, carrying values from one iteration to the next and stacking the scan outputs.
struct LoopKernel: ValueKernel {
    let body: NestedGraph
    let carried: Int

    var computesOutputTypes: Bool { true }
    var needsValues: Bool { false }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        try loop(inputs.map { $0.map(GraphValue.tensor) }, outputs: outputs, context: context).map { v in
            guard let t = v.tensor else { throw AscentError.invalid("gives \(v.summary) where a tensor is expected") }
            return t
        }
    }

    func runValues(_ inputs: [GraphValue?], context: ExecutionContext) throws -> [GraphValue] {
        try loop(inputs, outputs: [], context: context)
    }

    /// Carried values may be sequences and optionals; scan outputs are tensors, stacked.
    private func loop(_ inputs: [GraphValue?], outputs: [TensorType], context: ExecutionContext) throws -> [GraphValue] {
        let trips = try (inputs.first ?? nil).map { v -> Int in
            guard let t = v.tensor, t.count == 1, t.dtype.isInteger else { throw AscentError.invalid("M must be one integer") }
            return Int(t.int64s()[0])
        }
        var condition = try (inputs.count > 1 ? inputs[1] : nil).map { v -> Bool in
            guard let t = v.tensor else { throw AscentError.invalid("the condition is \(v.summary)") }
            return try truth(t, "the condition")
        } ?? true
        var values = try requiredValues(inputs, 2..<2 + carried)
        let outer = try requiredValues(inputs, 2 + carried..<inputs.count)
        let scanCount = body.graph.outputs.count - 1 - carried
        var scans = Array(repeating: [Tensor](), count: scanCount)
        var i = 0
        while condition, trips.map({ i < $0 }) ?? true {
            let out = try body.run(values: [.tensor(Tensor(scalar: Int64(i))), .tensor(Tensor(scalar: condition))] + values + outer,
                                   threads: context.threads)
            guard let c = out[0].tensor else { throw AscentError.invalid("the body's condition is \(out[0].summary)") }
            condition = try truth(c, "the body's condition")
            values = Array(out[1..<1 + carried])
            for k in 0..<scanCount {
                guard let t = out[1 + carried + k].tensor else { throw AscentError.invalid("scan output \(k) is \(out[1 + carried + k].summary)") }
                scans[k].append(t)
            }
            i += 1
        }
        return try values + scans.enumerated().map { k, slices in
            let empty = carried + k < outputs.count ? outputs[carried + k] : nil
            return .tensor(try stack(slices, axis: 0, empty: empty, context: context))
        }
    }
}

/// Scan: runs the body once per slice of the scan inputs along their axes, carrying the state
/// and stacking the scan outputs along theirs (either in reverse where the directions say).
struct ScanKernel: Kernel {
    let body: NestedGraph
    let layout: ScanLayout

    var computesOutputTypes: Bool { true }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        let n = layout.state
        var state = try required(inputs, 0..<n)
        let scanned = try required(inputs, n..<n + layout.scanInputs)
        let outer = try required(inputs, n + layout.scanInputs..<inputs.count)
        let axes = try scanned.enumerated().map { j, x in try layout.inputAxis(j, rank: x.rank) }
        let length = scanned[0].shape[axes[0]]
        for (j, x) in scanned.enumerated() where x.shape[axes[j]] != length {
            throw AscentError.invalid("scan input \(j) has \(x.shape[axes[j]]) slices along axis \(axes[j]), input 0 has \(length)")
        }
        var scans = Array(repeating: [Tensor](), count: layout.scanOutputs)
        for t in 0..<length {
            let elements = scanned.enumerated().map { j, x in
                slice(x, axis: axes[j], index: layout.inputReversed(j) ? length - 1 - t : t, context: context)
            }
            let out = try body.run(state + elements + outer, threads: context.threads)
            state = Array(out[0..<n])
            for k in 0..<layout.scanOutputs { scans[k].append(out[n + k]) }
        }
        return try state + scans.enumerated().map { k, slices in
            let ordered = layout.outputReversed(k) ? Array(slices.reversed()) : slices
            let empty = n + k < outputs.count ? outputs[n + k] : nil
            let axis = try layout.outputAxis(k, rank: (slices.first?.rank ?? (empty.map { $0.rank - 1 } ?? 0)) + 1)
            return try stack(ordered, axis: axis, empty: empty, context: context)
        }
    }
}

/// Slice `index` of `x` along `axis`, without that axis.
private func slice(_ x: Tensor, axis: Int, index: Int, context: ExecutionContext) -> Tensor {
    var shape = x.shape
    let count = shape.remove(at: axis)
    let outer = product(x.shape[..<axis]), inner = product(x.shape[(axis + 1)...]) * x.dtype.byteSize
    let out = context.allocate(TensorType(x.dtype, shape))
    for o in 0..<outer where inner > 0 {
        (out.rawPointer + o * inner).copyMemory(from: x.rawPointer + (o * count + index) * inner, byteCount: inner)
    }
    return out
}

/// `slices` (of one shape) stacked along a new `axis`; with no slices, a tensor of type `empty`
/// (or `[0]` when that is not known).
private func stack(_ slices: [Tensor], axis: Int, empty: TensorType?, context: ExecutionContext) throws -> Tensor {
    guard let first = slices.first else {
        return context.allocate(empty.map { TensorType($0.dtype, $0.shape.isEmpty ? [0] : $0.shape) } ?? TensorType(.float32, [0]))
    }
    for s in slices where s.shape != first.shape || s.dtype != first.dtype {
        throw AscentError.invalid("scan output slices differ: \(first.type) and \(s.type)")
    }
    var shape = first.shape
    shape.insert(slices.count, at: axis)
    let outer = product(first.shape[..<axis]), inner = product(first.shape[axis...]) * first.dtype.byteSize
    let out = context.allocate(TensorType(first.dtype, shape))
    for (t, s) in slices.enumerated() {
        for o in 0..<outer where inner > 0 {
            (out.rawPointer + (o * slices.count + t) * inner).copyMemory(from: s.rawPointer + o * inner, byteCount: inner)
        }
    }
    return out
}

extension KernelRegistry {
    static let controlFlow: [(OpDefinition, KernelFactory)] = [
        (.if, { node in
            let a = try IfAttributes(node)
            return IfKernel(then: NestedGraph(a.thenBranch), otherwise: NestedGraph(a.elseBranch))
        }),
        (.loop, { node in
            let a = try LoopAttributes(node)
            return LoopKernel(body: NestedGraph(a.body), carried: node.inputs.count - 2 - a.captured)
        }),
        (.scan, { node in
            let a = try ScanAttributes(node)
            return ScanKernel(body: NestedGraph(a.body), layout: try ScanLayout(a, inputs: node.inputs.count, outputs: node.outputs.count))
        }),
    ]
}
