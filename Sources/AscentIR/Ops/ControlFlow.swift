/// Control flow with nested graphs, ONNX's `If`, `Loop` and `Scan`.
///
/// A nested graph is a graph-valued attribute (``Attribute/graph(_:)``). What ONNX lets a nested
/// graph read from the enclosing scope is explicit in the IR: the node lists those outer values as
/// its last `captured` inputs, and each nested graph lists them, in the same order and under the
/// names it uses, as its last inputs. So validation, topological order, buffer lifetimes, passes and
/// the gradient builder see every value a node reads, and each nested graph is a complete graph of
/// its own (it validates, prints and runs alone).
///
/// - `If(cond, captured...)`: `then_branch` or `else_branch` (inputs: the captured values).
/// - `Loop(M, cond, v_initial..., captured...)`: `body(iteration, cond, v..., captured...)` gives
///   `(cond, v..., scan outputs...)`; the node's outputs are the final carried values, then each
///   scan output stacked over the iterations.
/// - `Scan(state..., scan inputs..., captured...)`: `body(state..., scan elements..., captured...)`
///   gives `(state..., scan output elements...)`, over slices of the scan inputs along
///   `scan_input_axes` (reversed where `scan_input_directions` is 1), stacked along
///   `scan_output_axes`.
///
/// Gradients: these ops have no rule of their own. ``ControlFlowInlining`` replaces an `If` whose
/// condition is known by its taken branch and a `Loop` or `Scan` whose trip count is known by its
/// iterations, written out; the gradient builder then differentiates ordinary nodes.
extension OpDefinition {
    public static let `if` = OpDefinition(
        "If", inputs: 1...Int.max, outputs: 1...Int.max, attributes: IfAttributes.self,
        traits: [.dataDependentShape, .subgraphs, .valueKinds], onnx: ONNXHistory([1, 11, 13, 16, 19, 21, 23, 24, 25]),
        shape: { ctx in
            let a = try ctx.attributes(IfAttributes.self)
            let captured = Array(1..<ctx.inputCount)
            let then = try ControlFlowTypes.outputs(of: a.thenBranch, ctx, inputs: captured.map { .outer($0) })
            let otherwise = try ControlFlowTypes.outputs(of: a.elseBranch, ctx, inputs: captured.map { .outer($0) })
            guard then.count == ctx.outputCount, otherwise.count == ctx.outputCount else {
                throw ctx.error("the branches give \(then.count) and \(otherwise.count) outputs, the node has \(ctx.outputCount)")
            }
            if let c = ctx.constant(0), c.count == 1 { return c.doubles()[0] != 0 ? then : otherwise }
            return zip(then, otherwise).map(ControlFlowTypes.join)
        })

    public static let loop = OpDefinition(
        "Loop", inputs: 2...Int.max, outputs: 0...Int.max, attributes: LoopAttributes.self,
        traits: [.dataDependentShape, .subgraphs, .valueKinds], onnx: ONNXHistory([1, 11, 13, 16, 19, 21, 23, 24, 25]),
        shape: { ctx in
            let a = try ctx.attributes(LoopAttributes.self)
            let carried = ctx.inputCount - 2 - a.captured
            guard carried >= 0, a.body.inputs.count == ctx.inputCount, a.body.outputs.count == ctx.outputCount + 1,
                  ctx.outputCount >= carried else {
                throw ctx.error("the body has \(a.body.inputs.count) inputs and \(a.body.outputs.count) outputs for a node of "
                    + "\(ctx.inputCount) inputs (\(a.captured) captured) and \(ctx.outputCount) outputs")
            }
            let scalar: [Int] = []
            let inputs: [ControlFlowTypes.Input] = [.type(ValueType(.int64, Shape(scalar))), .type(ValueType(.bool, Shape(scalar)))]
                + (2..<ctx.inputCount).map { .outer($0) }
            let body = try ControlFlowTypes.outputs(of: a.body, ctx, inputs: inputs)
            let trips = LoopTripCount.known(ctx, body: a.body).map(Dim.known) ?? .unknown
            var out: [ValueType?] = []
            for k in 0..<ctx.outputCount {
                let t = body[k + 1]
                if k < carried {
                    // The body's kind, as ONNX infers it (an optional carried in may come out as what it holds).
                    let joined = ControlFlowTypes.join(ctx.input(2 + k), t)
                    out.append(t.map { joined?.with(kind: $0.kind) ?? $0 } ?? joined)
                    continue
                }
                out.append(t.map { t in ValueType(t.dtype, t.shape.map { s -> Shape in Shape([trips] + s.dims) }) })
            }
            return out
        })

    public static let scan = OpDefinition(
        "Scan", inputs: 1...Int.max, outputs: 1...Int.max, attributes: ScanAttributes.self,
        traits: [.dataDependentShape, .subgraphs], onnx: ONNXHistory([8, 9, 11, 16, 19, 21, 23, 24, 25],
                                                                       changes: [.conversion(.scan8, until: 9)]),
        shape: { ctx in
            let a = try ctx.attributes(ScanAttributes.self)
            let layout = try ScanLayout(a, inputs: ctx.inputCount, outputs: ctx.outputCount)
            var inputs: [ControlFlowTypes.Input] = (0..<layout.state).map { .outer($0) }
            var length: Dim = .unknown
            for j in 0..<layout.scanInputs {
                let i = layout.state + j
                guard let t = ctx.input(i), let s = t.shape else { inputs.append(.type(nil)); continue }
                let axis = try layout.inputAxis(j, rank: s.rank)
                if j == 0 { length = s.dims[axis] }
                var dims = s.dims
                dims.remove(at: axis)
                inputs.append(.type(ValueType(t.dtype, Shape(dims))))
            }
            inputs += (layout.state + layout.scanInputs..<ctx.inputCount).map { .outer($0) }
            let body = try ControlFlowTypes.outputs(of: a.body, ctx, inputs: inputs)
            var out: [ValueType?] = []
            for k in 0..<ctx.outputCount {
                let t = body[k]
                if k < layout.state { out.append(ControlFlowTypes.join(ctx.input(k), t)); continue }
                guard let t, let s = t.shape else { out.append(body[k].map { ValueType($0.dtype, nil) }); continue }
                let axis = try layout.outputAxis(k - layout.state, rank: s.rank + 1)
                var dims = s.dims
                dims.insert(length, at: axis)
                out.append(ValueType(t.dtype, Shape(dims)))
            }
            return out
        })
}

/// `If`: the two branches and how many trailing inputs are captured outer values (all but `cond`).
public struct IfAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("then_branch", kind: "graph"), .required("else_branch", kind: "graph")]
    public let thenBranch: Graph
    public let elseBranch: Graph

    public init(_ a: AttributeReader) throws {
        thenBranch = try a.graph("then_branch")
        elseBranch = try a.graph("else_branch")
        let captured = a.node.inputs.count - 1
        for (name, g) in [("then_branch", thenBranch), ("else_branch", elseBranch)] where g.inputs.count != captured {
            throw AscentError.invalid("\(name) has \(g.inputs.count) inputs for \(captured) captured values")
        }
    }
}

/// `Loop`: the body and the number of trailing inputs that are captured outer values.
public struct LoopAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [.required("body", kind: "graph"), .int("captured", 0)]
    public let body: Graph
    public let captured: Int

    public init(_ a: AttributeReader) throws {
        body = try a.graph("body")
        captured = try a.int("captured")
        guard captured >= 0, captured <= a.node.inputs.count - 2 else { throw AscentError.invalid("captured is \(captured)") }
    }
}

/// `Scan`: the body, the number of scan inputs, their axes and directions and those of the scan
/// outputs, and the number of trailing inputs that are captured outer values.
public struct ScanAttributes: OpAttributes {
    public static let specs: [AttributeSpec] = [
        .required("body", kind: "graph"), .required("num_scan_inputs", kind: "int"),
        .optional("scan_input_axes", kind: "ints"), .optional("scan_input_directions", kind: "ints"),
        .optional("scan_output_axes", kind: "ints"), .optional("scan_output_directions", kind: "ints"), .int("captured", 0),
    ]
    public let body: Graph
    public let scanInputs: Int
    public let inputAxes: [Int]?, inputDirections: [Int]?, outputAxes: [Int]?, outputDirections: [Int]?
    public let captured: Int

    public init(_ a: AttributeReader) throws {
        body = try a.graph("body")
        scanInputs = try a.int("num_scan_inputs")
        inputAxes = try a.ints("scan_input_axes")
        inputDirections = try a.ints("scan_input_directions")
        outputAxes = try a.ints("scan_output_axes")
        outputDirections = try a.ints("scan_output_directions")
        captured = try a.int("captured")
        guard scanInputs >= 1, captured >= 0, scanInputs + captured <= a.node.inputs.count else {
            throw AscentError.invalid("num_scan_inputs \(scanInputs) and \(captured) captured values for \(a.node.inputs.count) inputs")
        }
    }
}

/// How a `Scan` node's inputs and outputs split: state, scan inputs, captured values; state and
/// scan outputs; and each scan input's and output's axis and direction.
public struct ScanLayout: Sendable {
    public let state: Int, scanInputs: Int, scanOutputs: Int, captured: Int
    let a: ScanAttributes

    public init(_ a: ScanAttributes, inputs: Int, outputs: Int) throws {
        self.a = a
        captured = a.captured
        scanInputs = a.scanInputs
        state = inputs - scanInputs - captured
        scanOutputs = outputs - state
        guard state >= 0, scanOutputs >= 0, a.body.inputs.count == inputs, a.body.outputs.count == outputs else {
            throw AscentError.invalid("the body has \(a.body.inputs.count) inputs and \(a.body.outputs.count) outputs for a Scan of "
                + "\(inputs) inputs (\(scanInputs) scanned, \(captured) captured) and \(outputs) outputs")
        }
        for (name, list, count) in [("scan_input_axes", a.inputAxes, scanInputs), ("scan_input_directions", a.inputDirections, scanInputs),
                                    ("scan_output_axes", a.outputAxes, scanOutputs),
                                    ("scan_output_directions", a.outputDirections, scanOutputs)] {
            if let list, list.count != count { throw AscentError.invalid("\(name) has \(list.count) entries for \(count) values") }
        }
    }

    /// The scan axis of scan input `j` (of rank `rank`), made non-negative.
    public func inputAxis(_ j: Int, rank: Int) throws -> Int { try Self.axis(a.inputAxes?[j] ?? 0, rank) }
    /// The axis scan output `k` (of rank `rank`) is stacked along, made non-negative.
    public func outputAxis(_ k: Int, rank: Int) throws -> Int { try Self.axis(a.outputAxes?[k] ?? 0, rank) }
    /// True when scan input `j` is read from its last slice to its first.
    public func inputReversed(_ j: Int) -> Bool { (a.inputDirections?[j] ?? 0) == 1 }
    /// True when scan output `k` is stacked from last to first.
    public func outputReversed(_ k: Int) -> Bool { (a.outputDirections?[k] ?? 0) == 1 }

    static func axis(_ axis: Int, _ rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw AscentError.invalid("scan axis \(axis) is out of range for rank \(rank)") }
        return a
    }
}

/// The trip count of a `Loop` when it is fixed before running: a constant `M`, a condition that
/// is absent or a constant true, and a body whose condition output is its condition input or a
/// constant true (a `for` loop, as `torch.jit.script` and tf2onnx write `range` loops).
public enum LoopTripCount {
    public static func known(_ ctx: ShapeContext, body: Graph) -> Int? {
        guard let m = ctx.ints(0), m.count == 1 else { return nil }
        if ctx.has(1) { guard let c = ctx.constant(1), c.count == 1, c.doubles()[0] != 0 else { return nil } }
        return bodyKeepsGoing(body, inputValue: ctx.constant) ? max(0, m[0]) : nil
    }

    /// True when the body's condition output is always true given a true condition input: it is
    /// that input, a constant true, or an outer value (a body input `i`, the node's input `i`)
    /// whose `inputValue` is true — through Identity nodes.
    public static func bodyKeepsGoing(_ body: Graph, inputValue: (Int) -> Tensor?) -> Bool {
        guard body.inputs.count >= 2, let out = body.outputs.first?.name else { return false }
        var name = out
        let producers = body.producers
        while true {
            if name == body.inputs[1].name { return true }
            if let i = body.inputs.firstIndex(where: { $0.name == name }) {
                return inputValue(i).map { $0.count == 1 && $0.doubles()[0] != 0 } ?? false
            }
            if let t = body.initializers[name] { return t.count == 1 && t.doubles()[0] != 0 }
            guard let p = producers[name] else { return false }
            let node = body.nodes[p]
            if node.is(.identity) { name = node.inputs[0]; continue }
            if node.is(.constant), let t = node.attributes["value"]?.tensor { return t.count == 1 && t.doubles()[0] != 0 }
            return false
        }
    }
}

/// Types of nested graphs' values as their node sees them.
enum ControlFlowTypes {
    /// A nested graph's input: typed as the node's input `i` (value included when constant), or
    /// as given.
    enum Input {
        case outer(Int)
        case type(ValueType?)
    }

    /// The output types of `graph` with its inputs typed as `inputs` say.
    static func outputs(of graph: Graph, _ ctx: ShapeContext, inputs: [Input]) throws -> [ValueType?] {
        guard inputs.count == graph.inputs.count else {
            throw ctx.error("graph '\(graph.name)' has \(graph.inputs.count) inputs, the node gives it \(inputs.count)")
        }
        var facts = ValueFacts(graph)
        for (input, given) in zip(graph.inputs, inputs) {
            switch given {
            case .outer(let i):
                facts.types[input.name] = ctx.input(i) ?? input.type
                if let c = ctx.constant(i) { facts.constants[input.name] = c }
                if i < ctx.symbolicInputs.count, let s = ctx.symbolicInputs[i] { facts.symbolic[input.name] = s }
            case .type(let t):
                facts.types[input.name] = t ?? input.type
            }
        }
        do {
            let inferred = try graph.inferFacts(from: facts)
            return graph.outputs.map { ValueFacts.merge(inferred: inferred.types[$0.name], declared: $0.type) }
        } catch let e as AscentError {
            throw e.within("graph '\(graph.name)'").within("node \(ctx.node.label)")
        }
    }

    /// What two types have in common: the dtype (nil if they differ), sizes equal in both.
    /// The kinds must agree up to optionality (an optional and what it holds join to the optional).
    static func join(_ a: ValueType?, _ b: ValueType?) -> ValueType? {
        guard let a, let b else { return a ?? b }
        guard a.dtype == b.dtype, a.kind.unwrapped == b.kind.unwrapped else { return nil }
        let kind = a.kind == b.kind ? a.kind : a.kind.wrapped
        guard let sa = a.shape, let sb = b.shape, sa.rank == sb.rank else { return ValueType(a.dtype, nil, kind: kind) }
        return ValueType(a.dtype, Shape(zip(sa.dims, sb.dims).map { $0 == $1 ? $0 : .unknown }), kind: kind)
    }
}

extension AttributeReader {
    /// A graph attribute.
    public func graph(_ name: String) throws -> Graph {
        guard let a = try raw(name) else { throw AscentError.invalid("missing attribute '\(name)'") }
        guard let g = a.graph else { throw AscentError.invalid("attribute '\(name)' should be graph, is \(a.kind)") }
        return g
    }
}

extension Node {
    /// The node's nested graphs with their attribute names, in name order.
    public var subgraphs: [(attribute: String, graph: Graph)] {
        attributes.keys.sorted().compactMap { key in attributes[key]?.graph.map { (key, $0) } }
    }

    /// True when the node has nested graphs.
    public var hasSubgraphs: Bool { attributes.values.contains { $0.graph != nil } }

    /// How many of the node's last inputs are outer values its nested graphs read (`If`: all but
    /// the condition; `Loop`, `Scan`: the `captured` attribute).
    public var capturedCount: Int {
        guard hasSubgraphs else { return 0 }
        if `is`(.if) { return max(0, inputs.count - 1) }
        return attributes["captured"]?.int ?? 0
    }

    /// The outer values the node's nested graphs read, as the node names them.
    public var capturedValues: ArraySlice<String> { inputs.suffix(capturedCount) }

    /// The types of nested graph `g`'s values when this node runs it with inputs of `types`: its
    /// inputs typed as the node's inputs they stand for (`If`: all; `Loop`: the carried and
    /// captured values; `Scan`: all, a scanned input without its scan axis), the rest as declared.
    public func nestedTypes(_ g: Graph, outer types: [String: ValueType]) -> [String: ValueType] {
        var facts = ValueFacts(g)
        let offset = `is`(.if) ? 1 : 0
        let scanned = `is`(.scan) ? (attributes["num_scan_inputs"]?.int ?? 0) : 0
        let state = inputs.count - capturedCount - scanned
        for (i, info) in g.inputs.enumerated() {
            let k = i + offset
            if `is`(.loop), k < 2 { continue }
            if `is`(.scan), k >= state, k < state + scanned {
                if let t = types[inputs[k]], let s = t.shape, let a = try? ScanAttributes(self),
                   let axis = try? ScanLayout.axis(a.inputAxes?[k - state] ?? 0, s.rank) {
                    var dims = s.dims
                    dims.remove(at: axis)
                    facts.types[info.name] = ValueType(t.dtype, Shape(dims))
                }
                continue
            }
            if k < inputs.count, let t = types[inputs[k]] {
                // SequenceMap's body sees one element of each sequence input.
                facts.types[info.name] = `is`(.sequenceMap) && t.kind == .sequence ? t.tensorType : t
            }
        }
        return (try? g.inferFacts(from: facts).types) ?? facts.types
    }
}

extension Graph {
    /// True when some node has nested graphs.
    public var hasControlFlow: Bool { nodes.contains(where: \.hasSubgraphs) }
}
