
/// Moves channels-first (NCHW) regions of a graph to channels-last (NHWC), once, when a
/// ``Session`` is created: oneDNN's fast convolutions want channels-last (or blocked) data, and a
/// channels-first convolution reorders its input and output on every run. In a channels-last
/// region the data stays channels-last from one convolution to the next.
///
/// Rank-4 values only. A value of the region is held as `transpose(v, [0,2,3,1])` under a new
/// name; a Transpose into channels-last is inserted where a region reads a value from outside it
/// (a graph input, a node the pass does not know), and one back, under the original name, where
/// something outside reads a region value (graph outputs keep their names). What runs
/// channels-last:
/// - Conv with a constant kernel (`data_format` NHWC, kernel permuted at plan time to
///   TensorFlow's `[kh, kw, C/g, O]`); fused activations are kept.
/// - In gradient graphs, ConvGradInput with a constant kernel (its cotangent and reference input
///   channels-last) and the pool gradients (MaxPoolGrad, AveragePoolGrad, the global ones), so
///   the backward pass of a channels-first model runs channels-last too.
/// - MaxPool (without indices), AveragePool, GlobalAveragePool, GlobalMaxPool (`data_format`),
///   inference BatchNormalization on axis 1 (axis 3).
/// - Ops with the `elementwise` trait (unary maps, Clip, Cast) and the `broadcasting` trait (Add, Mul, Where, comparisons...):
///   constants of lower rank are aligned to rank 4 and permuted (`[C,1,1]` becomes `[1,1,1,C]`).
/// - Concat and Split (axis remapped), Slice and Pad (an `axes` input remapped or added),
///   Resize (an `axes` attribute remapped or added).
/// - A Transpose `[0,3,1,2]` (channels-last to channels-first, as tf2onnx writes after a graph
///   input) and a Transpose `[0,2,3,1]` of a region value are not run: they cancel.
///
/// A region (values connected through channels-last nodes) is rewritten only when it pays: two
/// reorders saved per convolution plus one per cancelled Transpose must outnumber the Transposes
/// it adds (those that only move size-1 axes cost nothing). Regions that do not pay are left as
/// written and the graph is rewritten again without them.
///
/// ``Session/Options/layoutPass`` turns the pass off.
public enum LayoutPass {
    /// `transpose(x, toLast)` is the channels-last form of a rank-4 channels-first `x`.
    static let toLast = [0, 2, 3, 1]
    /// `transpose(y, toFirst)` is the channels-first form of a channels-last `y`; also the
    /// channels-last axis of channels-first axis `a` is `toFirst[a]`.
    static let toFirst = [0, 3, 1, 2]

    public static func apply(_ graph: Graph) -> Graph {
        guard graph.nodes.contains(where: { $0.is(.conv) || $0.is(.convGradInput) }), let types = try? graph.inferTypes() else { return graph }
        var excluded = Set<Int>()
        while true {
            var rewrite = Rewrite(graph, types: types, excluded: excluded)
            rewrite.run()
            let losing = rewrite.unprofitableNodes()
            if losing.isEmpty { return rewrite.changed ? rewrite.finish() : graph }
            excluded.formUnion(losing)
        }
    }

    /// The kernel `[O, C/g, kh, kw]` as `[kh, kw, C/g, O]`.
    static func channelsLastKernel(_ w: Tensor) -> Tensor {
        let s = w.shape
        let (o, c, kh, kw) = (s[0], s[1], s[2], s[3])
        let src = w.scalars(as: Float.self)
        var dst = [Float](repeating: 0, count: src.count)
        dst.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { x in
                for a in 0..<o {
                    for b in 0..<c {
                        for y in 0..<kh {
                            for z in 0..<kw { d[((y * kw + z) * c + b) * o + a] = x[((a * c + b) * kh + y) * kw + z] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [kh, kw, c, o], scalars: dst)
    }
}

/// One rewrite of the graph with the nodes in `excluded` left as written.
private struct Rewrite {
    let g: Graph
    let types: [String: ValueType]
    let excluded: Set<Int>
    /// Constant values: initializers that are not graph inputs, and Constant node outputs.
    let constants: [String: Tensor]

    /// The emitted nodes.
    var nodes: [Node] = []
    /// Where the channels-first form of a value is held (when it differs from its name).
    var plain: [String: String] = [:]
    /// Where the channels-last form of a value is held.
    var nhwc: [String: String] = [:]
    var taken: Set<String>
    /// New initializers, made by ``finish()``.
    var pending: [String: PendingConstant] = [:]
    var constantNames: [String: String] = [:]
    var changed = false

    enum PendingConstant {
        case kernel(String)
        case broadcast(String)
        case tensor(Tensor)
    }

    // Regions: a union-find over region ids with a running balance (reorders saved − Transposes added).
    var parent: [Int] = []
    var balance: [Int] = []
    var regionOfValue: [String: Int] = [:]
    var nodeRegion: [Int: Int] = [:]

    init(_ g: Graph, types: [String: ValueType], excluded: Set<Int>) {
        self.g = g
        self.types = types
        self.excluded = excluded
        let inputs = Set(g.inputs.map(\.name))
        var constants = g.initializers.filter { !inputs.contains($0.key) }
        for node in g.nodes where node.is(.constant) {
            if let t = node.attributes["value"]?.tensor, let o = node.outputs.first { constants[o] = t }
        }
        self.constants = constants
        taken = inputs.union(g.initializers.keys).union(g.nodes.flatMap(\.outputs)).union(g.outputs.map(\.name))
    }

    // MARK: Regions

    mutating func newRegion(_ gain: Int = 0) -> Int {
        parent.append(parent.count)
        balance.append(gain)
        return parent.count - 1
    }

    mutating func find(_ r: Int) -> Int {
        var r = r
        while parent[r] != r { parent[r] = parent[parent[r]]; r = parent[r] }
        return r
    }

    mutating func union(_ a: Int, _ b: Int) -> Int {
        let (ra, rb) = (find(a), find(b))
        guard ra != rb else { return ra }
        parent[rb] = ra
        balance[ra] += balance[rb]
        balance[rb] = 0
        return ra
    }

    mutating func add(_ delta: Int, to region: Int?) {
        guard let region else { return }
        let r = find(region)
        balance[r] += delta
    }

    /// Nodes of regions that do not pay.
    mutating func unprofitableNodes() -> Set<Int> {
        var out = Set<Int>()
        for (node, r) in nodeRegion where balance[find(r)] <= 0 { out.insert(node) }
        return out
    }

    // MARK: Values

    func rank(_ v: String) -> Int? { types[v]?.shape?.rank }

    func dims(_ v: String) -> [Int?]? { types[v]?.shape?.dims.map(\.value) }

    /// A Transpose between the two layouts that moves only size-1 axes is a reshape (free).
    func transposeIsFree(_ v: String) -> Bool {
        guard let d = dims(v), d.count == 4 else { return false }
        return d[1] == 1 || (d[2] == 1 && d[3] == 1)
    }

    /// Every dimension known to be 1 (or a scalar): the same in either layout.
    func isNeutral(_ v: String) -> Bool {
        guard let d = dims(v) else { return false }
        return d.allSatisfy { $0 == 1 }
    }

    mutating func fresh(_ base: String) -> String {
        var name = base, i = 1
        while taken.contains(name) { i += 1; name = "\(base)_\(i)" }
        taken.insert(name)
        return name
    }

    /// The name holding `v` channels-first, emitting a Transpose back when only the channels-last form exists.
    mutating func plainName(_ v: String) -> String {
        if v.isEmpty { return v }
        if let p = plain[v] { return p }
        guard let n = nhwc[v] else { return v }
        nodes.append(Node(name: v + "/to_nchw", op: OpDefinition.transpose.name, inputs: [n], outputs: [v],
                          attributes: ["perm": .ints(LayoutPass.toFirst)]))
        plain[v] = v
        if !transposeIsFree(v) { add(-1, to: regionOfValue[v]) }
        return v
    }

    /// The name holding `v` channels-last, emitting a Transpose into it for `region` when needed.
    mutating func nhwcName(_ v: String, region: Int) -> String {
        if let n = nhwc[v] { return n }
        if constants[v] != nil { return constant(v, .broadcast(v)) }
        let p = plainName(v)
        plain[v] = p
        let name = fresh(v + "/nhwc")
        nodes.append(Node(name: name, op: OpDefinition.transpose.name, inputs: [p], outputs: [name], attributes: ["perm": .ints(LayoutPass.toLast)]))
        nhwc[v] = name
        regionOfValue[v] = region
        if !transposeIsFree(v) { add(-1, to: region) }
        return name
    }

    mutating func constant(_ source: String, _ make: PendingConstant) -> String {
        let key: String
        switch make {
        case .kernel(let s): key = "kernel:" + s
        case .broadcast(let s): key = "broadcast:" + s
        case .tensor: key = ""
        }
        if !key.isEmpty, let name = constantNames[key] { return name }
        let name = fresh(source + "/nhwc")
        pending[name] = make
        if !key.isEmpty { constantNames[key] = name }
        return name
    }

    mutating func axesConstant(_ source: String, _ axes: [Int], like t: Tensor?) -> String {
        let values = axes.map { LayoutPass.toFirst[$0] }
        let tensor = t?.dtype == .int32 ? Tensor(shape: [values.count], scalars: values.map { Int32($0) })
                                        : Tensor(shape: [values.count], scalars: values.map { Int64($0) })
        return constant(source, .tensor(tensor))
    }

    // MARK: Nodes

    /// How a node runs channels-last: the input positions read channels-last (the others as
    /// written), its new attributes, and inputs replaced by new constants.
    struct Conversion {
        var nhwcInputs: [Int]
        var attributes: [String: Attribute]
        var replace: [Int: String] = [:]
        var isConv = false
    }

    func normalizedAxis(_ a: Int) -> Int? {
        let v = a < 0 ? a + 4 : a
        return (0..<4).contains(v) ? v : nil
    }

    func constantAxes(_ v: String) -> [Int]? {
        guard let t = constants[v], t.dtype == .int64 || t.dtype == .int32, t.shape.count <= 1 else { return nil }
        let values = t.int64s().map { normalizedAxis(Int($0)) }
        guard values.allSatisfy({ $0 != nil }) else { return nil }
        return values.map { $0! }
    }

    /// The channels-last form of `node`, when it has one and its inputs allow it.
    mutating func plan(_ node: Node) -> Conversion? {
        let x = node.inputs.first ?? ""
        let channelsFirst = (node.attributes["data_format"]?.string ?? DataFormat.channelsFirst.rawValue) == DataFormat.channelsFirst.rawValue
        let outputs = node.outputs.filter { !$0.isEmpty }
        guard !x.isEmpty, !outputs.isEmpty, outputs.allSatisfy({ rank($0) == 4 }) else { return nil }
        var attributes = node.attributes
        let available = nhwc[x] != nil
        switch node.op {
        case OpDefinition.conv.name, OpDefinition.convGradInput.name:
            // Conv(x, w[, b]) and ConvGradInput(dy, w, x): the kernel is input 1 in both.
            let isGrad = node.is(.convGradInput)
            guard channelsFirst, node.outputs.count == 1, rank(x) == 4, node.inputs.count >= 2,
                  let w = constants[node.inputs[1]], w.dtype == .float32, w.shape.count == 4 else { return nil }
            if isGrad { guard rank(node.inputs[2]) == 4 else { return nil } }
            attributes["data_format"] = .string(DataFormat.channelsLast.rawValue)
            return Conversion(nhwcInputs: isGrad ? [0, 2] : [0], attributes: attributes,
                              replace: [1: constant(node.inputs[1], .kernel(node.inputs[1]))], isConv: true)
        case OpDefinition.maxPool.name, OpDefinition.averagePool.name, OpDefinition.globalAveragePool.name,
             OpDefinition.globalMaxPool.name:
            guard available, channelsFirst, outputs.count == 1, node.outputs[0] == outputs[0] else { return nil }
            attributes["data_format"] = .string(DataFormat.channelsLast.rawValue)
            return Conversion(nhwcInputs: [0], attributes: attributes)
        case OpDefinition.maxPoolGrad.name, OpDefinition.averagePoolGrad.name, OpDefinition.globalAveragePoolGrad.name,
             OpDefinition.globalMaxPoolGrad.name:
            // (dy, x): both channels-last.
            guard channelsFirst, node.inputs.count == 2, rank(node.inputs[1]) == 4,
                  nhwc[node.inputs[0]] != nil || nhwc[node.inputs[1]] != nil else { return nil }
            attributes["data_format"] = .string(DataFormat.channelsLast.rawValue)
            return Conversion(nhwcInputs: [0, 1], attributes: attributes)
        case OpDefinition.batchNormalization.name:
            guard available, outputs.count == 1, node.outputs[0] == outputs[0], node.attributes["training_mode"]?.int ?? 0 == 0,
                  normalizedAxis(node.attributes["axis"]?.int ?? 1) == 1 else { return nil }
            attributes["axis"] = .int(3)
            return Conversion(nhwcInputs: [0], attributes: attributes)
        case _ where node.definition?.traits.contains(.elementwise) ?? false:
            guard available, node.inputs.dropFirst().allSatisfy({ $0.isEmpty || constants[$0] != nil || isNeutral($0) }) else { return nil }
            return Conversion(nhwcInputs: [0], attributes: attributes)
        case _ where node.definition?.traits.contains(.broadcasting) ?? false:
            var converted: [Int] = []
            var any = false
            for (i, v) in node.inputs.enumerated() where !v.isEmpty {
                if nhwc[v] != nil {
                    any = true
                    converted.append(i)
                } else if let c = constants[v] {
                    guard c.shape.count <= 4 else { return nil }
                    if !c.shape.allSatisfy({ $0 == 1 }) { converted.append(i) }
                } else if isNeutral(v) {
                    continue
                } else if rank(v) == 4 {
                    converted.append(i)
                } else {
                    return nil
                }
            }
            guard any else { return nil }
            return Conversion(nhwcInputs: converted, attributes: attributes)
        case OpDefinition.concat.name:
            guard let a = node.attributes["axis"]?.int, let axis = normalizedAxis(a),
                  node.inputs.contains(where: { nhwc[$0] != nil }),
                  node.inputs.allSatisfy({ !$0.isEmpty && rank($0) == 4 }) else { return nil }
            attributes["axis"] = .int(LayoutPass.toFirst[axis])
            return Conversion(nhwcInputs: Array(node.inputs.indices), attributes: attributes)
        case OpDefinition.split.name:
            guard available, let axis = normalizedAxis(node.attributes["axis"]?.int ?? 0) else { return nil }
            attributes["axis"] = .int(LayoutPass.toFirst[axis])
            return Conversion(nhwcInputs: [0], attributes: attributes)
        case OpDefinition.slice.name, OpDefinition.pad.name:
            // Both take an optional `axes` input (position 3): remapped, or added when absent.
            guard available, node.inputs.count >= (node.is(.slice) ? 3 : 2) else { return nil }
            let axesName: String
            if node.inputs.count > 3, !node.inputs[3].isEmpty {
                guard let axes = constantAxes(node.inputs[3]) else { return nil }
                axesName = axesConstant(node.inputs[3], axes, like: constants[node.inputs[3]])
            } else if node.is(.pad) {
                axesName = axesConstant(node.name + "/axes", Array(0..<4), like: nil)
            } else {
                // Slice's default axes are the first len(starts).
                var count = constants[node.inputs[1]]?.count
                if count == nil, let d = dims(node.inputs[1]), d.count == 1 { count = d[0] }
                guard let count, count <= 4 else { return nil }
                axesName = axesConstant(node.name + "/axes", Array(0..<count), like: constants[node.inputs[1]])
            }
            return Conversion(nhwcInputs: [0], attributes: attributes, replace: [3: axesName])
        case OpDefinition.resize.name:
            guard available else { return nil }
            let axes = node.attributes["axes"]?.ints.map { $0.map(normalizedAxis) } ?? (0..<4).map { Optional($0) }
            guard axes.allSatisfy({ $0 != nil }) else { return nil }
            attributes["axes"] = .ints(axes.map { LayoutPass.toFirst[$0!] })
            return Conversion(nhwcInputs: [0], attributes: attributes)
        default:
            return nil
        }
    }

    mutating func run() {
        for (index, node) in g.nodes.enumerated() {
            if !excluded.contains(index), cancelTranspose(node, index: index) { continue }
            if !excluded.contains(index), let p = plan(node) {
                let (nhwcInputs, replace) = (p.nhwcInputs, p.replace)
                // The node joins the regions of the channels-last values it reads (or starts one).
                var region: Int? = nil
                for i in nhwcInputs {
                    guard nhwc[node.inputs[i]] != nil, let r = regionOfValue[node.inputs[i]] else { continue }
                    region = region.map { union($0, r) } ?? r
                }
                let r = region ?? newRegion()
                if p.isConv { add(2, to: r) }
                var new = node
                new.attributes = p.attributes
                for (i, v) in node.inputs.enumerated() {
                    if let name = replace[i] {
                        while new.inputs.count <= i { new.inputs.append("") }
                        new.inputs[i] = name
                    } else if nhwcInputs.contains(i) {
                        new.inputs[i] = nhwcName(v, region: r)
                    } else {
                        new.inputs[i] = plainName(v)
                    }
                }
                for (i, name) in replace where i >= node.inputs.count {
                    while new.inputs.count <= i { new.inputs.append("") }
                    new.inputs[i] = name
                }
                for (i, o) in node.outputs.enumerated() where !o.isEmpty {
                    let name = fresh(o + "/nhwc")
                    new.outputs[i] = name
                    nhwc[o] = name
                    regionOfValue[o] = r
                }
                nodeRegion[index] = r
                nodes.append(new)
                changed = true
                continue
            }
            var new = node
            new.inputs = node.inputs.map { plainName($0) }
            nodes.append(new)
        }
        for o in g.outputs {
            let p = plainName(o.name)
            if p != o.name {
                nodes.append(Node(name: o.name + "/alias", op: OpDefinition.identity.name, inputs: [p], outputs: [o.name]))
                plain[o.name] = o.name
            }
        }
    }

    /// A Transpose that undoes or redoes the channels-last permutation becomes an alias.
    mutating func cancelTranspose(_ node: Node, index: Int) -> Bool {
        guard node.is(.transpose), node.inputs.count == 1, node.outputs.count == 1,
              let perm = node.attributes["perm"]?.ints, rank(node.inputs[0]) == 4 else { return false }
        let (x, y) = (node.inputs[0], node.outputs[0])
        if perm == LayoutPass.toLast, let n = nhwc[x] {
            // transpose(x, toLast) is x's channels-last form: y is held there.
            plain[y] = n
            if let r = regionOfValue[x] {
                add(1, to: r)
                nodeRegion[index] = r
            }
            changed = true
            return true
        }
        if perm == LayoutPass.toFirst, nhwc[x] == nil {
            // y = transpose(x, toFirst): x is y's channels-last form.
            let r = newRegion(transposeIsFree(y) ? 0 : 1)
            nhwc[y] = plainName(x)
            regionOfValue[y] = r
            nodeRegion[index] = r
            changed = true
            return true
        }
        return false
    }

    /// The rewritten graph, with the new constants made and unused initializers dropped.
    func finish() -> Graph {
        var out = g
        out.nodes = nodes
        for (name, make) in pending {
            switch make {
            case .kernel(let s):
                out.initializers[name] = LayoutPass.channelsLastKernel(constants[s]!)
            case .broadcast(let s):
                let c = constants[s]!
                let aligned = (try? c.reshaped(Array(repeating: 1, count: 4 - c.shape.count) + c.shape)) ?? c
                out.initializers[name] = (try? aligned.transposed(LayoutPass.toLast)) ?? aligned
            case .tensor(let t):
                out.initializers[name] = t
            }
        }
        var used = Set(out.outputs.map(\.name))
        for node in out.nodes { used.formUnion(node.inputs) }
        let inputs = Set(out.inputs.map(\.name))
        for name in out.initializers.keys where !used.contains(name) && !inputs.contains(name) { out.initializers[name] = nil }
        return out
    }
}
