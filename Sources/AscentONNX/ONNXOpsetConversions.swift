import AscentIR

/// The converters the table lists: older opsets rewritten into the latest forms the IR uses, and ONNX
/// ops the IR writes differently. Added constants are initializers named `<node>/<what>`; added nodes
/// are named `<node>/<step>`.
extension ONNXOps {
    // MARK: - Constants and types

    /// `Constant` stays one Constant node with a `value` tensor: `value` (a tensor), `value_float(s)`
    /// (float32 scalar / 1-D) and `value_int(s)` (int64 scalar / 1-D). String values are refused;
    /// a sparse value is an attribute the IR cannot hold, so that node is unsupported.
    static let constant: ONNXConverter = { ctx, b in
        let keys = ["value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings"]
        let present = keys.filter { ctx.attributes[$0] != nil }
        guard present.count == 1, let key = present.first, let attribute = ctx.attributes[key] else {
            let found = present.isEmpty ? "none" : present.joined(separator: ", ")
            throw AscentError.invalid("needs exactly one value attribute, has \(found)")
        }
        let tensor: Tensor
        switch (key, attribute) {
        case ("value", .tensor(let t)): tensor = t
        case ("value_float", .float(let v)): tensor = Tensor(scalar: Float(v))
        case ("value_floats", .floats(let v)): tensor = Tensor(shape: [v.count], scalars: v.map { Float($0) })
        case ("value_int", .int(let v)): tensor = Tensor(scalar: Int64(v))
        case ("value_ints", .ints(let v)): tensor = Tensor(shape: [v.count], scalars: v.map { Int64($0) })
        case ("value_string", _), ("value_strings", _):
            throw AscentError.invalid("string constants (\(key)) are not supported")
        default:
            throw AscentError.invalid("attribute '\(key)' has the wrong kind (\(attribute.kind))")
        }
        b.add(ctx.node(op: OpDefinition.constant.name, inputs: [], attributes: ["value": .tensor(tensor)]))
    }

    /// Cast-1 to Cast-5 name the target type (`"FLOAT"`); later versions give its code.
    static let castTypeNames: [String: Int64] = [
        "FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7, "STRING": 8,
        "BOOL": 9, "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13, "COMPLEX64": 14, "COMPLEX128": 15,
    ]

    /// `Cast`: the target type as declared; a type Ascent has no form for makes the node unsupported.
    static let cast: ONNXConverter = { ctx, b in
        let code: Int64
        switch ctx.attributes["to"] {
        case .int(let v)?: code = Int64(v)
        case .string(let name)?: code = castTypeNames[name.uppercased()] ?? -1
        case let other?: throw AscentError.invalid("attribute 'to' should be int, is \(other.kind)")
        case nil: throw AscentError.invalid("missing attribute 'to'")
        }
        guard let type = ONNXElementType(code: code) else { return b.add(ctx.unsupported()) }
        var attributes = ctx.attributes
        attributes["to"] = .int(type.importedDType.onnxCode)
        b.add(ctx.node(attributes: attributes))
    }

    // MARK: - Inference-mode forms

    /// `Dropout` is the identity at inference. Its mask output (when something reads it) and a
    /// `training_mode` input that is not a constant `false` have no inference form: unsupported.
    /// `ratio`, `seed` and the old `is_test` are dropped.
    static let dropout: ONNXConverter = { ctx, b in
        let outputs = ctx.outputs
        guard let y = outputs.first, !y.isEmpty else { return b.add(ctx.unsupported()) }
        if outputs.count > 1, b.consumed.contains(outputs[1]) { return b.add(ctx.unsupported()) }
        let training = ctx.input(2)
        if !training.isEmpty {
            guard let t = b.graph.initializers[training], t.dtype == .bool, t.count == 1,
                  t.scalars(as: Bool.self) == [false] else { return b.add(ctx.unsupported()) }
        }
        b.add(ctx.node(op: OpDefinition.identity.name, inputs: [ctx.input(0)], outputs: [y], attributes: [:]))
    }

    /// `BatchNormalization` in inference mode: the old `spatial` and `is_test` attributes are ignored;
    /// `training_mode = 1` and running-statistics outputs that something reads are unsupported,
    /// unread ones are dropped. The IR's default `axis` 1 is ONNX's channel axis.
    static let batchNormalization: ONNXConverter = { ctx, b in
        if try ctx.int("training_mode") ?? 0 != 0 { return b.add(ctx.unsupported()) }
        let outputs = ctx.outputs
        if outputs.dropFirst().contains(where: { !$0.isEmpty && b.consumed.contains($0) }) {
            return b.add(ctx.unsupported())
        }
        b.add(ctx.node(outputs: Array(outputs.prefix(1)),
                       attributes: ctx.attributes(removing: "spatial", "is_test", "training_mode")))
    }

    // MARK: - Changed semantics

    /// Softmax / LogSoftmax before opset 13 work on the input flattened to 2-D at `axis` (default 1):
    /// `Shape(x)`, `Flatten(x, axis)`, the op along the last axis, `Reshape` back to the shape.
    /// When `axis` is the last axis (rank known) that is the op along it: one node.
    static let flattenedSoftmax: ONNXConverter = { ctx, b in
        let axis = try ctx.int("axis") ?? 1
        let (x, outputs) = (ctx.input(0), ctx.outputs)
        guard ctx.inputs.count == 1, outputs.count == 1, let y = outputs.first, !x.isEmpty, !y.isEmpty else {
            throw AscentError.invalid("expects one input and one output")
        }
        if let rank = b.type(x)?.shape?.rank, rank >= 1, axis == -1 || axis == rank - 1 {
            return b.add(ctx.node(attributes: ["axis": .int(-1)]))
        }
        let shape = b.unique("\(y)/shape"), flat = b.unique("\(y)/flat"), result = b.unique("\(y)/2d")
        b.add(Node(name: "\(ctx.name)/shape", op: OpDefinition.shape.name, inputs: [x], outputs: [shape]))
        b.add(Node(name: "\(ctx.name)/flatten", op: OpDefinition.flatten.name, inputs: [x], outputs: [flat], attributes: ["axis": .int(axis)]))
        b.add(ctx.node(inputs: [flat], outputs: [result], attributes: ["axis": .int(-1)]))
        b.add(Node(name: "\(ctx.name)/reshape", op: OpDefinition.reshape.name, inputs: [result, shape], outputs: [y]))
    }

    /// Before opset 7 binary ops broadcast only with `broadcast = 1`, aligning the second input at
    /// `axis` of the first (suffix-aligned when `axis` is absent, as NumPy does). The aligned form
    /// unsqueezes the second input's trailing axes; that needs both ranks (unknown: unsupported).
    static let legacyBroadcast: ONNXConverter = { ctx, b in
        let attributes = ctx.attributes(removing: "broadcast", "axis")
        guard try ctx.int("broadcast") ?? 0 != 0, let axis = try ctx.int("axis"), ctx.inputs.count == 2 else {
            return b.add(ctx.node(attributes: attributes))
        }
        let (first, second) = (ctx.input(0), ctx.input(1))
        guard let ra = b.type(first)?.shape?.rank, let rb = b.type(second)?.shape?.rank else {
            return b.add(ctx.unsupported())
        }
        let start = axis < 0 ? axis + ra : axis
        let trailing = ra - start - rb
        guard start >= 0, start <= ra, trailing >= 0 else {
            throw AscentError.invalid("cannot broadcast a rank-\(rb) input at axis \(axis) of a rank-\(ra) input")
        }
        var aligned = second
        if trailing > 0 {
            let axes = b.constant("\(ctx.name)/axes", ints: Array(rb..<(rb + trailing)))
            aligned = b.unique("\(second)/aligned")
            b.add(Node(name: "\(ctx.name)/align", op: OpDefinition.unsqueeze.name, inputs: [second, axes], outputs: [aligned]))
        }
        b.add(ctx.node(inputs: [first, aligned], attributes: attributes))
    }

    /// Concat before opset 4: `axis` was optional, default 1.
    static let concatDefaultAxis: ONNXConverter = { ctx, b in
        var attributes = ctx.attributes
        if attributes["axis"] == nil { attributes["axis"] = .int(1) }
        b.add(ctx.node(attributes: attributes))
    }

    // MARK: - Attributes that became inputs

    /// An ints attribute moved to the second input as a 1-D int64 constant (Reshape < 5 `shape`,
    /// Squeeze/Unsqueeze < 13 `axes`, Split < 13 `split`, ReduceSum < 13 and the other Reduce ops < 18
    /// `axes`). Without the attribute the node is unchanged.
    static func attributeToInput(_ key: String) -> ONNXConverter {
        { ctx, b in
            guard let values = try ctx.ints(key) else { return b.add(ctx.node()) }
            let x = ctx.input(0)
            guard !x.isEmpty else { throw AscentError.invalid("missing input 0") }
            let constant = b.constant("\(ctx.name)/\(key)", ints: values)
            b.add(ctx.node(inputs: [x, constant], attributes: ctx.attributes(removing: key)))
        }
    }

    /// Slice before opset 10: `starts`, `ends` and optional `axes` attributes → inputs (steps of 1).
    static let sliceAttributes: ONNXConverter = { ctx, b in
        let starts = try ctx.requireInts("starts"), ends = try ctx.requireInts("ends")
        var inputs = [ctx.input(0), b.constant("\(ctx.name)/starts", ints: starts), b.constant("\(ctx.name)/ends", ints: ends)]
        if let axes = try ctx.ints("axes") { inputs.append(b.constant("\(ctx.name)/axes", ints: axes)) }
        b.add(ctx.node(inputs: inputs, attributes: ctx.attributes(removing: "starts", "ends", "axes")))
    }

    /// Clip before opset 11: `min` / `max` attributes → float32 scalar inputs (Clip-6 takes floating
    /// tensors only, which Ascent imports as float32). An absent bound stays an omitted input.
    static let clipAttributes: ONNXConverter = { ctx, b in
        let low = try ctx.float("min"), high = try ctx.float("max")
        var inputs = [ctx.input(0)]
        if low != nil || high != nil {
            inputs.append(low.map { b.constant("\(ctx.name)/min", Tensor(scalar: Float($0))) } ?? "")
        }
        if let high { inputs.append(b.constant("\(ctx.name)/max", Tensor(scalar: Float(high)))) }
        b.add(ctx.node(inputs: inputs, attributes: ctx.attributes(removing: "min", "max")))
    }

    /// Pad before opset 11: `pads` (`paddings` in Pad-1) → int64 input, `value` → float32 scalar
    /// input (Pad-2 takes floating tensors only); `mode` stays an attribute.
    static let padAttributes: ONNXConverter = { ctx, b in
        guard let pads = try ctx.ints("pads") ?? ctx.ints("paddings") else {
            throw AscentError.invalid("missing attribute 'pads'")
        }
        var inputs = [ctx.input(0), b.constant("\(ctx.name)/pads", ints: pads)]
        if let value = try ctx.float("value") {
            inputs.append(b.constant("\(ctx.name)/value", Tensor(scalar: Float(value))))
        }
        b.add(ctx.node(inputs: inputs, attributes: ctx.attributes(removing: "pads", "paddings", "value")))
    }

    /// Resize-10 (and Upsample) take `(X, scales)` and map output coordinates back as
    /// `x / scale` with nearest = floor: today's Resize with an empty roi, `asymmetric`
    /// coordinates and `floor` rounding.
    static let resize10: ONNXConverter = { ctx, b in
        var attrs = ctx.attributes
        attrs["coordinate_transformation_mode"] = .string("asymmetric")
        attrs["nearest_mode"] = .string("floor")
        b.add(ctx.node(op: OpDefinition.resize.name, inputs: [ctx.input(0), "", ctx.input(1)], attributes: attrs))
    }

    /// Upsample (deprecated at 10): scales as an attribute before 9, an input from 9.
    static let upsample: ONNXConverter = { ctx, b in
        var attrs = ctx.attributes(removing: "scales", "width_scale", "height_scale")
        attrs["coordinate_transformation_mode"] = .string("asymmetric")
        attrs["nearest_mode"] = .string("floor")
        let scales: String
        if ctx.opset >= 9 {
            scales = ctx.input(1)
        } else {
            guard let values = ctx.attributes["scales"]?.floats else { throw AscentError.invalid("missing attribute 'scales'") }
            scales = b.constant("\(ctx.name)/scales", Tensor(shape: [values.count], scalars: values.map { Float($0) }))
        }
        if attrs["mode"]?.string == "bilinear" { attrs["mode"] = .string("linear") }
        b.add(ctx.node(op: OpDefinition.resize.name, inputs: [ctx.input(0), "", scales], attributes: attrs))
    }

    /// The same op under its newer name (Scatter → ScatterElements).
    static func renamed(_ op: String) -> ONNXConverter {
        return { ctx, b in b.add(ctx.node(op: op)) }
    }
}
