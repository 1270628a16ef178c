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
        var g = removeIdentities(graph)
        var sinking = try TransposeSinking(g)
        g = try sinking.run()
        g = removeDead(g)
        g = foldPads(g)
        g = removeDead(g)
        g = deduplicateInitializers(g)
        g = removeDead(g)
        g = restoreNames(g, suffixed.merging(sinking.suffixed) { a, _ in a })
        return uniqueNodeNames(g)
    }

    /// Renames generated values `<base>_<n>` to `<base>` where no value is named `<base>` any more.
    static func restoreNames(_ graph: Graph, _ suffixed: [String: String]) -> Graph {
        guard !suffixed.isEmpty else { return graph }
        var g = graph
        let interface = Set(g.inputs.map(\.name)).union(g.outputs.map(\.name))
        var names = interface.union(g.initializers.keys).union(g.nodes.flatMap(\.outputs))
        var rename: [String: String] = [:]
        let candidates = g.nodes.flatMap(\.outputs) + g.initializers.keys.sorted()
        for name in candidates where !interface.contains(name) {
            guard let base = suffixed[name], !names.contains(base) else { continue }
            rename[name] = base
            names.remove(name)
            names.insert(base)
        }
        guard !rename.isEmpty else { return g }
        for i in g.nodes.indices {
            g.nodes[i].inputs = g.nodes[i].inputs.map { rename[$0] ?? $0 }
            g.nodes[i].outputs = g.nodes[i].outputs.map { rename[$0] ?? $0 }
        }
        for (old, new) in rename where g.initializers[old] != nil {
            g.initializers[new] = g.initializers.removeValue(forKey: old)
        }
        return g
    }

    // MARK: - Identities

    static func removeIdentities(_ graph: Graph) -> Graph {
        var g = graph
        let outputs = Set(g.outputs.map(\.name))
        var alias: [String: String] = [:]
        var nodes: [Node] = []
        for var node in g.nodes {
            node.inputs = node.inputs.map { alias[$0] ?? $0 }
            if node.op == "Identity", node.inputs.count == 1, node.outputs.count == 1, !outputs.contains(node.outputs[0]) {
                alias[node.outputs[0]] = node.inputs[0]
                continue
            }
            nodes.append(node)
        }
        g.nodes = nodes
        return g
    }

    // MARK: - Dead code

    /// Drops nodes none of whose outputs is read, and initializers nothing reads.
    static func removeDead(_ graph: Graph) -> Graph {
        var g = graph
        var live = Set(g.outputs.map(\.name))
        var kept: [Node] = []
        for node in g.nodes.reversed() where node.outputs.contains(where: live.contains) {
            kept.append(node)
            live.formUnion(node.inputs)
        }
        g.nodes = kept.reversed()
        g.initializers = g.initializers.filter { live.contains($0.key) }
        return g
    }

    // MARK: - Pad into Conv

    /// `Conv(Pad(x))` → `Conv(x)` with larger `pads`, for a zero constant Pad of the spatial axes only
    /// whose output only that Conv reads (and a Conv with explicit padding).
    static func foldPads(_ graph: Graph) -> Graph {
        var g = graph
        var readers: [String: [Int]] = [:]
        for (i, node) in g.nodes.enumerated() {
            for input in node.inputs where !input.isEmpty { readers[input, default: []].append(i) }
        }
        let outputs = Set(g.outputs.map(\.name))
        for pad in g.nodes where pad.op == "Pad" {
            guard (pad.attributes["mode"]?.string ?? "constant") == "constant", pad.outputs.count == 1,
                  pad.inputs.count >= 2, pad.inputs.count < 4 || pad.inputs[3].isEmpty,
                  let pads = g.initializers[pad.inputs[1]]?.int64s().map({ Int($0) }) else { continue }
            if pad.inputs.count > 2, !pad.inputs[2].isEmpty {
                guard let value = g.initializers[pad.inputs[2]], value.doubles().allSatisfy({ $0 == 0 }) else { continue }
            }
            let y = pad.outputs[0]
            let rank = pads.count / 2
            guard rank >= 3, !outputs.contains(y), let users = readers[y], users.count == 1 else { continue }
            let c = users[0]
            var conv = g.nodes[c]
            guard conv.op == "Conv", conv.inputs[0] == y, !conv.inputs.dropFirst().contains(y),
                  (conv.attributes["auto_pad"]?.string ?? "NOTSET") == "NOTSET",
                  pads.allSatisfy({ $0 >= 0 }), pads[0] == 0, pads[1] == 0, pads[rank] == 0, pads[rank + 1] == 0 else { continue }
            let n = rank - 2
            var convPads = conv.attributes["pads"]?.ints ?? Array(repeating: 0, count: 2 * n)
            guard convPads.count == 2 * n else { continue }
            for i in 0..<n {
                convPads[i] += pads[2 + i]
                convPads[n + i] += pads[rank + 2 + i]
            }
            conv.inputs[0] = pad.inputs[0]
            conv.attributes["auto_pad"] = nil
            conv.attributes["pads"] = .ints(convPads)
            g.nodes[c] = conv
        }
        return g
    }

    // MARK: - Initializers

    struct TensorKey: Hashable {
        let dtype: DType
        let shape: [Int]
        let hash: Int

        init(_ t: Tensor) {
            dtype = t.dtype
            shape = t.shape
            var hasher = Hasher()
            t.withUnsafeBytes { hasher.combine(bytes: $0) }
            hash = hasher.finalize()
        }
    }

    /// Stores identical initializers (same dtype, shape and bytes) once, under the name read first.
    static func deduplicateInitializers(_ graph: Graph) -> Graph {
        var g = graph
        var order: [String] = []
        var seen: Set<String> = []
        for node in g.nodes {
            for input in node.inputs where g.initializers[input] != nil && seen.insert(input).inserted { order.append(input) }
        }
        order += g.initializers.keys.filter { !seen.contains($0) }.sorted()
        let outputs = Set(g.outputs.map(\.name))
        var kept: [TensorKey: [String]] = [:]
        var rename: [String: String] = [:]
        for name in order {
            let t = g.initializers[name]!
            let key = TensorKey(t)
            if !outputs.contains(name), let same = kept[key]?.first(where: { g.initializers[$0]!.bitwiseEqual(t) }) {
                rename[name] = same
            } else {
                kept[key, default: []].append(name)
            }
        }
        guard !rename.isEmpty else { return g }
        for i in g.nodes.indices { g.nodes[i].inputs = g.nodes[i].inputs.map { rename[$0] ?? $0 } }
        for name in rename.keys { g.initializers[name] = nil }
        return g
    }

    // MARK: - Node names

    /// Every node named, each name once: a repeated name becomes `<name>/<op>` (then `_1`, `_2`...).
    static func uniqueNodeNames(_ graph: Graph) -> Graph {
        var g = graph
        var taken: Set<String> = []
        for i in g.nodes.indices {
            let node = g.nodes[i]
            var name = node.name.isEmpty ? node.op : node.name
            if taken.contains(name) {
                let base = node.name.isEmpty ? node.op : "\(node.name)/\(node.op)"
                name = base
                var k = 1
                while taken.contains(name) {
                    name = "\(base)_\(k)"
                    k += 1
                }
            }
            taken.insert(name)
            g.nodes[i].name = name
        }
        return g
    }
}

// MARK: - Transposes

/// One forward sweep over the nodes that pushes transposes down, composes and merges them, and
/// drops or folds the ones that reach a Flatten / Reshape (see ``ONNXExportOptimizer``). Nodes it
/// leaves unread are removed afterwards by ``ONNXExportOptimizer/removeDead(_:)``.
struct TransposeSinking {
    var graph: Graph
    var types: [String: ValueType]
    let outputs: Set<String>
    /// Readers of each value in the input graph.
    let readers: [String: [Node]]
    /// How many node inputs read each initializer (an initializer read once is rewritten in place).
    let reads: [String: Int]

    var nodes: [Node] = []
    var alias: [String: String] = [:]
    /// Values that are `Transpose(source, perm)`.
    var transposed: [String: (source: String, perm: [Int])] = [:]
    /// `source|perm` → the value that transposes it.
    var transposes: [String: String] = [:]
    var permutedConstants: [String: String] = [:]
    /// Flatten outputs whose readers get their weight rows reordered: the flattened value's dims
    /// (without the batch axis) and the transpose that was dropped.
    var foldedRows: [String: (dims: [Int], perm: [Int])] = [:]
    var used: Set<String>
    /// Names made unique with a suffix, and the name each was meant to have.
    var suffixed: [String: String] = [:]

    init(_ graph: Graph) throws {
        self.graph = graph
        types = try graph.inferTypes()
        outputs = Set(graph.outputs.map(\.name))
        var readers: [String: [Node]] = [:]
        var reads: [String: Int] = [:]
        for node in graph.nodes {
            for input in Set(node.inputs) where !input.isEmpty { readers[input, default: []].append(node) }
            for input in node.inputs where graph.initializers[input] != nil { reads[input, default: 0] += 1 }
        }
        self.readers = readers
        self.reads = reads
        used = Set(graph.inputs.map(\.name)).union(graph.initializers.keys).union(graph.outputs.map(\.name))
            .union(graph.nodes.flatMap(\.outputs))
    }

    mutating func unique(_ base: String) -> String {
        var name = base
        var i = 1
        while used.contains(name) {
            name = "\(base)_\(i)"
            i += 1
        }
        used.insert(name)
        if name != base { suffixed[name] = base }
        return name
    }

    static func inverse(_ perm: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { out[p] = i }
        return out
    }

    /// The perm that moves channels first to channels last (`[0, 2, ..., r-1, 1]`).
    static func toChannelsLast(_ rank: Int) -> [Int] { rank < 3 ? [] : [0] + Array(2..<rank) + [1] }

    mutating func run() throws -> Graph {
        for var node in graph.nodes {
            node.inputs = node.inputs.map { alias[$0] ?? $0 }
            if node.op == "Transpose" {
                transpose(node)
            } else if let rewritten = try sink(node) {
                nodes += rewritten
            } else {
                try dropOrFold(&node)
                nodes.append(node)
            }
        }
        graph.nodes = nodes
        return graph
    }

    // MARK: Transpose nodes

    mutating func transpose(_ node: Node) {
        var node = node
        let x = node.inputs[0], y = node.outputs[0]
        guard let perm = node.attributes["perm"]?.ints ?? types[x]?.shape.map({ Array((0..<$0.rank).reversed()) }) else {
            return nodes.append(node)
        }
        var source = x, q = perm
        if let inner = transposed[x] {
            source = inner.source
            q = perm.map { inner.perm[$0] }
        }
        if q == Array(0..<q.count) {
            if outputs.contains(y) {
                nodes.append(Node(name: node.name, op: "Identity", inputs: [source], outputs: [y]))
            } else {
                alias[y] = source
            }
            return
        }
        let key = "\(source)|\(q)"
        if let existing = transposes[key], !outputs.contains(y) {
            alias[y] = existing
            return
        }
        node.inputs = [source]
        node.attributes["perm"] = .ints(q)
        nodes.append(node)
        transposed[y] = (source, q)
        if transposes[key] == nil { transposes[key] = y }
    }

    // MARK: Pushing transposes down

    static let unary: Set<String> = [
        "Identity", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Erf", "Floor",
        "Ceil", "Round", "Sign", "Sin", "Cos", "Softplus", "Softsign", "Not", "Mish", "HardSwish", "Gelu",
        "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Celu", "ThresholdedRelu", "Cast", "Clip",
    ]
    static let broadcasting: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Pow", "PRelu", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
        "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "Where",
    ]

    /// The inputs of `node` that carry its data (the ones a transpose can be pushed through), or nil
    /// when the node is not layout-agnostic.
    static func dataInputs(_ node: Node) -> [Int]? {
        let op = node.op
        if unary.contains(op) || ["Softmax", "LogSoftmax", "Slice", "Pad"].contains(op) { return [0] }
        if broadcasting.contains(op) || op == "Concat" { return Array(node.inputs.indices) }
        if ONNXExportLowering.reduceOps.contains(op), (node.attributes["keepdims"]?.int ?? 1) != 0 { return [0] }
        return nil
    }

    /// `node` run on untransposed inputs followed by one Transpose, or nil when it cannot be.
    mutating func sink(_ node: Node) throws -> [Node]? {
        guard node.outputs.count == 1, let data = Self.dataInputs(node) else { return nil }
        guard let perm = data.compactMap({ transposed[node.inputs[$0]]?.perm }).first else { return nil }
        let rank = perm.count
        var inputs = node.inputs
        var constants: [(index: Int, tensor: Tensor)] = []
        for i in data where !node.inputs[i].isEmpty {
            let v = node.inputs[i]
            if let t = transposed[v] {
                guard t.perm == perm else { return nil }
                inputs[i] = t.source
            } else if let c = graph.initializers[v], c.shape.count <= rank, node.op != "Concat" || c.shape.count == rank {
                constants.append((i, c))
            } else if let s = types[v]?.shape, s.rank <= rank, s.dims.allSatisfy({ $0 == .known(1) }), node.op != "Concat" {
                continue
            } else {
                return nil
            }
        }
        var attributes = node.attributes
        switch node.op {
        case "Softmax", "LogSoftmax", "Concat":
            let axis = try ShapeRules.axis(attributes["axis"]?.int ?? (node.op == "Concat" ? 0 : -1), rank: rank)
            attributes["axis"] = .int(perm[axis])
        case let op where ONNXExportLowering.reduceOps.contains(op):
            if let axes = attributes["axes"]?.ints {
                attributes["axes"] = .ints(try ShapeRules.normalizedAxes(axes, rank: rank).map { perm[$0] })
            } else if inputs.count > 1, !inputs[1].isEmpty {
                guard let t = graph.initializers[inputs[1]] else { return nil }
                let axes = try ShapeRules.normalizedAxes(t.int64s().map { Int($0) }, rank: rank).map { perm[$0] }
                inputs[1] = replacement(inputs[1], Tensor(shape: [axes.count], scalars: axes.map { Int64($0) }))
            }
        case "Slice":
            let axes: [Int]
            if inputs.count > 3, !inputs[3].isEmpty {
                guard let t = graph.initializers[inputs[3]] else { return nil }
                axes = try ShapeRules.normalizedAxes(t.int64s().map { Int($0) }, rank: rank)
            } else {
                guard let count = types[inputs[1]]?.shape?.dims.first?.value, count <= rank else { return nil }
                axes = Array(0..<count)
            }
            let mapped = Tensor(shape: [axes.count], scalars: axes.map { Int64(perm[$0]) })
            if inputs.count > 3, !inputs[3].isEmpty {
                inputs[3] = replacement(inputs[3], mapped)
            } else {
                while inputs.count < 4 { inputs.append("") }
                inputs[3] = add("\(node.name)/axes", mapped)
            }
        case "Pad":
            if inputs.count > 3, !inputs[3].isEmpty {
                guard let t = graph.initializers[inputs[3]] else { return nil }
                let axes = try ShapeRules.normalizedAxes(t.int64s().map { Int($0) }, rank: rank).map { perm[$0] }
                inputs[3] = replacement(inputs[3], Tensor(shape: [axes.count], scalars: axes.map { Int64($0) }))
            } else {
                guard let t = graph.initializers[inputs[1]], t.count == 2 * rank else { return nil }
                let pads = t.int64s()
                var mapped = [Int64](repeating: 0, count: 2 * rank)
                for j in 0..<rank {
                    mapped[perm[j]] = pads[j]
                    mapped[rank + perm[j]] = pads[rank + j]
                }
                inputs[1] = replacement(inputs[1], Tensor(shape: [2 * rank], scalars: mapped))
            }
        default:
            break
        }
        for (i, c) in constants { inputs[i] = try permuted(node.inputs[i], c, perm: perm, keepRank: node.op == "Concat") }

        let y = node.outputs[0]
        let channelsLast = perm == Self.toChannelsLast(rank)
        let inner = unique("\(y)/\(channelsLast ? "channels_first" : "untransposed")")
        if let t = types[y], let s = t.shape, s.rank == rank {
            var dims = s.dims
            for j in 0..<rank { dims[perm[j]] = s.dims[j] }
            types[inner] = ValueType(t.dtype, Shape(dims), layout: nil)
        }
        let moved = Node(name: node.name, op: node.op, inputs: inputs, outputs: [inner], attributes: attributes)
        let after = Node(name: "\(node.name)/\(channelsLast ? "to_channels_last" : "transpose")", op: "Transpose",
                         inputs: [inner], outputs: [y], attributes: ["perm": .ints(perm)])
        transposed[y] = (inner, perm)
        transposes["\(inner)|\(perm)"] = y
        return [moved, after]
    }

    /// A new initializer.
    mutating func add(_ base: String, _ t: Tensor) -> String {
        let name = unique(base)
        graph.initializers[name] = t
        types[name] = ValueType(t.dtype, Shape(t.shape))
        return name
    }

    /// `t` in place of initializer `name`: under the same name when only one node input reads it.
    mutating func replacement(_ name: String, _ t: Tensor) -> String {
        guard reads[name] == 1 else { return add(name, t) }
        graph.initializers[name] = t
        types[name] = ValueType(t.dtype, Shape(t.shape))
        return name
    }

    /// Constant `c` (broadcast against `Transpose(·, perm)`) for the untransposed value: padded to the
    /// rank with leading 1s, transposed by the inverse perm, leading 1s dropped again (unless `keepRank`).
    mutating func permuted(_ name: String, _ c: Tensor, perm: [Int], keepRank: Bool) throws -> String {
        if c.shape.allSatisfy({ $0 == 1 }) { return name }
        let key = "\(name)|\(perm)|\(keepRank)"
        if let done = permutedConstants[key] { return done }
        let rank = perm.count
        let padded = try c.reshaped(Array(repeating: 1, count: rank - c.shape.count) + c.shape)
        var value = try padded.transposed(Self.inverse(perm))
        if !keepRank {
            let lead = value.shape.prefix { $0 == 1 }.count
            value = try value.reshaped(Array(value.shape.dropFirst(lead)))
        }
        let out = replacement(name, value)
        permutedConstants[key] = out
        return out
    }

    // MARK: Transposes before Flatten / Reshape

    /// Whether `Transpose(s, perm)` keeps the order of `s`'s axes of size other than 1 (then it only
    /// relabels the elements' shape).
    static func onlyMovesUnitAxes(_ dims: [Dim], _ perm: [Int]) -> Bool {
        let order = perm.filter { dims[$0] != .known(1) }
        return order == order.sorted()
    }

    /// At a Flatten or Reshape reading a transposed value: drops a transpose that only moves size-1
    /// axes, or (Flatten on axis 1, read only by MatMul / Gemm with constant weights) folds it into
    /// the weights. At a MatMul / Gemm reading such a Flatten: reorders its weight rows.
    mutating func dropOrFold(_ node: inout Node) throws {
        switch node.op {
        case "Flatten", "Reshape":
            guard let x = node.inputs.first, let t = transposed[x], let dims = types[t.source]?.shape?.dims,
                  dims.count == t.perm.count else { return }
            let perm = t.perm
            let yDims = perm.map { dims[$0] }
            if Self.onlyMovesUnitAxes(dims, perm) {
                if node.op == "Flatten" {
                    let axis = node.attributes["axis"]?.int ?? 1
                    let a = axis < 0 ? axis + dims.count : axis
                    guard a >= 0, a <= dims.count else { return }
                    let nonUnit = { (i: Int) in dims[i] != .known(1) }
                    if Set(perm[0..<a].filter(nonUnit)) == Set((0..<a).filter(nonUnit)) {
                        node.inputs[0] = t.source
                        return
                    }
                } else if let target = graph.initializers[node.inputs[1]] {
                    let allowZero = (node.attributes["allowzero"]?.int ?? 0) != 0
                    let copied = allowZero ? [] : target.int64s().enumerated().filter { $0.element == 0 }.map(\.offset)
                    if copied.allSatisfy({ $0 < dims.count && yDims[$0] == dims[$0] }) {
                        node.inputs[0] = t.source
                        return
                    }
                }
            }
            guard node.op == "Flatten", (node.attributes["axis"]?.int ?? 1) == 1, perm.first == 0,
                  !outputs.contains(node.outputs[0]) else { return }
            let inner = dims.dropFirst().map(\.value)
            guard inner.allSatisfy({ $0 != nil }), let users = readers[node.outputs[0]], !users.isEmpty else { return }
            let k = inner.reduce(1) { $0 * $1! }
            for user in users {
                guard user.inputs.count >= 2, user.inputs[0] == node.outputs[0], user.inputs[1] != node.outputs[0],
                      let w = graph.initializers[user.inputs[1]], w.shape.count == 2 else { return }
                switch user.op {
                case "MatMul": guard w.shape[0] == k else { return }
                case "Gemm":
                    guard (user.attributes["transA"]?.int ?? 0) == 0 else { return }
                    guard w.shape[(user.attributes["transB"]?.int ?? 0) == 0 ? 0 : 1] == k else { return }
                default: return
                }
            }
            node.inputs[0] = t.source
            foldedRows[node.outputs[0]] = (inner.map { $0! }, perm)
        case "MatMul", "Gemm":
            guard let x = node.inputs.first, let fold = foldedRows[x], node.inputs.count >= 2,
                  let w = graph.initializers[node.inputs[1]] else { return }
            let transB = node.op == "Gemm" && (node.attributes["transB"]?.int ?? 0) != 0
            let r = fold.perm.count
            let inv = Self.inverse(fold.perm)
            // Rows are indexed by the transposed value's axes 1..<r; reorder them to the source's.
            let yDims = fold.perm.dropFirst().map { fold.dims[$0 - 1] }
            let q = (1..<r).map { inv[$0] - 1 }
            let m = w.shape[transB ? 0 : 1]
            let reordered: Tensor
            if transB {
                reordered = try w.reshaped([m] + yDims).transposed([0] + q.map { $0 + 1 }).reshaped(w.shape)
            } else {
                reordered = try w.reshaped(yDims + [m]).transposed(q + [r - 1]).reshaped(w.shape)
            }
            let key = "\(node.inputs[1])|rows\(fold.perm)|\(transB)"
            if let done = permutedConstants[key] {
                node.inputs[1] = done
            } else {
                let name = replacement(node.inputs[1], reordered)
                permutedConstants[key] = name
                node.inputs[1] = name
            }
        default:
            return
        }
    }
}
