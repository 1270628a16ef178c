import AscentIR

/// Recurrent layers onto the IR's ONNX-semantics `LSTM`, `GRU` and `RNN` ops, and the wrappers
/// `Bidirectional` and `TimeDistributed`. The ops run time-major (`layout` 0, the one layout
/// onnxruntime runs, so exports run there too): Keras's `[batch, time, features]` is transposed in
/// and the outputs back.
///
/// Weights: Keras's `kernel [in, G·H]`, `recurrent_kernel [H, G·H]` and `bias` become ONNX's
/// `W [1, G·H, in]`, `R [1, G·H, H]`, `B [1, 2·G·H]`; LSTM gate blocks are reordered from Keras's
/// i, f, c, o to ONNX's i, o, f, c; GRU's are z, r, h in both, and `reset_after` is ONNX's
/// `linear_before_reset` (its `[2, 3H]` bias: input then recurrent part). `activation` and
/// `recurrent_activation` become ONNX's activation list (f = recurrent, g = h = activation).
///
/// Masks (a `mask` keyword input: Keras 3 saves `Embedding(mask_zero=True)` and `Masking` masks
/// as op nodes) become `sequence_lens`, the count of unmasked steps: exact for masks that are
/// true up to each sequence's end (post-padding, what `mask_zero` padding gives). Where Keras
/// repeats the last output past a sequence's end (`zero_output_for_mask` false), the output does too.
extension KerasLayers {
    enum RecurrentCell {
        case simple, gru, lstm
        var op: String { self == .lstm ? "LSTM" : self == .gru ? "GRU" : "RNN" }
        var gates: Int { self == .lstm ? 4 : self == .gru ? 3 : 1 }
        var states: Int { self == .lstm ? 2 : 1 }
    }

    static func cell(_ className: String) -> RecurrentCell? {
        ["LSTM": .lstm, "GRU": .gru, "SimpleRNN": .simple][className]
    }

    static func recurrent(_ cell: RecurrentCell) -> LayerConverter {
        return { call, b in
            let x = try call.input()
            let mask = call.keywordInputs["mask"]?.first
            return try recurrentOutputs(call, cell: cell, config: call.config, weights: call.weights[...], input: x,
                                        mask: mask, initialStates: call.keywordInputs["initial_state"] ?? [],
                                        inBidirectional: false, label: call.outputName, builder: &b)
        }
    }

    /// The legacy `CuDNNLSTM`/`CuDNNGRU` of Keras 2 `.h5` files: an LSTM, or a GRU with
    /// `reset_after`, with tanh and sigmoid; their bias `[2·G·H]` holds the input part then the
    /// recurrent part (summed for the LSTM, Keras's `[2, 3H]` for the GRU), as tf-keras converts
    /// them when it loads them into `LSTM`/`GRU`.
    static func cudnn(_ cell: RecurrentCell) -> LayerConverter {
        return { call, b in
            let x = try call.input()
            guard case .object(var c) = call.config, let h = c["units"]?.int, h > 0 else { throw call.error("config has no 'units'") }
            c["activation"] = .string("tanh")
            c["recurrent_activation"] = .string("sigmoid")
            c["use_bias"] = .bool(true)
            c["reset_after"] = .bool(true)
            let n = cell.gates * h
            let bias = try call.weight(2, "bias", shape: [2 * n]).floats()
            var weights = call.weights
            weights[2] = cell == .lstm ? Tensor(shape: [n], scalars: (0..<n).map { bias[$0] + bias[n + $0] }) : Tensor(shape: [2, n], scalars: bias)
            return try recurrentOutputs(call, cell: cell, config: .object(c), weights: weights[...], input: x, mask: nil,
                                        initialStates: call.keywordInputs["initial_state"] ?? [], inBidirectional: false,
                                        label: call.outputName, builder: &b)
        }
    }

    /// The ONNX activation name (the op's own, but for `Affine`, which is only an RNN activation)
    /// with its alpha and beta for a Keras activation.
    static func recurrentActivation(_ call: LayerCall, _ v: JSONValue, default name: String) throws -> (String, Double, Double) {
        switch KerasActivations.name(v) ?? name {
        case "tanh": return (OpDefinition.tanh.name, 0, 0)
        case "sigmoid": return (OpDefinition.sigmoid.name, 0, 0)
        case "relu": return (OpDefinition.relu.name, 0, 0)
        case "softsign": return (OpDefinition.softsign.name, 0, 0)
        case "softplus": return (OpDefinition.softplus.name, 0, 0)
        case "elu": return (OpDefinition.elu.name, 1, 0)
        case "linear": return ("Affine", 1, 0)
        case "hard_sigmoid": return (OpDefinition.hardSigmoid.name, call.kerasMajor >= 3 ? 1.0 / 6.0 : 0.2, 0.5)
        case let other: throw call.error("activation '\(other)' in a recurrent layer is not supported")
        }
    }

    /// Columns of `[rows, G·H]` regrouped in gate blocks of `h` in `order`; returned transposed, `[G·H, rows]`.
    static func gateMatrix(_ t: Tensor, hidden h: Int, order: [Int]) -> Tensor {
        let rows = t.shape[0], cols = t.shape[1]
        let v = t.floats()
        var out = [Float](repeating: 0, count: rows * cols)
        for (k, block) in order.enumerated() {
            for j in 0..<h {
                for r in 0..<rows { out[(k * h + j) * rows + r] = v[r * cols + block * h + j] }
            }
        }
        return Tensor(shape: [1, cols, rows], scalars: out)
    }

    /// One recurrent layer (or one direction of a Bidirectional) as an IR node; returns Keras's
    /// outputs: the sequence or last output, then with `return_state` the final states.
    /// `flippedByWrapper`: the backward half of a Bidirectional, whose sequence Keras flips in time.
    static func recurrentOutputs(_ call: LayerCall, cell: RecurrentCell, config: JSONValue, weights: ArraySlice<Tensor>,
                                 input x: String, mask: String?, initialStates: [String], inBidirectional: Bool,
                                 flippedByWrapper: Bool = false,
                                 label: String, builder b: inout GraphBuilder) throws -> [String] {
        guard let h = config["units"].int, h > 0 else { throw call.error("config has no 'units'") }
        let g = cell.gates
        let w = Array(weights)
        guard w.count >= 2 else { throw call.error("missing weight 'kernel' (the file has \(w.count) weights for this layer)") }
        func weight(_ i: Int, _ what: String, _ shape: [Int?]) throws -> Tensor {
            var sub = call
            sub.weights = w
            return try sub.weight(i, what, shape: shape)
        }
        let kernel = try weight(0, "kernel", [nil, g * h]), recurrentKernel = try weight(1, "recurrent_kernel", [h, g * h])
        let order = cell == .lstm ? [0, 3, 1, 2] : Array(0..<g)
        var bias = [Float](repeating: 0, count: 2 * g * h)
        let resetAfter = cell == .gru && config["reset_after"].bool != false
        if config["use_bias"].bool != false {
            if resetAfter {
                bias = try weight(2, "bias", [2, g * h]).floats()
            } else {
                let v = try weight(2, "bias", [g * h]).floats()
                for (k, block) in order.enumerated() {
                    for j in 0..<h { bias[k * h + j] = v[block * h + j] }
                }
            }
        }
        let name = call.name + (inBidirectional ? "/" + (config["name"].string ?? "direction") : "")
        let wValue = b.constant("\(name)/W", gateMatrix(kernel, hidden: h, order: order))
        let rValue = b.constant("\(name)/R", gateMatrix(recurrentKernel, hidden: h, order: order))
        let bValue = b.constant("\(name)/B", Tensor(shape: [1, 2 * g * h], scalars: bias))

        var lengths = ""
        if let mask {
            let ints = try b.node("Cast", name: name, inputs: [mask], output: label + "/mask_int",
                                  attributes: ["to": .int(DType.int32.onnxCode)])
            lengths = try b.node("ReduceSum", name: name, inputs: [ints], output: label + "/lengths",
                                 attributes: ["axes": .ints([1]), "keepdims": .int(0)])
        }
        guard initialStates.isEmpty || initialStates.count == cell.states else {
            throw call.error("expects \(cell.states) initial states, got \(initialStates.count)")
        }
        let initial = try initialStates.enumerated().map { i, s in
            try b.node("Unsqueeze", name: name, inputs: [s], output: label + "/initial_\(i)", attributes: ["axes": .ints([0])])
        }
        let timeMajor = try b.node("Transpose", name: name, inputs: [x], output: label + "/time_major",
                                   attributes: ["perm": .ints([1, 0, 2])])
        let act = try recurrentActivation(call, config["activation"], default: "tanh")
        let recAct = try recurrentActivation(call, config["recurrent_activation"], default: "sigmoid")
        let acts = cell == .simple ? [act] : cell == .gru ? [recAct, act] : [recAct, act, act]
        let goBackwards = config["go_backwards"].bool == true
        var attributes: [String: Attribute] = [
            "hidden_size": .int(h), "direction": .string(goBackwards ? "reverse" : "forward"),
            "activations": .strings(acts.map(\.0)), "activation_alpha": .floats(acts.map(\.1)),
            "activation_beta": .floats(acts.map(\.2)),
        ]
        if cell == .gru { attributes["linear_before_reset"] = .int(resetAfter ? 1 : 0) }
        var inputs = [timeMajor, wValue, rValue, bValue, lengths] + initial
        while inputs.last == "" { inputs.removeLast() }
        let outputs = (0...cell.states).map { b.unique(label + ["/Y", "/Y_h", "/Y_c"][$0]) }
        try b.add(Node(name: name, op: cell.op, inputs: inputs, outputs: outputs, attributes: attributes))

        let returnSequences = config["return_sequences"].bool == true
        let states = try outputs.dropFirst().enumerated().map { i, s in
            try b.node("Squeeze", name: name, inputs: [s], output: label + (i == 0 ? "/h" : "/c"), attributes: ["axes": .ints([0])])
        }
        var y: String
        if returnSequences {
            let steps = try b.node("Squeeze", name: name, inputs: [outputs[0]], output: label + "/steps", attributes: ["axes": .ints([1])])
            y = try b.node("Transpose", name: name, inputs: [steps], output: label + "/sequence", attributes: ["perm": .ints([1, 0, 2])])
            if goBackwards != flippedByWrapper {
                // Keras returns a backward pass's outputs in its own (reversed) order and a
                // Bidirectional flips its backward half's; ONNX's are in input order.
                y = try b.node("Slice", name: name, inputs: [
                    y, b.constant("\(name)/rev_starts", Tensor(shape: [1], scalars: [Int64(-1)])),
                    b.constant("\(name)/rev_ends", Tensor(shape: [1], scalars: [Int64.min])),
                    b.constant("\(name)/rev_axes", Tensor(shape: [1], scalars: [Int64(1)])),
                    b.constant("\(name)/rev_steps", Tensor(shape: [1], scalars: [Int64(-1)])),
                ], output: label + "/reversed")
            } else if let mask, config["zero_output_for_mask"].bool != true {
                // Past a sequence's end Keras repeats its last output; ONNX gives zeros.
                let kept = try b.node("Unsqueeze", name: name, inputs: [mask], output: label + "/mask_steps", attributes: ["axes": .ints([2])])
                let last = try b.node("Unsqueeze", name: name, inputs: [states[0]], output: label + "/last", attributes: ["axes": .ints([1])])
                y = try b.node("Where", name: name, inputs: [kept, y, last], output: label + "/masked")
            }
        } else {
            y = states[0]
        }
        y = try b.node("Identity", name: name, inputs: [y], output: label)
        return config["return_state"].bool == true ? [y] + states : [y]
    }

    /// `Bidirectional(layer, merge_mode)`: the wrapped layer forward and its `backward_layer`
    /// (by default the same layer with `go_backwards`) as a reverse pass; outputs merged by
    /// `concat` (default), `sum`, `mul`, `ave`, or returned both (`merge_mode` None), then the
    /// states of each direction with `return_state`.
    static let bidirectional: LayerConverter = { call, b in
        let x = try call.input()
        let forward = call.config["layer"]
        guard let className = forward["class_name"].string, let cell = cell(className) else {
            throw call.error("wrapping '\(forward["class_name"].string ?? "?")' is not supported (LSTM, GRU, SimpleRNN)")
        }
        var backward = call.config["backward_layer"]
        if backward.isNull, case .object(var c) = forward["config"] {
            c["go_backwards"] = .bool(!(forward["config"]["go_backwards"].bool ?? false))
            c["name"] = .string("backward_" + (forward["config"]["name"].string ?? "layer"))
            backward = .object(["class_name": forward["class_name"], "config": .object(c)])
        }
        guard backward["class_name"].string.flatMap(KerasLayers.cell) == cell else {
            throw call.error("a backward layer of another class than the forward one is not supported")
        }
        let perLayer = 2 + (forward["config"]["use_bias"].bool == false ? 0 : 1)
        guard call.weights.count == 2 * perLayer else {
            throw call.error("expects \(2 * perLayer) weights (forward then backward), the file has \(call.weights.count)")
        }
        let mask = call.keywordInputs["mask"]?.first
        let states = call.keywordInputs["initial_state"] ?? []
        let half = states.count / 2
        var fConfig = forward["config"], bConfig = backward["config"]
        if case .object(var c) = fConfig, c["name"] == nil { c["name"] = .string("forward"); fConfig = .object(c) }
        if case .object(var c) = bConfig, c["name"] == nil { c["name"] = .string("backward"); bConfig = .object(c) }
        let f = try recurrentOutputs(call, cell: cell, config: fConfig, weights: call.weights[0..<perLayer], input: x, mask: mask,
                                     initialStates: Array(states.prefix(half)), inBidirectional: true,
                                     label: call.outputName + "/forward", builder: &b)
        let r = try recurrentOutputs(call, cell: cell, config: bConfig, weights: call.weights[perLayer...], input: x, mask: mask,
                                     initialStates: Array(states.suffix(from: half)), inBidirectional: true, flippedByWrapper: true,
                                     label: call.outputName + "/backward", builder: &b)
        let merged: [String]
        let mode = call.config.object?["merge_mode"] == nil ? "concat" : call.config["merge_mode"].string
        switch mode {
        case "concat":
            merged = [try b.node("Concat", name: call.name, inputs: [f[0], r[0]], output: call.outputName, attributes: ["axis": .int(-1)])]
        case "sum": merged = [try b.node("Add", name: call.name, inputs: [f[0], r[0]], output: call.outputName)]
        case "mul": merged = [try b.node("Mul", name: call.name, inputs: [f[0], r[0]], output: call.outputName)]
        case "ave": merged = [try b.node("Mean", name: call.name, inputs: [f[0], r[0]], output: call.outputName)]
        case .none: merged = [f[0], r[0]]
        case let other?: throw call.error("merge_mode '\(other)' is not supported")
        }
        return merged + f.dropFirst() + r.dropFirst()
    }

    /// `TimeDistributed(layer)`: the batch and time axes folded into one, the wrapped layer
    /// applied, and the two axes restored.
    static let timeDistributed: LayerConverter = { call, b in
        let x = try call.input()
        let inner = call.config["layer"]
        guard let className = inner["class_name"].string, let convert = KerasLayers.table[className] else {
            throw call.error("wrapping '\(inner["class_name"].string ?? "?")' is not supported")
        }
        guard let dims = b.type(x)?.shape?.dims, dims.count >= 3, let steps = dims[1].value,
              dims.dropFirst(2).allSatisfy({ $0.value != nil }) else {
            throw call.error("TimeDistributed needs the time and feature sizes known")
        }
        let folded = try b.node("Reshape", name: call.name, inputs: [
            x, b.constant("\(call.name)/fold", Tensor(shape: [dims.count - 1], scalars: [Int64(-1)] + dims.dropFirst(2).map { Int64($0.value!) })),
        ], output: call.outputName + "/folded")
        var innerCall = call
        let innerName = call.layer.name + "/" + (inner["config"]["name"].string ?? className)
        innerCall.layer = KerasLayerSpec(className: className, name: innerName, config: inner["config"], calls: call.layer.calls)
        innerCall.inputs = [folded]
        innerCall.keywordInputs = [:]
        let y = try convert(innerCall, &b)
        guard y.count == 1, let outDims = b.type(y[0])?.shape?.dims, outDims.dropFirst().allSatisfy({ $0.value != nil }) else {
            throw call.error("the wrapped layer's output sizes are unknown")
        }
        let shape = [Int64(-1), Int64(steps)] + outDims.dropFirst().map { Int64($0.value!) }
        return [try b.node("Reshape", name: call.name, inputs: [
            y[0], b.constant("\(call.name)/unfold", Tensor(shape: [shape.count], scalars: shape)),
        ], output: call.outputName)]
    }
}

extension KerasLayers {
    /// `Masking(mask_value)`: zero where every feature of a step equals `mask_value`. (Its mask
    /// reaches the layers after it as Keras 3 op nodes of its own.)
    static let masking: LayerConverter = { call, b in
        let x = try call.input()
        let keep = try maskingKeep(name: call.outputName, input: x, value: call.config["mask_value"].double ?? 0, builder: &b)
        return [try b.node("Where", name: call.name, inputs: [keep, x, b.constant("\(call.name)/zero", Tensor(scalar: Float(0)))],
                           output: call.outputName)]
    }

    /// `Masking`'s `[batch, time, 1]` bool: some feature of the step differs from `value`.
    static func maskingKeep(name: String, input x: String, value: Double, builder b: inout GraphBuilder) throws -> String {
        let v = b.constant("\(name)/mask_value", Tensor(scalar: Float(value)))
        let equal = try b.node("Equal", name: name, inputs: [x, v], output: name + "/equal")
        let differs = try b.node("Not", name: name, inputs: [equal], output: name + "/differs")
        let ints = try b.node("Cast", name: name, inputs: [differs], output: name + "/differs_int",
                              attributes: ["to": .int(DType.int32.onnxCode)])
        let any = try b.node("ReduceMax", name: name, inputs: [ints], output: name + "/any_int",
                             attributes: ["axes": .ints([-1]), "keepdims": .int(1)])
        return try b.node("Cast", name: name, inputs: [any], output: name + "/keep", attributes: ["to": .int(DType.bool.onnxCode)])
    }
}

extension KerasLayers {
    /// `ConvLSTM1D/2D/3D` written out step by step (its gates are convolutions, which the IR's
    /// `LSTM` op does not have): the input convolution of every step at once (batch and time
    /// folded), then per step the recurrent convolution (`same` padding, no bias) of the state,
    /// gates i, f, c, o in Keras's order with `recurrent_activation` and `activation`. Needs the
    /// time and spatial sizes known; masks are refused.
    static let convLSTM: LayerConverter = { call, b in
        let x = try call.input()
        if call.keywordInputs["mask"] != nil || call.keywordInputs["initial_state"] != nil {
            throw call.error("masks and initial states are not supported")
        }
        if call.channelsFirst { throw call.error("channels_first is not supported") }
        let rank = spatialRank(call.layer.className)
        guard let dims = b.type(x)?.shape?.dims, dims.count == rank + 3, dims.dropFirst().allSatisfy({ $0.value != nil }) else {
            throw call.error("needs a [batch, time, spatial..., channels] input with known sizes")
        }
        let steps = dims[1].value!, channels = dims.last!.value!
        let filters = try call.require("filters").int ?? -1
        guard let k = call.config["kernel_size"].ints(count: rank) else { throw call.error("bad kernel_size") }
        let strides = call.config["strides"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let dilations = call.config["dilation_rate"].ints(count: rank) ?? Array(repeating: 1, count: rank)
        let kernel = try call.weight(0, "kernel", shape: k.map { $0 } + [channels, 4 * filters])
        let recurrentKernel = try call.weight(1, "recurrent_kernel", shape: k.map { $0 } + [filters, 4 * filters])
        var inputConv = [String]()
        inputConv = [b.constant("\(call.name)/kernel", kernel)]
        if call.config["use_bias"].bool != false {
            inputConv.append(b.constant("\(call.name)/bias", try call.weight(2, "bias", shape: [4 * filters])))
        }
        let label = call.outputName
        let folded = try b.node("Reshape", name: call.name, inputs: [x, b.constant("\(call.name)/fold",
            Tensor(shape: [rank + 2], scalars: [Int64(-1)] + dims.dropFirst(2).map { Int64($0.value!) }))], output: label + "/folded")
        let inputAttributes = try windowAttributes(call, rank: rank, kernel: k, strides: strides, dilations: dilations)
        let projected = try b.node("Conv", name: call.name, inputs: [folded] + inputConv, output: label + "/input_conv", attributes: inputAttributes)
        guard let outSpatial = b.type(projected)?.shape?.dims.dropFirst().dropLast().map(\.value), outSpatial.allSatisfy({ $0 != nil }) else {
            throw call.error("the input convolution's output sizes are unknown")
        }
        let unfolded = try b.node("Reshape", name: call.name, inputs: [projected, b.constant("\(call.name)/unfold",
            Tensor(shape: [rank + 3], scalars: [Int64(-1), Int64(steps)] + outSpatial.map { Int64($0!) } + [Int64(4 * filters)]))],
            output: label + "/input_gates")
        var recurrentCall = call
        recurrentCall.layer.config = .object((call.config.object ?? [:]).merging(["padding": .string("same")]) { $1 })
        let recurrentAttributes = try windowAttributes(recurrentCall, rank: rank, kernel: k, strides: Array(repeating: 1, count: rank),
                                                       dilations: dilations)
        let recurrentValue = b.constant("\(call.name)/recurrent_kernel", recurrentKernel)
        let activation = KerasActivations.name(call.config["activation"]) ?? "tanh"
        let recurrentActivation = KerasActivations.name(call.config["recurrent_activation"]) ?? "sigmoid"
        func slice(_ v: String, _ start: Int, _ end: Int, axis: Int, _ out: String) throws -> String {
            try b.node("Slice", name: call.name, inputs: [
                v, b.constant("\(call.name)/s\(start)", Tensor(shape: [1], scalars: [Int64(start)])),
                b.constant("\(call.name)/e\(end)", Tensor(shape: [1], scalars: [Int64(end)])),
                b.constant("\(call.name)/axis\(axis)", Tensor(shape: [1], scalars: [Int64(axis)])),
            ], output: out)
        }
        var h: String? = nil, c: String? = nil
        var outputs: [String] = []
        let order = config(call, "go_backwards") ? Array((0..<steps).reversed()) : Array(0..<steps)
        for (i, t) in order.enumerated() {
            let step = "\(label)/t\(i)"
            var z = try b.node("Squeeze", name: call.name, inputs: [try slice(unfolded, t, t + 1, axis: 1, step + "/x")],
                               output: step + "/xz", attributes: ["axes": .ints([1])])
            if let h {
                let hz = try b.node("Conv", name: call.name, inputs: [h, recurrentValue], output: step + "/hz", attributes: recurrentAttributes)
                z = try b.node("Add", name: call.name, inputs: [z, hz], output: step + "/z")
            }
            func gate(_ g: Int, _ name: String) throws -> String { try slice(z, g * filters, (g + 1) * filters, axis: -1, step + "/" + name) }
            let ig = try KerasActivations.apply(recurrentActivation, to: try gate(0, "zi"), call: call, output: step + "/i", builder: &b)
            let fg = try KerasActivations.apply(recurrentActivation, to: try gate(1, "zf"), call: call, output: step + "/f", builder: &b)
            let cand = try KerasActivations.apply(activation, to: try gate(2, "zc"), call: call, output: step + "/g", builder: &b)
            let og = try KerasActivations.apply(recurrentActivation, to: try gate(3, "zo"), call: call, output: step + "/o", builder: &b)
            var cNew = try b.node("Mul", name: call.name, inputs: [ig, cand], output: step + "/ig")
            if let c {
                cNew = try b.node("Add", name: call.name, inputs: [try b.node("Mul", name: call.name, inputs: [fg, c], output: step + "/fc"), cNew],
                                  output: step + "/c")
            }
            let hNew = try b.node("Mul", name: call.name, inputs: [
                og, try KerasActivations.apply(activation, to: cNew, call: call, output: step + "/act_c", builder: &b),
            ], output: step + "/h")
            h = hNew
            c = cNew
            outputs.append(hNew)
        }
        var y = h!
        if config(call, "return_sequences") {
            let expanded = try outputs.enumerated().map { i, o in
                try b.node("Unsqueeze", name: call.name, inputs: [o], output: "\(label)/y\(i)", attributes: ["axes": .ints([1])])
            }
            y = expanded.count == 1 ? expanded[0]
                : try b.node("Concat", name: call.name, inputs: expanded, output: label + "/sequence", attributes: ["axis": .int(1)])
        }
        y = try b.node("Identity", name: call.name, inputs: [y], output: label)
        return config(call, "return_state") ? [y, h!, c!] : [y]
    }

    private static func config(_ call: LayerCall, _ flag: String) -> Bool { call.config[flag].bool == true }
}
