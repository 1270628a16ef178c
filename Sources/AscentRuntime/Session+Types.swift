import AscentIR

extension Session {
    /// The type of every value the graph computes for inputs of the given shapes, as the planner
    /// works it out without running the graph: shape computations on constants and on input
    /// shapes (`Shape` → `Gather` → `Concat` → `Reshape`...) are evaluated, so sizes that the IR's
    /// shape rules leave unknown become concrete. Values whose type depends on the inputs' data are
    /// left out. Computed values are float32 where the graph declares float16, bfloat16
    /// or float64.
    ///
    /// - Parameter inputShapes: a shape for every graph input without an initializer, by name.
    /// - Throws: `.invalidData` for a missing input shape, or sizes a node rejects (naming it).
    public func valueTypes(inputShapes: [String: [Int]]) throws -> [String: ValueType] {
        var types: [Int: TensorType] = [:]
        for input in program.inputs {
            guard let shape = inputShapes[input.info.name] else {
                if input.hasDefault { continue }
                throw AscentError.invalid("no shape for input '\(input.info.name)'")
            }
            types[input.id] = TensorType(input.declared.computeDType, shape)
        }
        // Types only: no oneDNN primitives (each is JIT-compiled when made).
        let plan = try Plan(program: program, inputTypes: types, context: ExecutionContext(threads: 1, pool: BufferPool(), primitives: false))
        var out: [String: ValueType] = [:]
        for (id, t) in plan.types.enumerated() {
            if let t { out[program.valueNames[id]] = ValueType(t.dtype, Shape(t.shape)) }
        }
        return out
    }
}
