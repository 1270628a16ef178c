import AscentIR

/// A graph prepared for execution, independent of input shapes: float16, bfloat16 and float64
/// lowered to float32 (``DType/computeDType``),
/// values numbered, one kernel per node.
final class Program: Sendable {
    /// A graph input: its value id, declared type, and whether an initializer provides a default.
    struct Input: Sendable {
        let id: Int
        let info: ValueInfo
        let hasDefault: Bool
        /// The dtype the caller passes (a float16/bfloat16/float64 input is computed as float32).
        var declared: DType { info.type.dtype }
    }

    struct Output: Sendable {
        let id: Int
        let name: String
        /// The declared dtype: float16/bfloat16/float64 outputs are computed as float32 and
        /// converted back on exit.
        let declared: DType
    }

    struct Step: Sendable {
        let node: Node
        let definition: OpDefinition
        let kernel: any Kernel
        /// Value id per node input (nil for an omitted optional input).
        let inputs: [Int?]
        /// Value id per node output (nil for an omitted output).
        let outputs: [Int?]
        /// True when the step reads or gives a sequence or optional value (or its kernel only runs on
        /// such values): it runs through ``ValueKernel/runValues(_:context:)``, at run time.
        let valued: Bool
    }

    let valueNames: [String]
    let inputs: [Input]
    let outputs: [Output]
    let initializers: [Int: Tensor]
    let steps: [Step]
    /// The kind of each value (by id) where known: sequences and optionals are kept apart from tensors.
    let kinds: [ValueKind?]

    /// Prepares `graph`: writes out ops that have no kernel but a decomposition (contrib ops,
    /// QLinearConv), checks that every node has a kernel (listing all that do not, at once),
    /// lowers float16/bfloat16/float64 to float32 and validates that, applies the ``Fusion`` rewrites when `fuse` (and
    /// then the ``LayoutPass`` when `layout`), and builds the kernels.
    init(graph source: Graph, fuse: Bool = true, layout: Bool = true) throws {
        let graph = try Program.decomposingKernelless(source)
        let missing = graph.nodes.filter { $0.isUnsupported || $0.definition == nil || !KernelRegistry.has($0.op) }
        if !missing.isEmpty {
            let what = missing.count == 1 ? "1 unsupported op" : "\(missing.count) unsupported ops"
            throw AscentError.invalid(what + ": " + missing.map(\.label).joined(separator: ", "))
        }
        // The graph as it is computed is what must be consistent (a gradient graph built on the
        // computed types declares its inputs in their original types).
        var lowered = graph.loweredToComputeTypes()
        try lowered.validate()
        // The passes do not look into nested graphs (those are fused and planned by their own sessions).
        let types = try lowered.inferTypes()
        let hasValues = types.values.contains { !$0.isTensor }
        if fuse, !graph.hasControlFlow, !hasValues {
            lowered = Fusion.apply(lowered)
            if layout { lowered = LayoutPass.apply(lowered) }
        }

        var ids: [String: Int] = [:]
        var names: [String] = []
        func id(_ name: String) -> Int {
            if let i = ids[name] { return i }
            ids[name] = names.count
            names.append(name)
            return names.count - 1
        }
        inputs = lowered.inputs.map { info in
            Input(id: id(info.name), info: graph.inputs.first { $0.name == info.name } ?? info,
                  hasDefault: lowered.initializers[info.name] != nil)
        }
        var constants: [Int: Tensor] = [:]
        for (name, t) in lowered.initializers { constants[id(name)] = t }
        initializers = constants
        steps = try lowered.nodes.map { node in
            let kernel = try KernelRegistry.make(node)
            let touches = (node.inputs + node.outputs).contains { !$0.isEmpty && !(types[$0]?.isTensor ?? true) }
            let valued = (kernel as? any ValueKernel).map { $0.needsValues || touches } ?? false
            if touches, !valued { throw AscentError.invalid("\(node.op) takes tensors only").within("node \(node.label)") }
            return Step(node: node, definition: node.definition!, kernel: kernel,
                        inputs: node.inputs.map { $0.isEmpty ? nil : id($0) },
                        outputs: node.outputs.map { $0.isEmpty ? nil : id($0) }, valued: valued)
        }
        outputs = graph.outputs.map { Output(id: id($0.name), name: $0.name, declared: $0.type.dtype) }
        valueNames = names
        kinds = names.map { name in types[name]?.kind ?? lowered.inputs.first { $0.name == name }?.type.kind }
    }

    /// `graph` with every node whose op has no kernel but a decomposition replaced by that
    /// decomposition, until none is left (a decomposition may use such ops in turn).
    static func decomposingKernelless(_ graph: Graph) throws -> Graph {
        func expandable(_ node: Node) -> Bool {
            !node.isUnsupported && !KernelRegistry.has(node.op) && node.definition?.decomposition != nil
        }
        var g = graph
        for _ in 0..<8 where g.nodes.contains(where: expandable) {
            g = try Decomposer.expand(g, where: expandable)
        }
        return g
    }
}
