import AscentIR

extension Program.Step {
    /// The output types of this step for concrete inputs, after the kernel checked them: what the
    /// op's shape rule gives, or, for an op whose output sizes depend on input data
    /// (``OpTraits/dataDependentShape``), what its kernel computes from the input values. Nil when
    /// they depend on values not known yet.
    func outputTypes(_ known: KernelInputs) throws -> [TensorType]? {
        let fromRule = try ruleTypes(known)
        let fromData = try kernel.check(known)
        guard definition.traits.contains(.dataDependentShape) else {
            if fromData != nil { throw AscentError(.internal, "the kernel of \(node.op) gives output types; its shape rule is the rule") }
            return fromRule
        }
        return fromRule ?? fromData.map { Array($0.prefix(node.outputs.count)) }
    }

    /// The outputs of a ``OpTraits/readsTypeOnly`` op (Shape, Size) from its inputs' types.
    func valuesFromTypes(_ known: KernelInputs) throws -> [Tensor]? {
        guard definition.traits.contains(.readsTypeOnly), let values = try definition.values?(context(known)),
              let types = try ruleTypes(known), values.count == types.count else { return nil }
        var out: [Tensor] = []
        for (dims, t) in zip(values, types) {
            guard let dims, t.dtype == .int64, t.count == dims.count else { return nil }
            var v: [Int64] = []
            for d in dims {
                guard let x = d.value else { return nil }
                v.append(Int64(x))
            }
            out.append(Tensor(shape: t.shape, scalars: v))
        }
        return out
    }

    private func context(_ known: KernelInputs) -> ShapeContext {
        ShapeContext(node: node,
                     inputTypes: known.types.map { $0.map { ValueType($0.dtype, Shape($0.shape)) } },
                     constantInputs: known.values)
    }

    /// The shape rule's answer when it is concrete for every output.
    private func ruleTypes(_ known: KernelInputs) throws -> [TensorType]? {
        let inferred = try definition.shape(context(known))
        guard inferred.count >= node.outputs.count else { return nil }
        var out: [TensorType] = []
        for t in inferred.prefix(node.outputs.count) {
            guard let t, let s = t.shape?.concrete else { return nil }
            out.append(TensorType(t.dtype, s))
        }
        return out
    }
}
