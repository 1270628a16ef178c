import AscentIR

/// How to run a ``Program`` for one set of concrete input shapes: the types of all values, the
/// values computed once at plan time (constant folding), the steps left to run, and when each
/// intermediate buffer can be freed or handed to a later step.
final class Plan: Sendable {
    struct Step: Sendable {
        /// Index into `Program.steps`.
        let index: Int
        /// Output types, or nil when they depend on values computed at run time.
        let outputTypes: [TensorType]?
        /// Values whose last use is this step: freed (their buffers reused) after it runs.
        let release: [Int]
        /// An input whose buffer output 0 may take over (in-place), when its size matches.
        let donor: Int?
        /// The kernel specialized for this plan's shapes, or nil to use the program's.
        let kernel: (any Kernel)?
    }

    let steps: [Step]
    /// Initializers (not overridden by an input) and folded values, by value id.
    let constants: [(Int, Tensor)]
    /// Value types known at plan time (nil: computed at run time, or unused).
    let types: [TensorType?]

    /// Plans `program` for inputs of `inputTypes` (by value id). Folds every node whose inputs
    /// are all known, using `context` for its buffers.
    init(program: Program, inputTypes: [Int: TensorType], context: ExecutionContext) throws {
        let n = program.valueNames.count
        var types = [TensorType?](repeating: nil, count: n)
        var values = [Tensor?](repeating: nil, count: n)
        for (id, t) in program.initializers where inputTypes[id] == nil {
            types[id] = t.type
            values[id] = t
        }
        for (id, t) in inputTypes { types[id] = t }

        var planned: [(index: Int, types: [TensorType]?, kernel: (any Kernel)?)] = []
        for (index, step) in program.steps.enumerated() {
            func assign(_ outs: [TensorType], _ results: [Tensor]?) throws {
                for (i, id) in step.outputs.enumerated() {
                    guard let id else { continue }
                    guard i < outs.count else { throw AscentError(.internal, "kernel gives no output \(i)") }
                    types[id] = outs[i]
                    if let results {
                        guard i < results.count else { throw AscentError(.internal, "kernel computed no output \(i)") }
                        values[id] = results[i]
                    }
                }
            }
            do {
                if step.valued {
                    planned.append((index, nil, nil))  // sequences and optionals exist only at run time
                    continue
                }
                guard step.inputs.allSatisfy({ $0.map { types[$0] != nil } ?? true }) else {
                    planned.append((index, nil, nil)) // an input's type is only known at run time
                    continue
                }
                let known = KernelInputs(types: step.inputs.map { $0.flatMap { types[$0] } },
                                         values: step.inputs.map { $0.flatMap { values[$0] } })
                if let results = try step.valuesFromTypes(known) {
                    try assign(results.map(\.type), results)
                    continue
                }
                let outs = try step.outputTypes(known)
                let allKnown = known.values.enumerated().allSatisfy { $0.element != nil || step.inputs[$0.offset] == nil }
                if outs == nil, step.kernel.computesOutputTypes, allKnown {
                    let results = try step.kernel.run(known.values, outputs: [], context: context)
                    try assign(results.map(\.type), results)
                    continue
                }
                if let outs, known.values.enumerated().allSatisfy({ $0.element != nil || step.inputs[$0.offset] == nil }) {
                    let results = try step.kernel.run(known.values, outputs: outs, context: context)
                    try assign(outs, results)
                    continue
                }
                var special: (any Kernel)?
                if let outs {
                    try assign(outs, nil)
                    if context.primitives { special = try step.kernel.specialized(known, outputs: outs, threads: context.threads) }
                }
                planned.append((index, outs, special))
            } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("node \(step.node.label)") : e
            }
        }

        // Last use of every value computed by a step; graph outputs are never freed.
        let outputs = Set(program.outputs.map(\.id))
        var computed = Set<Int>()
        var lastUse: [Int: Int] = [:]
        for (k, p) in planned.enumerated() {
            let step = program.steps[p.index]
            for case let id? in step.inputs where computed.contains(id) { lastUse[id] = k }
            for case let id? in step.outputs {
                computed.insert(id)
                lastUse[id] = k
            }
        }
        var release = Array(repeating: [Int](), count: planned.count)
        for (id, k) in lastUse where !outputs.contains(id) { release[k].append(id) }
        steps = planned.enumerated().map { k, p in
            let step = program.steps[p.index]
            var donor: Int?
            for i in step.kernel.inPlaceInputs where i < step.inputs.count && !step.valued {
                guard let id = step.inputs[i], lastUse[id] == k, computed.contains(id), !outputs.contains(id) else { continue }
                if let outs = p.types, let t = types[id], outs.first?.byteCount != t.byteCount { continue }
                donor = id
                break
            }
            return Step(index: p.index, outputTypes: p.types, release: release[k].sorted(), donor: donor, kernel: p.kernel)
        }
        var constants: [(Int, Tensor)] = []
        for (id, v) in values.enumerated() { if let v { constants.append((id, v)) } }
        self.constants = constants
        self.types = types
    }

    /// Runs the plan on `inputs` (by value id, already checked and converted): tensors, and the
    /// sequence and optional values in `values`.
    func execute(_ program: Program, inputs: [Int: Tensor], values: [Int: GraphValue] = [:],
                 context: ExecutionContext) throws -> [String: GraphValue] {
        var env = [Tensor?](repeating: nil, count: program.valueNames.count)
        // Sequence and optional values, apart from the tensors (whose buffers the pool recycles).
        var others = values
        for (id, t) in constants { env[id] = t }
        for (id, t) in inputs { env[id] = t }
        for s in steps {
            let step = program.steps[s.index]
            do {
                if step.valued, let kernel = step.kernel as? any ValueKernel {
                    let ins = step.inputs.map { $0.flatMap { id in env[id].map(GraphValue.tensor) ?? others[id] } }
                    let results = try kernel.runValues(ins, context: context)
                    for (i, id) in step.outputs.enumerated() {
                        guard let id else { continue }
                        guard i < results.count else { throw AscentError(.internal, "kernel computed no output \(i)") }
                        if case .tensor(let t) = results[i], !(program.kinds[id]?.isOptional ?? false) {
                            env[id] = t
                        } else {
                            others[id] = results[i]
                        }
                    }
                    for id in s.release { others[id] = nil; release(id, &env, context.pool) }
                    continue
                }
                let outputTypes: [TensorType]
                if let t = s.outputTypes {
                    outputTypes = t
                } else if step.kernel.computesOutputTypes {
                    outputTypes = []
                } else {
                    let ins = step.inputs.map { $0.flatMap { env[$0] } }
                    guard let t = try step.outputTypes(KernelInputs(types: ins.map { $0?.type }, values: ins)) else {
                        throw AscentError(.internal, "output types still unknown at run time")
                    }
                    outputTypes = t
                }
                if let donor = s.donor, let first = outputTypes.first, env[donor]?.byteCount == first.byteCount {
                    try donate(donor, &env, context)
                }
                let ins = step.inputs.map { $0.flatMap { env[$0] } }
                let results = try (s.kernel ?? step.kernel).run(ins, outputs: outputTypes, context: context)
                context.reclaimDonation()
                for (i, id) in step.outputs.enumerated() {
                    guard let id else { continue }
                    guard i < results.count else { throw AscentError(.internal, "kernel computed no output \(i)") }
                    env[id] = results[i]
                }
            } catch let e as AscentError {
                throw e.context.isEmpty ? e.within("node \(step.node.label)") : e
            }
            for id in s.release { release(id, &env, context.pool) }
        }
        var out: [String: GraphValue] = [:]
        for o in program.outputs {
            func declared(_ t: Tensor) -> Tensor {
                o.declared.computeDType != o.declared && t.dtype == o.declared.computeDType ? t.converted(to: o.declared) : t
            }
            if let t = env[o.id] {
                out[o.name] = .tensor(declared(t))
            } else if let v = others[o.id] {
                switch v {
                case .tensor(let t): out[o.name] = .tensor(declared(t))
                case .sequence(let ts): out[o.name] = .sequence(ts.map(declared))
                case .none: out[o.name] = GraphValue.none
                }
            } else {
                throw AscentError(.internal, "graph output '\(o.name)' was not computed")
            }
        }
        return out
    }

    /// Offers the buffer of value `id` (at its last use) to the step's output 0 when nothing else holds it.
    private func donate(_ id: Int, _ env: inout [Tensor?], _ context: ExecutionContext) throws {
        guard let t = env[id] else { return }
        let (dtype, shape) = (t.dtype, t.shape)
        var storage = Plan.detach(&env[id])
        if isKnownUniquelyReferenced(&storage), !storage.isBorrowed { context.donate(storage) }
        env[id] = try Tensor(dtype: dtype, shape: shape, storage: storage)
    }

    /// Drops value `id`; its buffer goes back to the pool when nothing else holds it.
    private func release(_ id: Int, _ env: inout [Tensor?], _ pool: BufferPool) {
        guard env[id] != nil else { return }
        var storage = Plan.detach(&env[id])
        if isKnownUniquelyReferenced(&storage), !storage.isBorrowed { pool.give(storage) }
    }

    /// Removes the tensor from `slot` and returns its storage, holding no other reference to it.
    private static func detach(_ slot: inout Tensor?) -> TensorStorage {
        storageOf(slot.take())
    }

    private static func storageOf(_ t: consuming Tensor?) -> TensorStorage {
        // Callers check the slot is non-nil first.
        t.map { $0.storage } ?? TensorStorage(zeroedByteCount: 0)
    }
}
