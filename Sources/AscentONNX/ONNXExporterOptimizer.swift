import AscentIR

/// Tidies a graph lowered to ONNX's forms, keeping its inputs and outputs (names, types, layouts)
/// and what it computes:
///
/// 1. Identity nodes go (their output names become their input's), except where a graph output is
///    an Identity.
/// 2. Transposes are pushed down through layout-agnostic nodes: a node whose data inputs are all
///    `Transpose(·, p)` of the same `p` (or constants, which are permuted instead) runs on the
///    untransposed values and one Transpose follows it. Transposes of transposes compose (and vanish
///    when they cancel); identical transposes of one value merge. So a channels-last Conv chain
///    keeps transposes only at its ends, and no Transpose reads another's output.
/// 3. A transpose that only moves size-1 axes is dropped before a Flatten or Reshape; one before
///    `Flatten(axis 1)` whose readers are all MatMul/Gemm with constant weights is folded into the
///    weights' rows.
/// 4. A zero constant Pad of spatial axes read only by a Conv is folded into the Conv's `pads`.
/// 5. Unused nodes and initializers go; identical initializers are stored once.
/// 6. Node names are made unique (`<name>/<op>` for a repeated name); values the exporter named
///    with a `_<n>` suffix (their name was taken) get the name they were meant to have when it is
///    free again.
enum ONNXExportOptimizer {
    /// - Parameter suffixed: names the lowering made unique with a suffix, and the name each was meant to have.
    static func optimize(_ graph: Graph, suffixed: [String: String] = [:]) throws -> Graph {
        var g = GraphCleanup.removeIdentities(graph)
        var sinking = try TransposeSinking(g)
        g = try sinking.run()
        g = GraphCleanup.removeDead(g)
        g = GraphCleanup.foldPads(g)
        g = GraphCleanup.removeDead(g)
        g = GraphCleanup.deduplicateInitializers(g)
        g = GraphCleanup.removeDead(g)
        g = GraphCleanup.restoreNames(g, suffixed.merging(sinking.suffixed) { a, _ in a })
        return GraphCleanup.uniqueNodeNames(g)
    }
}
