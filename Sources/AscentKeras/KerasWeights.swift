import AscentIR

/// Where a Keras file keeps each layer's weights.
protocol KerasWeightStore {
    /// The weights of layer `name`, in Keras order (trainable, then non-trainable); empty
    /// when the layer has none. `scope` names the nested models the layer sits in,
    /// outermost first (empty at the top level).
    func weights(forLayer name: String, scope: [String]) throws -> [Tensor]
}

/// Legacy HDF5 (`model.save("x.h5")` and `save_weights("x.h5")`): a group per layer name
/// with a `weight_names` attribute listing dataset paths relative to that group.
struct LegacyH5Weights: KerasWeightStore {
    let file: HDF5File
    /// `/model_weights` for full models, `/` for weights-only files.
    let root: String

    /// A nested model's weights all sit in the group of its outermost model, named
    /// `<inner layer>/<weight>` (Keras 2) or `<inner model>/<inner layer>/<weight>` (Keras 3);
    /// a top-level layer's in its own group.
    func weights(forLayer name: String, scope: [String]) throws -> [Tensor] {
        let path = (root == "/" ? "" : root) + "/" + (scope.first ?? name)
        guard try file.kind(at: path) == .group else { return [] }
        let group = try file.group(at: path)
        var names = try stringList(group, "weight_names")
        if !scope.isEmpty { names = names.filter { $0.split(separator: "/").dropLast().contains(Substring(name)) } }
        return try names.map { try readTensor(try group.dataset($0)) }
    }
}

/// Keras 3 weights (`model.weights.h5` inside `.keras`, or a `.weights.h5` file):
/// `layers/<snake_case class>[_N]/vars/<i>`, each `vars` group naming its layer in the
/// attribute `name`; a nested model's layers under its own `layers/<model>/layers/...`; a layer's
/// sub-objects (a recurrent layer's `cell`, `Bidirectional`'s `forward_layer` and
/// `backward_layer`, `TimeDistributed`'s `layer`) in subgroups of its group, each with `vars`.
struct Keras3Weights: KerasWeightStore {
    let file: HDF5File
    /// Layer path (nested models' names, then the layer's, joined by `/`) → its `vars` groups, in order.
    private(set) var varsByPath: [String: [String]] = [:]
    /// Layer name → its `vars` groups, the first layer of that name found (for stores whose nesting
    /// does not follow the config's).
    private(set) var varsByLayer: [String: [String]] = [:]

    init(file: HDF5File) throws {
        self.file = file
        guard try file.kind(at: "/layers") == .group else { return }
        try index(try file.group(at: "/layers"), scope: [])
    }

    private mutating func index(_ layers: HDF5Group, scope: [String]) throws {
        guard scope.count < KerasModelSpec.maxDepth else { throw AscentError.invalid("weights nested too deep") }
        for child in try layers.children() where child.kind == .group {
            let layerPath = layers.path + "/" + child.name
            var name = child.name
            if try file.kind(at: layerPath + "/vars") == .group {
                let vars = try file.group(at: layerPath + "/vars")
                if try vars.hasAttribute("name"), case .string(let real) = try vars.attribute("name") { name = real }
            }
            let groups = try varsGroups(layerPath, depth: 0)
            varsByPath[(scope + [name]).joined(separator: "/")] = groups
            if varsByLayer[name] == nil { varsByLayer[name] = groups }
            if try file.kind(at: layerPath + "/layers") == .group {
                try index(try file.group(at: layerPath + "/layers"), scope: scope + [name])
            }
        }
    }

    /// The `vars` groups of the object at `path` and of its sub-objects (not its nested `layers`):
    /// its own first, then in Keras's attribute order where names sort otherwise (`forward_layer`
    /// before `backward_layer`; MultiHeadAttention's query, key, value, output), then the others by name.
    private func varsGroups(_ path: String, depth: Int) throws -> [String] {
        guard depth < KerasModelSpec.maxDepth else { throw AscentError.invalid("weights nested too deep") }
        var out: [String] = []
        if try file.kind(at: path + "/vars") == .group { out.append(path + "/vars") }
        let order = ["forward_layer": 0, "backward_layer": 1, "query_dense": 2, "key_dense": 3, "value_dense": 4, "output_dense": 5]
        let subobjects = try file.group(at: path).children()
            .filter { $0.kind == .group && $0.name != "vars" && $0.name != "layers" }
            .sorted { (order[String($0.name.drop { $0 == "_" })] ?? 6, $0.name) < (order[String($1.name.drop { $0 == "_" })] ?? 6, $1.name) }
        for child in subobjects { out += try varsGroups(path + "/" + child.name, depth: depth + 1) }
        return out
    }

    func weights(forLayer name: String, scope: [String]) throws -> [Tensor] {
        guard let groups = varsByPath[(scope + [name]).joined(separator: "/")] ?? varsByLayer[name] else { return [] }
        return try groups.flatMap { path in
            let vars = try file.group(at: path)
            let indexed = try vars.children().filter { $0.kind == .dataset }.compactMap { c in Int(c.name).map { ($0, c.name) } }
            return try indexed.sorted { $0.0 < $1.0 }.map { try readTensor(try vars.dataset($0.1)) }
        }
    }
}

/// A string-list attribute, joining the `<name>0`, `<name>1`... chunks Keras writes for
/// attributes over 64 KB.
func stringList(_ object: HDF5Object, _ name: String) throws -> [String] {
    if try object.hasAttribute(name) { return try strings(try object.attribute(name), name) }
    var out: [String] = []
    var i = 0
    while try object.hasAttribute("\(name)\(i)") {
        out += try strings(try object.attribute("\(name)\(i)"), name)
        i += 1
    }
    return out
}

private func strings(_ value: HDF5Value, _ name: String) throws -> [String] {
    switch value {
    case .string(let s): return [s]
    case .strings(let list, _): return list
    case .empty: return []
    case .floats(let v, _) where v.isEmpty: return []
    case .integers(let v, _) where v.isEmpty: return []
    default: throw AscentError.invalid("attribute '\(name)' is not a list of strings")
    }
}

/// A string attribute, or nil when absent.
func stringAttribute(_ object: HDF5Object, _ name: String) throws -> String? {
    guard try object.hasAttribute(name) else { return nil }
    if case .string(let s) = try object.attribute(name) { return s }
    if case .strings(let list, _) = try object.attribute(name), list.count == 1 { return list[0] }
    throw AscentError.invalid("attribute '\(name)' is not a string")
}

/// A dataset as a tensor of the matching dtype (bfloat16 when Keras marked it so).
func readTensor(_ d: HDF5Dataset) throws -> Tensor {
    let dtype: DType
    switch d.elementType {
    case .float(2): dtype = (try stringAttribute(d, "dtype")) == "bfloat16" ? .bfloat16 : .float16
    case .float(4): dtype = .float32
    case .float(8): dtype = .float64
    case .signedInteger(1): dtype = .int8
    case .signedInteger(2): dtype = .int16
    case .signedInteger(4): dtype = .int32
    case .signedInteger(8): dtype = .int64
    case .unsignedInteger(1): dtype = .uint8
    case .unsignedInteger(2) where (try stringAttribute(d, "dtype")) == "bfloat16": dtype = .bfloat16
    case .boolean: dtype = .bool
    default: throw AscentError.invalid("dataset \(d.path) has element type \(d.elementType), which Ascent cannot read")
    }
    return try Tensor(dtype: dtype, shape: d.shape, storage: try d.readStorage())
}
