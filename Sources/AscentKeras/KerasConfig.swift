import AscentIR

/// A reference to one output tensor of one call of a layer: Keras's `keras_history`
/// `[layer, node_index, tensor_index]`.
struct KerasTensorRef: Hashable, Sendable, CustomStringConvertible {
    var layer: String
    var node: Int
    var tensor: Int

    var description: String { "\(layer)[\(node)][\(tensor)]" }
}

/// One layer of a model config, with its call sites.
struct KerasLayerSpec: Sendable {
    var className: String
    var name: String
    var config: JSONValue
    /// One entry per call site: the tensors passed to that call, in order.
    var calls: [[KerasTensorRef]]
    /// Node index of call 0 in references to this layer's outputs: 1 for models used as
    /// layers in Keras 2 configs (their node 0 is their own construction), else 0.
    var nodeOffset = 0
    /// Where the class is defined (`keras.layers`, `keras.src.ops.numpy`...); nil in Keras 2 configs.
    var module: String? = nil
    /// Per call site: the positional `args` list as written (Keras 3; `.null` in Keras 2), where
    /// constants sit between the tensors (`x + 3.0` saves `[<tensor>, 3.0]`).
    var arguments: [JSONValue] = []
    /// Per call site: the `kwargs` object as saved (Keras 3), tensors and flags alike.
    var keywordArguments: [JSONValue] = []
    /// Per call site: tensors passed as keyword arguments (`mask`, `initial_state`...), in order.
    var keywordInputs: [[String: [KerasTensorRef]]] = []

    /// Every tensor call `index` needs: the positional ones, then the keyword ones.
    func allInputs(_ index: Int) -> [KerasTensorRef] {
        calls[index] + (index < keywordInputs.count ? keywordInputs[index].keys.sorted().flatMap { keywordInputs[index][$0]! } : [])
    }

    /// A Keras 3 op node (`keras.src.ops...`: `x + 3.0`, `ops.not_equal(x, 0)`), not a layer.
    var isOperation = false
}

/// A model config (`Sequential`, `Functional` or `Model`) in any Keras 2.0–3.x dialect,
/// normalized to a list of layers with explicit call sites.
struct KerasModelSpec: Sendable {
    var className: String
    var name: String
    var layers: [KerasLayerSpec]
    var inputs: [KerasTensorRef]
    var outputs: [KerasTensorRef]

    /// Nesting depth limit for models used as layers (hostile configs).
    static let maxDepth = 32

    /// Parses `{"class_name": ..., "config": ...}`.
    init(_ json: JSONValue, depth: Int = 0) throws {
        guard depth <= KerasModelSpec.maxDepth else {
            throw AscentError.invalid("models are nested more than \(KerasModelSpec.maxDepth) deep")
        }
        guard let className = json["class_name"].string else {
            throw AscentError.invalid("model config has no 'class_name'")
        }
        let config = json["config"]
        switch className {
        case "Sequential":
            self = try KerasModelSpec.sequential(config, className: className)
        case "Functional", "Model":
            self = try KerasModelSpec.functional(config, className: className)
        default:
            throw AscentError.invalid("model class '\(className)' is not Sequential, Functional or Model")
        }
    }

    private init(className: String, name: String, layers: [KerasLayerSpec], inputs: [KerasTensorRef], outputs: [KerasTensorRef]) {
        self.className = className
        self.name = name
        self.layers = layers
        self.inputs = inputs
        self.outputs = outputs
    }

    private static func sequential(_ config: JSONValue, className: String) throws -> KerasModelSpec {
        // Keras 2.0/2.1 wrote the layer list itself; later versions {"name", "layers"}.
        let layerList = config.array ?? config["layers"].array ?? []
        let name = config["name"].string ?? "sequential"
        var layers: [KerasLayerSpec] = []
        var previous: KerasTensorRef? = nil
        for (i, item) in layerList.enumerated() {
            guard let cls = item["class_name"].string else {
                throw AscentError.invalid("layer \(i) of Sequential '\(name)' has no class_name")
            }
            let cfg = item["config"]
            let layerName = cfg["name"].string ?? item["name"].string ?? "\(cls.lowercased())_\(i)"
            if cls == "InputLayer" {
                layers.append(KerasLayerSpec(className: cls, name: layerName, config: cfg, calls: []))
                previous = KerasTensorRef(layer: layerName, node: 0, tensor: 0)
                continue
            }
            if previous == nil {
                // No InputLayer: Keras built one from the first layer's batch input shape.
                let shape = cfg["batch_input_shape"].isNull ? cfg["batch_shape"] : cfg["batch_input_shape"]
                guard !shape.isNull else {
                    throw AscentError.invalid("Sequential '\(name)' has no input shape (no InputLayer, no batch_input_shape)")
                }
                let inputName = "\(layerName)_input"
                let inputConfig = JSONValue.object(["batch_shape": shape, "dtype": cfg["dtype"], "name": .string(inputName)])
                layers.append(KerasLayerSpec(className: "InputLayer", name: inputName, config: inputConfig, calls: []))
                previous = KerasTensorRef(layer: inputName, node: 0, tensor: 0)
            }
            layers.append(KerasLayerSpec(className: cls, name: layerName, config: isModel(cls) ? item : cfg, calls: [[previous!]]))
            previous = KerasTensorRef(layer: layerName, node: 0, tensor: 0)
        }
        guard let input = layers.first, let last = previous else {
            throw AscentError.invalid("Sequential '\(name)' has no layers")
        }
        return KerasModelSpec(className: className, name: name, layers: layers,
                              inputs: [KerasTensorRef(layer: input.name, node: 0, tensor: 0)], outputs: [last])
    }

    private static func functional(_ config: JSONValue, className: String) throws -> KerasModelSpec {
        let name = config["name"].string ?? "model"
        guard let layerList = config["layers"].array else {
            throw AscentError.invalid("model '\(name)' has no 'layers' list")
        }
        let layers = try layerList.enumerated().map { i, item in
            guard let cls = item["class_name"].string else {
                throw AscentError.invalid("layer \(i) of model '\(name)' has no class_name")
            }
            guard let layerName = item["name"].string ?? item["config"]["name"].string else {
                throw AscentError.invalid("layer \(i) (\(cls)) of model '\(name)' has no name")
            }
            let inbound = item["inbound_nodes"].array ?? []
            let calls = try inbound.map { try KerasModelSpec.callInputs($0, layer: layerName) }
            var spec = KerasLayerSpec(className: cls, name: layerName, config: isModel(cls) ? item : item["config"], calls: calls)
            if isModel(cls), inbound.first?.array != nil { spec.nodeOffset = 1 }
            spec.module = item["module"].string
            // Keras 3's legacy .h5 writer drops `module`; an op's config has no `trainable`, a layer's always does.
            spec.isOperation = spec.module.map { $0.hasPrefix("keras.src.ops") }
                ?? (inbound.first?.object != nil && !isModel(cls) && item["config"]["trainable"].isNull)
            spec.arguments = inbound.map { $0["args"] }
            spec.keywordArguments = inbound.map { $0["kwargs"] }
            spec.keywordInputs = inbound.map(KerasModelSpec.keywordInputs)
            return spec
        }
        let inputs = try KerasModelSpec.refs(config["input_layers"], what: "input_layers")
        let outputs = try KerasModelSpec.refs(config["output_layers"], what: "output_layers")
        guard !inputs.isEmpty, !outputs.isEmpty else {
            throw AscentError.invalid("model '\(name)' has no input_layers or output_layers")
        }
        return KerasModelSpec(className: className, name: name, layers: layers, inputs: inputs, outputs: outputs)
    }

    /// The tensors passed to one call, from either dialect:
    /// Keras 2 `[["layer", node, tensor, {kwargs}], ...]`;
    /// Keras 3 `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` objects (possibly in lists).
    static func callInputs(_ call: JSONValue, layer: String) throws -> [KerasTensorRef] {
        if let list = call.array {
            return try list.map { entry in
                guard let l = entry[0].string, let n = entry[1].int, let t = entry[2].int else {
                    throw AscentError.invalid("layer '\(layer)': malformed inbound node \(entry)")
                }
                return KerasTensorRef(layer: l, node: n, tensor: t)
            }
        }
        guard call.object != nil else { throw AscentError.invalid("layer '\(layer)': malformed inbound node") }
        var refs: [KerasTensorRef] = []
        func collect(_ v: JSONValue) {
            if let ref = tensorRef(v) {
                refs.append(ref)
            } else if let a = v.array {
                a.forEach(collect)
            }
        }
        collect(call["args"])
        return refs
    }

    /// A `__keras_tensor__` object as a reference, or nil for anything else.
    static func tensorRef(_ v: JSONValue) -> KerasTensorRef? {
        guard v["class_name"].string == "__keras_tensor__" else { return nil }
        let h = v["config"]["keras_history"]
        guard let l = h[0].string, let n = h[1].int, let t = h[2].int else { return nil }
        return KerasTensorRef(layer: l, node: n, tensor: t)
    }

    /// The tensors of a Keras 3 call's `kwargs` (a tensor or a list of tensors per keyword).
    static func keywordInputs(_ call: JSONValue) -> [String: [KerasTensorRef]] {
        var out: [String: [KerasTensorRef]] = [:]
        for (key, v) in call["kwargs"].object ?? [:] {
            let refs = tensorRef(v).map { [$0] } ?? (v.array ?? []).compactMap(tensorRef)
            if !refs.isEmpty { out[key] = refs }
        }
        return out
    }

    /// `[["a", 0, 0], ["b", 0, 0]]` or a single `["a", 0, 0]`.
    static func refs(_ v: JSONValue, what: String) throws -> [KerasTensorRef] {
        guard let list = v.array else { return [] }
        if list.first?.string != nil { return try refs(.array([v]), what: what) }
        return try list.map { entry in
            guard let l = entry[0].string, let n = entry[1].int, let t = entry[2].int else {
                throw AscentError.invalid("malformed \(what) entry")
            }
            return KerasTensorRef(layer: l, node: n, tensor: t)
        }
    }
}

/// True for layer classes that are whole models (nested models).
func isModel(_ className: String) -> Bool {
    className == "Functional" || className == "Model" || className == "Sequential"
}
