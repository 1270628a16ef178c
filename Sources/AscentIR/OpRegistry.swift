/// Every op the IR defines, by name. Op families register here with one line each.
public enum OpRegistry {
    public static let schemas: [String: OpSchema] = {
        var all: [String: OpSchema] = [:]
        let families: [[OpSchema]] = [
            ElementwiseOps.schemas,
            ConvolutionOps.schemas,
            LinearOps.schemas,
            NormalizationOps.schemas,
            ShapeOps.schemas,
            IndexingOps.schemas,
            ReduceOps.schemas,
            CastOps.schemas,
            GradientOps.schemas,
            MoreOps.schemas,
            AttentionOps.schemas,
        ]
        for schema in families.joined() {
            precondition(all[schema.name] == nil, "op \(schema.name) is defined twice")
            all[schema.name] = schema
        }
        return all
    }()

    /// The schema for `op`, or nil when the IR has no such op.
    public static func schema(_ op: String) -> OpSchema? { schemas[op] }
}
