/// Reductions over a set of axes: `ReduceMean`, `ReduceSum`, `ReduceMax`, `ReduceMin`, `ReduceProd`.
///
/// ONNX opset-18 form: `axes` is an optional int64 input (the older `axes` attribute is read
/// when the input is absent). No axes reduce everything, unless `noop_with_empty_axes` is 1,
/// when the op is an identity. `keepdims` (default 1) keeps reduced axes with size 1.
public enum ReduceOps {
    static let names = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]

    static var schemas: [OpSchema] {
        names.map {
            OpSchema($0, inputs: 1...2, attributes: [
                .optional("keepdims", .int(1)), .optional("noop_with_empty_axes", .int(0)),
                .optional("axes", kind: "ints"),
            ], infer: reduce)
        }
    }

    /// The reduced axes (normalized, sorted) for `rank`, from the given list: nil or empty means
    /// all axes, or none when `noopWithEmptyAxes`.
    public static func reducedAxes(_ axes: [Int]?, rank: Int, noopWithEmptyAxes: Bool) throws -> [Int] {
        guard let axes, !axes.isEmpty else { return noopWithEmptyAxes ? [] : Array(0..<rank) }
        return try IndexingOps.normalizedAxes(axes, rank: rank).sorted()
    }

    @Sendable static func reduce(_ ctx: InferenceContext) throws -> [ValueType?] {
        guard let x = ctx.input(0) else { return [nil] }
        guard let s = x.shape else { return [ValueType(x.dtype, nil)] }
        let keep = try ctx.int("keepdims", default: 1) != 0
        let given: [Int]?
        if ctx.node.inputs.count > 1, !ctx.node.inputs[1].isEmpty {
            guard let t = ctx.constant(1) else {
                return [ValueType(x.dtype, keep ? Shape(Array(repeating: Dim.unknown, count: s.rank)) : nil)]
            }
            given = t.int64s().map { Int($0) }
        } else {
            given = try ctx.ints("axes")
        }
        let axes = try reducedAxes(given, rank: s.rank, noopWithEmptyAxes: try ctx.int("noop_with_empty_axes", default: 0) != 0)
        var dims: [Dim] = []
        for (i, d) in s.dims.enumerated() {
            if !axes.contains(i) { dims.append(d) } else if keep { dims.append(.known(1)) }
        }
        return [ValueType(x.dtype, Shape(dims), layout: keep ? x.layout : nil)]
    }
}
