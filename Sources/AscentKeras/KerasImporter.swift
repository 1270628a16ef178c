import AscentIR
import Foundation

/// Imports Keras models into the IR: legacy HDF5 (`.h5`, Keras 2.0 to 3.x), Keras 3
/// archives (`.keras`), and weights-only files (`save_weights` `.h5`, Keras 3
/// `.weights.h5`) together with an architecture JSON.
///
/// Models keep Keras's layout (channels-last values tagged `NHWC`); kernels stay in
/// Keras's `[k..., in, out]` order. Layers with no converter become unsupported nodes.
public enum KerasImporter {
    /// Imports the model at `path`. `configPath` is the architecture JSON
    /// (`model.to_json()`) for a weights-only file, and overrides an embedded config.
    /// - Throws: ``AscentError`` naming the file (and the layer where one is at fault).
    /// - Parameter customLayers: converters for layer classes Ascent does not know (custom
    ///   layers, Lambda), by Keras class name; they take precedence over the built-in table.
    public static func load(path: String, configPath: String? = nil,
                            customLayers: [String: KerasLayerConverter] = [:]) throws -> Graph {
        try withTypedErrors(file: path) { try loadUnchecked(path: path, configPath: configPath, custom: customLayers) }
    }

    /// Imports a model held in memory: a `.keras` archive when `archive`, else a legacy `.h5`
    /// file image (opened with libhdf5's core driver). `name` names the model in errors. Throws
    /// ``AscentError`` as ``load(path:configPath:customLayers:)`` does (the fuzz targets' entry).
    static func load(bytes: [UInt8], name: String, archive: Bool) throws -> Graph {
        try withTypedErrors(file: name) {
            archive ? try loadArchive(bytes: bytes, name: name, external: nil, custom: [:])
                : try loadHDF5(try HDF5File(image: bytes, name: name), external: nil, custom: [:])
        }
    }

    /// Runs `body`, turning `HDF5Error`s into ``AscentError``s and naming `file` in them.
    private static func withTypedErrors(file: String, _ body: () throws -> Graph) throws -> Graph {
        do {
            return try body()
        } catch let e as HDF5Error {
            throw AscentError(e.isMissingOrUnreadable ? .missingFile : .invalidData, file: file,
                              context: e.path.map { [$0] } ?? [], e.message)
        } catch let e as AscentError {
            throw e.inFile(file)
        }
    }

    private static func loadUnchecked(path: String, configPath: String?, custom: [String: KerasLayerConverter]) throws -> Graph {
        var external: JSONValue? = nil
        if let configPath {
            guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else {
                throw AscentError(.missingFile, file: configPath, "cannot read the architecture JSON")
            }
            do { external = try JSONValue.parse(text, what: "architecture JSON") } catch let e as AscentError { throw e.inFile(configPath) }
        }
        if path.lowercased().hasSuffix(".keras") {
            return try loadArchive(path: path, external: external, custom: custom)
        }
        return try loadHDF5(try HDF5File(path: path), external: external, custom: custom)
    }

    /// Imports a legacy `.h5` model or (with `external`) a weights-only file.
    private static func loadHDF5(_ file: HDF5File, external: JSONValue?, custom: [String: KerasLayerConverter]) throws -> Graph {
        let root = try file.root()
        var metadata = ["source_format": "keras-h5"]
        if let v = try stringAttribute(root, "keras_version") { metadata["keras_version"] = v }
        if let b = try stringAttribute(root, "backend") { metadata["backend"] = b }
        // Keras 3's `.weights.h5` store: no model_config, a `layers` group.
        if try file.kind(at: "/layers") == .group, try !root.hasAttribute("model_config") {
            guard let external else { throw AscentError.invalid("weights-only file: give the architecture with --config model.json") }
            metadata["source_format"] = "keras-weights"
            return try build(config: external, weights: try Keras3Weights(file: file), metadata: metadata, custom: custom)
        }
        let config: JSONValue
        if let external {
            config = external
        } else if let text = try stringAttribute(root, "model_config") {
            config = try JSONValue.parse(text, what: "model_config")
        } else {
            throw AscentError.invalid("weights-only file (no model_config): give the architecture with --config model.json")
        }
        if external != nil, try !root.hasAttribute("model_config") { metadata["source_format"] = "keras-weights" }
        let weightsRoot = try file.kind(at: "/model_weights") == .group ? "/model_weights" : "/"
        if weightsRoot == "/model_weights", metadata["keras_version"] == nil,
           let v = try stringAttribute(try file.group(at: "/model_weights"), "keras_version") {
            metadata["keras_version"] = v
        }
        return try build(config: config, weights: LegacyH5Weights(file: file, root: weightsRoot), metadata: metadata, custom: custom)
    }

    private static func loadArchive(path: String, external: JSONValue?, custom: [String: KerasLayerConverter]) throws -> Graph {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AscentError(.missingFile, file: path, FileManager.default.fileExists(atPath: path) ? "file is not readable" : "no such file")
        }
        return try loadArchive(bytes: [UInt8](data), name: path, external: external, custom: custom)
    }

    private static func loadArchive(bytes: [UInt8], name path: String, external: JSONValue?,
                                    custom: [String: KerasLayerConverter]) throws -> Graph {
        let zip = try ZipArchive(bytes: bytes, fileName: path)
        var metadata = ["source_format": "keras"]
        if zip.entries["metadata.json"] != nil {
            let meta = try JSONValue.parse(String(decoding: try zip.read("metadata.json"), as: UTF8.self), what: "metadata.json")
            if let v = meta["keras_version"].string { metadata["keras_version"] = v }
        }
        let config = try external ?? JSONValue.parse(String(decoding: try zip.read("config.json"), as: UTF8.self), what: "config.json")
        guard zip.entries["model.weights.h5"] != nil else {
            throw AscentError.invalid("archive has no model.weights.h5 (npz weights are not supported)")
        }
        let file = try HDF5File(image: try zip.read("model.weights.h5"), name: path + ":model.weights.h5")
        return try build(config: config, weights: try Keras3Weights(file: file), metadata: metadata, custom: custom)
    }

    /// Builds the graph from a model config and its weights.
    static func build(config: JSONValue, weights: KerasWeightStore, metadata: [String: String],
                      custom: [String: KerasLayerConverter] = [:]) throws -> Graph {
        let spec = try KerasModelSpec(config)
        var context = Context(weights: weights, custom: custom,
                              kerasMajor: Int(metadata["keras_version"]?.split(separator: ".").first ?? "3") ?? 3)
        var builder = GraphBuilder(name: spec.name)
        let outputs = try convert(spec, inputs: nil, scope: [], prefix: "", context: &context, builder: &builder)
        var graph = builder.graph
        graph.outputs = outputs.map { ValueInfo(name: $0, type: builder.type($0) ?? ValueType(.float32, nil)) }
        graph.metadata = metadata
        graph.metadata["producer"] = "keras " + (metadata["keras_version"] ?? "?")
        graph.metadata["parameters"] = String(context.parameters)
        try graph.validate()
        return graph
    }

    /// State shared by a model and the models nested in it.
    struct Context {
        var weights: KerasWeightStore
        var custom: [String: KerasLayerConverter]
        var kerasMajor: Int
        /// Weight scalars of the layers converted so far, each layer counted once (Keras's `count_params`).
        var parameters = 0
        var counted: Set<String> = []
        /// Keras 2's implicit masks: the `[batch, time]` mask value of each masked value.
        var masks: [String: String] = [:]
    }

    /// Converts one model (the top level, or a model used as a layer); returns its output values.
    /// - Parameters:
    ///   - inputs: the values bound to the model's inputs; nil at the top level, where the
    ///     InputLayers become graph inputs.
    ///   - scope: the nested models this one sits in (for weight lookup).
    ///   - prefix: prepended to node and value names (`base/`).
    static func convert(_ spec: KerasModelSpec, inputs: [String]?, scope: [String], prefix: String,
                        context: inout Context, builder: inout GraphBuilder) throws -> [String] {
        var values: [KerasTensorRef: String] = [:]
        let layersByName = Dictionary(spec.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        if let inputs, inputs.count != spec.inputs.count {
            throw AscentError.invalid("model '\(spec.name)' takes \(spec.inputs.count) inputs, called with \(inputs.count)")
        }
        for (i, ref) in spec.inputs.enumerated() {
            guard let layer = layersByName[ref.layer], layer.className == "InputLayer" else {
                throw AscentError.invalid("model input '\(ref.layer)' is not an InputLayer")
            }
            if let inputs {
                values[ref] = inputs[i]
            } else {
                builder.addInput(prefix + layer.name, try inputType(layer))
                values[ref] = prefix + layer.name
            }
        }

        // Call sites, converted as soon as their inputs exist (config order is usually
        // topological already; shared layers may call back to later layers).
        var pending: [(layer: KerasLayerSpec, call: Int)] = spec.layers.flatMap { l in
            l.className == "InputLayer" ? [] : l.calls.indices.map { (l, $0) }
        }
        while !pending.isEmpty {
            var next: [(layer: KerasLayerSpec, call: Int)] = []
            for item in pending {
                let layer = item.layer
                guard layer.allInputs(item.call).allSatisfy({ values[$0] != nil }) else { next.append(item); continue }
                let inputs = layer.calls[item.call].map { values[$0]! }
                var keywords = item.call < layer.keywordInputs.count ? layer.keywordInputs[item.call].mapValues { $0.map { values[$0]! } } : [:]
                let outputs: [String]
                do {
                    let implicitMasks = context.kerasMajor < 3 && !isModel(layer.className)
                    if implicitMasks {
                        keywords.merge(try KerasImplicitMasks.keywords(layer, inputs: inputs, masks: context.masks)) { given, _ in given }
                    }
                    outputs = try convertCall(layer, call: item.call, inputs: inputs, keywords: keywords, scope: scope, prefix: prefix,
                                              context: &context, builder: &builder)
                    if implicitMasks {
                        try KerasImplicitMasks.propagate(layer, name: prefix + layer.name + (item.call == 0 ? "" : "_call\(item.call)"),
                                                         inputs: inputs, outputs: outputs, masks: &context.masks, builder: &builder)
                    }
                } catch let e as AscentError {
                    throw e.context.isEmpty ? e.within("layer '\(prefix + layer.name)' (\(layer.className))") : e
                }
                builder.tagChannelsLast(outputs)
                for (i, v) in outputs.enumerated() {
                    values[KerasTensorRef(layer: layer.name, node: item.call + layer.nodeOffset, tensor: i)] = v
                }
            }
            if next.count == pending.count {
                let stuck = next[0]
                let missing = stuck.layer.allInputs(stuck.call).first { values[$0] == nil }!
                throw AscentError.invalid("input \(missing) is never computed")
                    .within("layer '\(prefix + stuck.layer.name)' (\(stuck.layer.className))")
            }
            pending = next
        }
        return try spec.outputs.map { ref in
            guard let v = values[ref] else { throw AscentError.invalid("model output \(ref) is never computed") }
            return v
        }
    }

    /// Converts one call of one layer: a nested model recursively, a known layer class by
    /// its converter, anything else as an unsupported node.
    static func convertCall(_ layer: KerasLayerSpec, call index: Int, inputs: [String], keywords: [String: [String]] = [:],
                            scope: [String], prefix: String, context: inout Context, builder: inout GraphBuilder) throws -> [String] {
        if isModel(layer.className) {
            guard scope.count < KerasModelSpec.maxDepth else {
                throw AscentError.invalid("models are nested more than \(KerasModelSpec.maxDepth) deep")
            }
            let inner = try KerasModelSpec(layer.config, depth: scope.count + 1)
            let innerPrefix = prefix + layer.name + (index == 0 ? "" : "_call\(index)") + "/"
            return try convert(inner, inputs: inputs, scope: scope + [layer.name], prefix: innerPrefix,
                               context: &context, builder: &builder)
        }
        let weights = try layerWeights(layer.name, scope: scope, context.weights)
        let key = (scope + [layer.name]).joined(separator: "/")
        if context.counted.insert(key).inserted { context.parameters += weights.reduce(0) { $0 + $1.count } }
        var call = LayerCall(layer: layer, inputs: inputs, weights: weights, callIndex: index,
                             kerasMajor: context.kerasMajor, prefix: prefix)
        call.keywordInputs = keywords
        call.arguments = index < layer.arguments.count ? layer.arguments[index] : .null
        call.keywordArguments = index < layer.keywordArguments.count ? layer.keywordArguments[index] : .null
        // Registered custom classes may be written as `Package>Class`.
        let shortName = layer.className.split(separator: ">").last.map(String.init) ?? layer.className
        if let custom = context.custom[layer.className] ?? context.custom[shortName] {
            let context = KerasLayerContext(call: call, builder: builder)
            let outputs = try custom(context)
            builder = context.builder
            return outputs
        }
        if layer.isOperation {
            if let convert = KerasOperations.table[layer.className] { return try convert(call, &builder) }
        } else if let convert = KerasLayers.table[layer.className] {
            return try convert(call, &builder)
        }
        let out = builder.unique(call.outputName)
        try builder.add(.unsupported(name: call.name, sourceOp: layer.isOperation ? "ops.\(layer.className)" : layer.className, source: "Keras",
                                     inputs: inputs, outputs: [out]))
        return [out]
    }

    private static func layerWeights(_ name: String, scope: [String], _ store: KerasWeightStore) throws -> [Tensor] {
        do { return try store.weights(forLayer: name, scope: scope) } catch let e as AscentError {
            throw e.within("layer '\(name)'")
        }
    }

    /// The graph-input type of an InputLayer: `batch_shape` (Keras 3) or
    /// `batch_input_shape` (Keras 2), `null` dims symbolic (`N` for the batch).
    static func inputType(_ layer: KerasLayerSpec) throws -> ValueType {
        let c = layer.config
        let shapeJSON = c["batch_shape"].isNull ? c["batch_input_shape"] : c["batch_shape"]
        guard let list = shapeJSON.array else {
            throw AscentError.invalid("InputLayer '\(layer.name)' has no batch_shape or batch_input_shape")
        }
        let dims: [Dim] = list.enumerated().map { i, d in
            if let v = d.int { return .known(v) }
            return i == 0 ? .symbol("N") : .unknown
        }
        let dtype = try dtypeName(c["dtype"]).flatMap { DType(rawValue: $0) } ?? .float32
        let layout: Layout? = dtype.isFloatingPoint ? [3: .nwc, 4: .nhwc, 5: .ndhwc][dims.count] : nil
        return ValueType(dtype, Shape(dims), layout: layout)
    }

    /// A dtype string or a `DTypePolicy` object → `float32`... (mixed policies: the variable dtype).
    static func dtypeName(_ v: JSONValue) throws -> String? {
        if let s = v.string { return s.hasPrefix("mixed_") ? "float32" : s }
        if let name = v["config"]["name"].string { return name.hasPrefix("mixed_") ? "float32" : name }
        return nil
    }
}
