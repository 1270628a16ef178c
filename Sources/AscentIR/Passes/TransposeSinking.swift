/// One forward sweep over the nodes that pushes transposes down, composes and merges them, and
/// drops or folds the ones that reach a Flatten / Reshape (the ONNX exporter runs it to keep channels-last models's transposes at their ends). Nodes it
/// leaves unread are removed afterwards by ``GraphCleanup/removeDead(_:)``.
public struct TransposeSinking {
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
    var names: UniqueNames
    /// Names made unique with a suffix, and the name each was meant to have.
    public var suffixed: [String: String] { names.suffixed }

    public init(_ graph: Graph) throws {
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
        names = UniqueNames(graph)
    }

    mutating func unique(_ base: String) -> String { names.fresh(base) }

    /// The perm that moves channels first to channels last (`[0, 2, ..., r-1, 1]`).
    static func toChannelsLast(_ rank: Int) -> [Int] { rank < 3 ? [] : [0] + Array(2..<rank) + [1] }

    public mutating func run() throws -> Graph {
        for var node in graph.nodes {
            node.inputs = node.inputs.map { alias[$0] ?? $0 }
            if node.is(.transpose) {
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
                nodes.append(Node(name: node.name, op: OpDefinition.identity.name, inputs: [source], outputs: [y]))
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

    /// The inputs of `node` that carry its data (the ones a transpose can be pushed through), or nil
    /// when the node is not layout-agnostic.
    static func dataInputs(_ node: Node) -> [Int]? {
        guard let definition = node.definition else { return nil }
        let traits = definition.traits
        if traits.contains(.elementwise) || [OpDefinition.softmax, .logSoftmax, .slice, .pad].contains(definition) { return [0] }
        if traits.contains(.broadcasting) || definition == .concat { return Array(node.inputs.indices) }
        if traits.contains(.reduction), (node.attributes["keepdims"]?.int ?? 1) != 0 { return [0] }
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
            } else if let c = graph.initializers[v], c.shape.count <= rank, !node.is(.concat) || c.shape.count == rank {
                constants.append((i, c))
            } else if let s = types[v]?.shape, s.rank <= rank, s.dims.allSatisfy({ $0 == .known(1) }), !node.is(.concat) {
                continue
            } else {
                return nil
            }
        }
        var attributes = node.attributes
        switch node.op {
        case OpDefinition.softmax.name, OpDefinition.logSoftmax.name, OpDefinition.concat.name:
            let axis = try ShapeRules.axis(attributes["axis"]?.int ?? (node.is(.concat) ? 0 : -1), rank: rank)
            attributes["axis"] = .int(perm[axis])
        case _ where node.definition?.traits.contains(.reduction) ?? false:
            if let axes = attributes["axes"]?.ints {
                attributes["axes"] = .ints(try ShapeRules.normalizedAxes(axes, rank: rank).map { perm[$0] })
            } else if inputs.count > 1, !inputs[1].isEmpty {
                guard let t = graph.initializers[inputs[1]] else { return nil }
                let axes = try ShapeRules.normalizedAxes(t.int64s().map { Int($0) }, rank: rank).map { perm[$0] }
                inputs[1] = replacement(inputs[1], Tensor(shape: [axes.count], scalars: axes.map { Int64($0) }))
            }
        case OpDefinition.slice.name:
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
        case OpDefinition.pad.name:
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
        for (i, c) in constants { inputs[i] = try permuted(node.inputs[i], c, perm: perm, keepRank: node.is(.concat)) }

        let y = node.outputs[0]
        let channelsLast = perm == Self.toChannelsLast(rank)
        let inner = unique("\(y)/\(channelsLast ? "channels_first" : "untransposed")")
        if let t = types[y], let s = t.shape, s.rank == rank {
            var dims = s.dims
            for j in 0..<rank { dims[perm[j]] = s.dims[j] }
            types[inner] = ValueType(t.dtype, Shape(dims), layout: nil)
        }
        let moved = Node(name: node.name, op: node.op, inputs: inputs, outputs: [inner], attributes: attributes)
        let after = Node(name: "\(node.name)/\(channelsLast ? "to_channels_last" : "transpose")", op: OpDefinition.transpose.name,
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
        var value = try padded.transposed(ShapeRules.inverse(perm))
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
        case OpDefinition.flatten.name, OpDefinition.reshape.name:
            guard let x = node.inputs.first, let t = transposed[x], let dims = types[t.source]?.shape?.dims,
                  dims.count == t.perm.count else { return }
            let perm = t.perm
            let yDims = perm.map { dims[$0] }
            if Self.onlyMovesUnitAxes(dims, perm) {
                if node.is(.flatten) {
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
            guard node.is(.flatten), (node.attributes["axis"]?.int ?? 1) == 1, perm.first == 0,
                  !outputs.contains(node.outputs[0]) else { return }
            let inner = dims.dropFirst().map(\.value)
            guard inner.allSatisfy({ $0 != nil }), let users = readers[node.outputs[0]], !users.isEmpty else { return }
            let k = inner.reduce(1) { $0 * $1! }
            for user in users {
                guard user.inputs.count >= 2, user.inputs[0] == node.outputs[0], user.inputs[1] != node.outputs[0],
                      let w = graph.initializers[user.inputs[1]], w.shape.count == 2 else { return }
                switch user.op {
                case OpDefinition.matMul.name: guard w.shape[0] == k else { return }
                case OpDefinition.gemm.name:
                    guard (user.attributes["transA"]?.int ?? 0) == 0 else { return }
                    guard w.shape[(user.attributes["transB"]?.int ?? 0) == 0 ? 0 : 1] == k else { return }
                default: return
                }
            }
            node.inputs[0] = t.source
            foldedRows[node.outputs[0]] = (inner.map { $0! }, perm)
        case OpDefinition.matMul.name, OpDefinition.gemm.name:
            guard let x = node.inputs.first, let fold = foldedRows[x], node.inputs.count >= 2,
                  let w = graph.initializers[node.inputs[1]] else { return }
            let transB = node.is(.gemm) && (node.attributes["transB"]?.int ?? 0) != 0
            let r = fold.perm.count
            let inv = ShapeRules.inverse(fold.perm)
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
