import AscentIR

/// Keras 3 op nodes: calls of `keras.ops` functions on symbolic tensors, which a functional
/// model saves as entries of module `keras.src.ops.*` — `x + 3.0` as `Add` with the arguments
/// `[<tensor>, 3.0]` (MobileNetV3's hard-sigmoid), and the masks Keras derives for
/// `Embedding(mask_zero=True)` and `Masking` as `NotEqual` and `Any`. Constants among the
/// arguments become IR constants of the tensor arguments' dtype. One line per Keras op class.
enum KerasOperations {
    static let table: [String: LayerConverter] = [
        "Add": elementwise("Add"), "Subtract": elementwise("Sub"), "Multiply": elementwise("Mul"),
        "Divide": elementwise("Div"), "TrueDivide": elementwise("Div"), "Power": elementwise("Pow"),
        "Maximum": elementwise("Max"), "Minimum": elementwise("Min"),
        "Equal": elementwise("Equal"), "Greater": elementwise("Greater"), "GreaterEqual": elementwise("GreaterOrEqual"),
        "Less": elementwise("Less"), "LessEqual": elementwise("LessOrEqual"),
        "LogicalAnd": elementwise("And"), "LogicalOr": elementwise("Or"), "LogicalNot": elementwise("Not"),
        "NotEqual": notEqual,
        "Negative": elementwise("Neg"), "Absolute": elementwise("Abs"), "Abs": elementwise("Abs"),
        "Sqrt": elementwise("Sqrt"), "Exp": elementwise("Exp"), "Log": elementwise("Log"),
        "Tanh": elementwise("Tanh"), "Sigmoid": elementwise("Sigmoid"), "Relu": elementwise("Relu"),
        "Square": square,
        "Where": elementwise("Where"),
        "Sum": reduction("ReduceSum"), "Mean": reduction("ReduceMean"), "Max": reduction("ReduceMax"),
        "Min": reduction("ReduceMin"), "Any": logicalReduction("ReduceMax"), "All": logicalReduction("ReduceMin"),
        "ExpandDims": expandDims, "Squeeze": squeeze, "Cast": cast,
    ]

    /// The call's operands in order: its tensor inputs, and its constant arguments as constants
    /// of the first tensor's dtype (a Python float with an int tensor stays float, as NumPy's
    /// promotion in Keras does).
    static func operands(_ call: LayerCall, _ b: inout GraphBuilder) throws -> [String] {
        guard let args = call.arguments.array else { return call.inputs }
        let tensorType = call.inputs.first.flatMap { b.type($0)?.dtype } ?? .float32
        var tensors = call.inputs.makeIterator()
        var out: [String] = []
        for (i, arg) in args.enumerated() {
            if KerasModelSpec.tensorRef(arg) != nil {
                guard let v = tensors.next() else { throw call.error("argument \(i) is a tensor that was not passed") }
                out.append(v)
                continue
            }
            guard let (shape, values) = numbers(arg) else {
                throw call.error("argument \(i) (\(arg.jsonText)) is neither a tensor nor a number")
            }
            let isInteger = values.allSatisfy { $0 == $0.rounded() }
            let dtype: DType = tensorType.isFloatingPoint || isInteger ? tensorType : .float32
            let t = Tensor(shape: shape, scalars: values.map(Float.init)).converted(to: dtype)
            out.append(b.constant("\(call.name)/arg\(i)", t))
        }
        return out
    }

    /// A number, a boolean, or nested lists of them, as (shape, row-major values).
    static func numbers(_ v: JSONValue) -> ([Int], [Double])? {
        if let d = v.double { return ([], [d]) }
        if let f = v.bool { return ([], [f ? 1 : 0]) }
        guard let list = v.array, !list.isEmpty else { return nil }
        let parts = list.compactMap(numbers)
        guard parts.count == list.count, parts.allSatisfy({ $0.0 == parts[0].0 }) else { return nil }
        return ([list.count] + parts[0].0, parts.flatMap(\.1))
    }

    static func elementwise(_ op: String) -> LayerConverter {
        return { call, b in
            [try b.node(op, name: call.name, inputs: try operands(call, &b), output: call.outputName)]
        }
    }

    static let notEqual: LayerConverter = { call, b in
        let equal = try b.node("Equal", name: call.name, inputs: try operands(call, &b), output: call.outputName + "/equal")
        return [try b.node("Not", name: call.name, inputs: [equal], output: call.outputName)]
    }

    static let square: LayerConverter = { call, b in
        let x = try call.input()
        return [try b.node("Mul", name: call.name, inputs: [x, x], output: call.outputName)]
    }

    /// The op's `axis` (an int, a list, or null for every axis) as IR attributes with `keepdims`.
    static func reductionAttributes(_ call: LayerCall, _ b: GraphBuilder) throws -> [String: Attribute] {
        var attributes: [String: Attribute] = ["keepdims": .int(call.config["keepdims"].bool == true ? 1 : 0)]
        let axis = call.config["axis"]
        if let a = axis.int {
            attributes["axes"] = .ints([a])
        } else if let list = axis.array {
            attributes["axes"] = .ints(list.compactMap(\.int))
        } else if !axis.isNull {
            throw call.error("axis \(axis.jsonText) is not an int or a list of ints")
        }
        return attributes
    }

    static func reduction(_ op: String) -> LayerConverter {
        return { call, b in
            [try b.node(op, name: call.name, inputs: [try call.input()], output: call.outputName,
                        attributes: try reductionAttributes(call, b))]
        }
    }

    /// `any`/`all`: the maximum/minimum of the booleans as 0/1 integers, back to booleans.
    static func logicalReduction(_ op: String) -> LayerConverter {
        return { call, b in
            let x = try call.input()
            let ints = try b.node("Cast", name: call.name, inputs: [x], output: call.outputName + "/int",
                                  attributes: ["to": .int(DType.int32.onnxCode)])
            let reduced = try b.node(op, name: call.name, inputs: [ints], output: call.outputName + "/reduced",
                                     attributes: try reductionAttributes(call, b))
            return [try b.node("Cast", name: call.name, inputs: [reduced], output: call.outputName,
                               attributes: ["to": .int(DType.bool.onnxCode)])]
        }
    }

    static let expandDims: LayerConverter = { call, b in
        let axes = call.config["axis"].int.map { [$0] } ?? call.config["axis"].array?.compactMap(\.int) ?? []
        guard !axes.isEmpty else { throw call.error("config has no 'axis'") }
        return [try b.node("Unsqueeze", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: ["axes": .ints(axes)])]
    }

    static let squeeze: LayerConverter = { call, b in
        let axes = call.config["axis"].int.map { [$0] } ?? call.config["axis"].array?.compactMap(\.int)
        return [try b.node("Squeeze", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: axes.map { ["axes": .ints($0)] } ?? [:])]
    }

    static let cast: LayerConverter = { call, b in
        guard let name = try KerasImporter.dtypeName(call.config["dtype"]), let dtype = DType(rawValue: name) else {
            throw call.error("config has no known 'dtype'")
        }
        return [try b.node("Cast", name: call.name, inputs: [try call.input()], output: call.outputName,
                           attributes: ["to": .int(dtype.onnxCode)])]
    }
}
