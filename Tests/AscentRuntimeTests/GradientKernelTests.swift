import AscentIR
import AscentRuntime
import AscentTestSupport
import Testing

/// A forward graph of a few nodes checked against central finite differences: the gradient
/// graph (``GradientBuilder`` + the runtime's backward kernels) gives d⟨y, r⟩/d(input) for a
/// random cotangent `r`; the numeric derivative perturbs each input element by ±eps and
/// evaluates ⟨y, r⟩ in float64 from the float32 forward outputs. Inputs avoid kinks by
/// construction (values kept away from 0, ties and clip bounds by more than eps).
struct GradCase: Sendable, CustomStringConvertible {
    var name: String
    var nodes: [Node]
    /// Floating inputs (graph inputs), by name, in a fixed order.
    var inputs: [(String, Tensor)]
    /// Integer or fixed constants (initializers).
    var constants: [String: Tensor] = [:]
    /// Which inputs to differentiate (default: all).
    var wrt: [String]? = nil
    var output = "y"
    var eps: Float = 1e-2
    var tolerance = 1e-3
    var description: String { name }
}

extension SeededRandom {
    /// Magnitudes in [0.1, 1) with random signs: no element within 0.1 of a kink at 0.
    mutating func awayFromZero(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
            Float((0.1 + 0.9 * nextUnit()) * (nextUnit() < 0.5 ? -1 : 1))
        })
    }
    /// Distinct values 0.05 apart in random order (unique maxima, gaps wider than 2·eps).
    mutating func distinct(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var values = (0..<n).map { Float($0) * 0.05 - Float(n) * 0.025 }
        for i in stride(from: n - 1, to: 0, by: -1) { values.swapAt(i, Int(nextUnit() * Double(i + 1))) }
        return Tensor(shape: shape, scalars: values)
    }
    static func distinct(seed: UInt64, _ shape: [Int]) -> Tensor {
        var r = SeededRandom(seed)
        return r.distinct(shape)
    }
}

enum GradCheck {
    static func graph(_ c: GradCase, extraInputs: [ValueInfo] = []) -> Graph {
        Graph(name: c.name,
              inputs: c.inputs.map { ValueInfo(name: $0.0, type: ValueType($0.1.dtype, Shape($0.1.shape))) } + extraInputs,
              outputs: [ValueInfo(name: c.output, type: ValueType(.float32, nil))],
              initializers: c.constants, nodes: c.nodes)
    }

    /// Runs the check; returns the relative L2 error per differentiated input.
    @discardableResult
    static func run(_ c: GradCase, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Double] {
        let forward = try Session(graph: graph(c))
        var feeds = Dictionary(uniqueKeysWithValues: c.inputs)
        let y = try #require(try forward.run(feeds)[c.output], sourceLocation: sourceLocation)
        var random = SeededRandom(0xC0FFEE)
        let r = random.uniform(y.shape, 0.5, 1.5)
        let weights = r.doubles()
        func objective(_ feeds: [String: Tensor]) throws -> Double {
            let out = try forward.run(feeds)[c.output]?.doubles() ?? []
            return zip(out, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }

        let wrt = c.wrt ?? c.inputs.map(\.0)
        let seedInfo = ValueInfo(name: "seed", type: ValueType(.float32, Shape(y.shape)))
        let built = try GradientBuilder.build(graph(c, extraInputs: [seedInfo]), of: c.output, withRespectTo: wrt, seed: "seed")
        feeds["seed"] = r
        let analytic = try Session(graph: built.graph).run(feeds)
        feeds["seed"] = nil

        var errors: [String: Double] = [:]
        for name in wrt {
            let x = try #require(feeds[name], sourceLocation: sourceLocation)
            let ours = try #require(analytic[built.gradients[name] ?? ""], sourceLocation: sourceLocation)
            #expect(ours.shape == x.shape, "\(c.name) d/d\(name): shape \(ours.shape)", sourceLocation: sourceLocation)
            var values = x.floats()
            var numeric: [Double] = []
            for i in values.indices {
                let v = values[i]
                values[i] = v + c.eps
                feeds[name] = Tensor(shape: x.shape, scalars: values)
                let plus = try objective(feeds)
                values[i] = v - c.eps
                feeds[name] = Tensor(shape: x.shape, scalars: values)
                let minus = try objective(feeds)
                values[i] = v
                // The perturbation actually applied, in float32.
                numeric.append((plus - minus) / (Double(v + c.eps) - Double(v - c.eps)))
            }
            feeds[name] = x
            #expect(numeric.contains { $0 != 0 }, "\(c.name) d/d\(name): the numeric gradient is zero", sourceLocation: sourceLocation)
            errors[name] = expectRelativeL2(ours, Tensor(shape: x.shape, scalars: numeric), atMost: c.tolerance, dtypes: .anyFloatingPoint,
                                            "\(c.name) d/d\(name) vs central differences", sourceLocation: sourceLocation).measured
        }
        return errors
    }
}

/// Node shorthand.
func node(_ op: String, _ inputs: [String], _ output: String = "y", _ attributes: [String: Attribute] = [:]) -> Node {
    Node(name: output, op: op, inputs: inputs, outputs: [output], attributes: attributes)
}

func int64s(_ v: [Int]) -> Tensor { Tensor(shape: [v.count], scalars: v.map(Int64.init)) }

/// Finite-difference checks of every backward primitive through the VJP rules that emit them.
@Suite struct GradientConvolutionTests {
    /// A Conv case: input and kernel shapes, layout and attributes.
    static func conv(_ name: String, x: [Int], w: [Int], nhwc: Bool = false, bias: Bool = false,
                     _ attributes: [String: Attribute] = [:], seed: UInt64 = 1) -> GradCase {
        var rng = SeededRandom(seed)
        var attrs = attributes
        attrs["data_format"] = .string(nhwc ? "NHWC" : "NCHW")
        var inputs = [("x", rng.uniform(x)), ("w", rng.uniform(w))]
        let out = nhwc ? w[w.count - 1] : w[0]
        if bias { inputs.append(("b", rng.uniform([out]))) }
        return GradCase(name: name, nodes: [node("Conv", inputs.map(\.0), "y", attrs)], inputs: inputs)
    }

    static let cases: [GradCase] = [
        conv("NCHW 3x3 pads", x: [2, 3, 6, 5], w: [4, 3, 3, 3], bias: true, ["pads": .ints([1, 1, 1, 1])]),
        conv("NCHW stride 2 dilation 2 asymmetric pads", x: [1, 2, 9, 8], w: [3, 2, 3, 2],
             ["strides": .ints([2, 2]), "dilations": .ints([2, 1]), "pads": .ints([1, 0, 2, 1])]),
        conv("NCHW groups 2", x: [2, 4, 5, 5], w: [6, 2, 3, 3], ["group": .int(2), "pads": .ints([1, 1, 1, 1])]),
        conv("NCHW depthwise", x: [1, 3, 6, 6], w: [6, 1, 3, 3], ["group": .int(3), "strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        conv("NCHW SAME_UPPER stride 2", x: [1, 2, 7, 6], w: [3, 2, 3, 3], ["strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        conv("NCHW SAME_LOWER", x: [1, 2, 5, 6], w: [2, 2, 2, 2], ["auto_pad": .string("SAME_LOWER")]),
        conv("NCHW pointwise", x: [2, 3, 4, 4], w: [5, 3, 1, 1], bias: true),
        conv("NCHW pointwise stride 2", x: [1, 3, 5, 5], w: [2, 3, 1, 1], ["strides": .ints([2, 2])]),
        conv("NCW 1-D", x: [2, 3, 9], w: [4, 3, 3], ["pads": .ints([2, 0]), "dilations": .ints([2])]),
        conv("NCW 1-D depthwise", x: [2, 3, 8], w: [3, 1, 3], ["group": .int(3), "pads": .ints([1, 1]), "strides": .ints([2])]),
        conv("NCDHW 3-D depthwise", x: [1, 2, 4, 4, 3], w: [4, 1, 2, 3, 2], ["group": .int(2), "pads": .ints([0, 1, 1, 1, 1, 0])]),
        conv("NCDHW 3-D", x: [1, 2, 4, 5, 4], w: [3, 2, 2, 3, 2], ["pads": .ints([1, 0, 1, 0, 1, 0]), "strides": .ints([1, 2, 1])]),
        conv("NHWC 3x3 bias", x: [2, 6, 5, 3], w: [3, 3, 3, 4], nhwc: true, bias: true, ["pads": .ints([1, 1, 1, 1])]),
        conv("NHWC SAME_UPPER stride 2", x: [2, 7, 8, 2], w: [3, 3, 2, 3], nhwc: true,
             ["strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        conv("NHWC dilation 2", x: [1, 8, 7, 2], w: [3, 2, 2, 3], nhwc: true, ["dilations": .ints([2, 2])]),
        conv("NHWC groups 2", x: [1, 5, 5, 4], w: [3, 3, 2, 6], nhwc: true, ["group": .int(2), "pads": .ints([1, 1, 1, 1])]),
        conv("NHWC depthwise", x: [2, 6, 6, 4], w: [3, 3, 1, 4], nhwc: true, bias: true,
             ["group": .int(4), "auto_pad": .string("SAME_UPPER")]),
        conv("NHWC depthwise stride 2 padded", x: [1, 7, 7, 3], w: [3, 3, 1, 3], nhwc: true,
             ["group": .int(3), "strides": .ints([2, 2]), "pads": .ints([0, 0, 1, 1])]),
        conv("NHWC depthwise multiplier 2", x: [1, 5, 5, 2], w: [3, 3, 1, 4], nhwc: true, ["group": .int(2), "dilations": .ints([2, 1])]),
        conv("NHWC pointwise", x: [2, 3, 4, 5], w: [1, 1, 5, 3], nhwc: true, bias: true),
        conv("NHWC pointwise groups", x: [1, 3, 3, 4], w: [1, 1, 2, 4], nhwc: true, ["group": .int(2)]),
        conv("NWC 1-D causal", x: [2, 8, 3], w: [3, 3, 4], nhwc: true, ["pads": .ints([2, 0])]),
        conv("NDHWC 3-D", x: [1, 3, 4, 4, 2], w: [2, 2, 3, 2, 3], nhwc: true, ["auto_pad": .string("SAME_UPPER"), "strides": .ints([2, 1, 2])]),
    ]

    @Test(arguments: cases)
    func convGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// ConvGradInput and ConvGradFilter against a direct float64 evaluation of the sums (2-D,
    /// both layouts, grouped and depthwise with multiplier 1 and 2, strides, dilations,
    /// asymmetric padding).
    @Test(arguments: [(false, 2, 6), (true, 2, 6), (false, 4, 8), (true, 4, 4), (true, 4, 8)])
    func convGradientsMatchDirectSums(nhwc: Bool, group: Int, o: Int) throws {
        var rng = SeededRandom(7)
        let (n, c, h, w, kh, kw) = (2, 4, 7, 6, 3, 2)
        let (sh, sw, dh, dw, pt, pl, pb, pr) = (2, 1, 1, 2, 1, 0, 2, 1)
        let oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1, ow = (w + pl + pr - dw * (kw - 1) - 1) / sw + 1
        let cg = c / group, og = o / group
        let xShape = nhwc ? [n, h, w, c] : [n, c, h, w]
        let wShape = nhwc ? [kh, kw, cg, o] : [o, cg, kh, kw]
        let yShape = nhwc ? [n, oh, ow, o] : [n, o, oh, ow]
        let x = rng.uniform(xShape), k = rng.uniform(wShape), dy = rng.uniform(yShape)
        func xi(_ b: Int, _ ch: Int, _ i: Int, _ j: Int) -> Int { nhwc ? ((b * h + i) * w + j) * c + ch : ((b * c + ch) * h + i) * w + j }
        func wi(_ oc: Int, _ ch: Int, _ i: Int, _ j: Int) -> Int { nhwc ? ((i * kw + j) * cg + ch) * o + oc : ((oc * cg + ch) * kh + i) * kw + j }
        func yi(_ b: Int, _ oc: Int, _ i: Int, _ j: Int) -> Int { nhwc ? ((b * oh + i) * ow + j) * o + oc : ((b * o + oc) * oh + i) * ow + j }
        let xv = x.doubles(), kv = k.doubles(), dv = dy.doubles()
        var dx = [Double](repeating: 0, count: xv.count), dk = [Double](repeating: 0, count: kv.count)
        for b in 0..<n { for oc in 0..<o { for i in 0..<oh { for j in 0..<ow {
            let gi = oc / og
            for ch in 0..<cg { for a in 0..<kh { for e in 0..<kw {
                let r = i * sh - pt + a * dh, s = j * sw - pl + e * dw
                guard r >= 0, r < h, s >= 0, s < w else { continue }
                let g = dv[yi(b, oc, i, j)]
                dx[xi(b, gi * cg + ch, r, s)] += g * kv[wi(oc, ch, a, e)]
                dk[wi(oc, ch, a, e)] += g * xv[xi(b, gi * cg + ch, r, s)]
            } } }
        } } } }
        let attrs: [String: Attribute] = ["data_format": .string(nhwc ? "NHWC" : "NCHW"), "group": .int(group),
                                          "strides": .ints([sh, sw]), "dilations": .ints([dh, dw]), "pads": .ints([pt, pl, pb, pr])]
        let g = Graph(name: "convgrad",
                      inputs: [ValueInfo(name: "x", type: ValueType(.float32, Shape(xShape))),
                               ValueInfo(name: "w", type: ValueType(.float32, Shape(wShape))),
                               ValueInfo(name: "dy", type: ValueType(.float32, Shape(yShape)))],
                      outputs: [ValueInfo(name: "dx", type: ValueType(.float32, nil)), ValueInfo(name: "dw", type: ValueType(.float32, nil))],
                      nodes: [node("ConvGradInput", ["dy", "w", "x"], "dx", attrs), node("ConvGradFilter", ["x", "dy", "w"], "dw", attrs)])
        let out = try Session(graph: g).run(["x": x, "w": k, "dy": dy])
        let ours = try #require(out["dx"]), oursW = try #require(out["dw"])
        // Float32 kernels against float64 sums.
        expectRelativeL2(ours, Tensor(shape: xShape, scalars: dx), atMost: 1e-6, dtypes: .anyFloatingPoint, "dx")
        expectRelativeL2(oursW, Tensor(shape: wShape, scalars: dk), atMost: 1e-6, dtypes: .anyFloatingPoint, "dw")
    }

    @Test func mismatchedOutputGradientIsRefused() throws {
        let g = Graph(name: "bad",
                      inputs: [ValueInfo(name: "x", type: ValueType(.float32, [1, 2, 5, 5])),
                               ValueInfo(name: "w", type: ValueType(.float32, [3, 2, 3, 3])),
                               ValueInfo(name: "dy", type: ValueType(.float32, [1, 3, 5, 5]))],
                      outputs: [ValueInfo(name: "dx", type: ValueType(.float32, nil))],
                      nodes: [node("ConvGradInput", ["dy", "w", "x"], "dx")])
        let s = try Session(graph: g)
        let x = Tensor(shape: [1, 2, 5, 5], scalars: [Float](repeating: 0, count: 50))
        let w = Tensor(shape: [3, 2, 3, 3], scalars: [Float](repeating: 0, count: 54))
        let dy = Tensor(shape: [1, 3, 5, 5], scalars: [Float](repeating: 0, count: 75))
        #expect(throws: AscentError.self) { try s.run(["x": x, "w": w, "dy": dy]) }
    }
}

@Suite struct GradientPoolingTests {
    static func pool(_ name: String, _ op: String, x: [Int], nhwc: Bool = false, _ attributes: [String: Attribute], seed: UInt64 = 3) -> GradCase {
        var rng = SeededRandom(seed)
        var attrs = attributes
        if !op.hasPrefix("Global") || nhwc { attrs["data_format"] = .string(nhwc ? "NHWC" : "NCHW") }
        let input = op.contains("Max") ? rng.distinct(x) : rng.uniform(x)
        return GradCase(name: name, nodes: [node(op, ["x"], "y", attrs)], inputs: [("x", input)])
    }

    static let cases: [GradCase] = [
        pool("MaxPool NCHW 2x2", "MaxPool", x: [2, 3, 6, 6], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
        pool("MaxPool NCHW overlapping padded", "MaxPool", x: [1, 2, 7, 6],
             ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 1]), "pads": .ints([1, 1, 1, 0])]),
        pool("MaxPool NCHW ceil_mode dilation", "MaxPool", x: [1, 2, 8, 7],
             ["kernel_shape": .ints([2, 2]), "strides": .ints([3, 2]), "dilations": .ints([2, 1]), "ceil_mode": .int(1)]),
        pool("MaxPool NHWC SAME_UPPER", "MaxPool", x: [2, 5, 5, 3], nhwc: true,
             ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        pool("MaxPool NWC 1-D", "MaxPool", x: [2, 9, 4], nhwc: true, ["kernel_shape": .ints([2]), "strides": .ints([2])]),
        pool("MaxPool NHWC wide channels", "MaxPool", x: [1, 4, 4, 70], nhwc: true, ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
        pool("AveragePool NCHW padded", "AveragePool", x: [2, 2, 6, 5],
             ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
        pool("AveragePool NCHW count_include_pad ceil_mode", "AveragePool", x: [1, 2, 7, 7],
             ["kernel_shape": .ints([3, 2]), "strides": .ints([2, 2]), "pads": .ints([1, 0, 0, 1]), "count_include_pad": .int(1), "ceil_mode": .int(1)]),
        pool("AveragePool NHWC SAME_UPPER", "AveragePool", x: [2, 5, 7, 3], nhwc: true,
             ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
        pool("AveragePool NHWC count_include_pad", "AveragePool", x: [1, 6, 6, 2], nhwc: true,
             ["kernel_shape": .ints([2, 2]), "pads": .ints([1, 1, 0, 0]), "count_include_pad": .int(1)]),
        pool("AveragePool NCDHW 3-D", "AveragePool", x: [1, 2, 4, 4, 4], ["kernel_shape": .ints([2, 2, 2]), "strides": .ints([2, 2, 2])]),
        pool("GlobalAveragePool NCHW", "GlobalAveragePool", x: [2, 3, 4, 5], [:]),
        pool("GlobalAveragePool NHWC", "GlobalAveragePool", x: [2, 4, 3, 5], nhwc: true, [:]),
        pool("GlobalMaxPool NCHW", "GlobalMaxPool", x: [2, 3, 4, 4], [:]),
        pool("GlobalMaxPool NWC", "GlobalMaxPool", x: [2, 6, 3], nhwc: true, [:]),
    ]

    @Test(arguments: cases)
    func poolGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// Runs one backward primitive on given tensors.
    static func run(_ op: String, _ inputs: [(String, Tensor)], constants: [String: Tensor] = [:], inputNames: [String]? = nil,
                    _ attributes: [String: Attribute] = [:]) throws -> Tensor {
        let g = Graph(name: op, inputs: inputs.map { ValueInfo(name: $0.0, type: ValueType($0.1.dtype, Shape($0.1.shape))) },
                      outputs: [ValueInfo(name: "out", type: ValueType(.float32, nil))], initializers: constants,
                      nodes: [node(op, inputNames ?? inputs.map(\.0), "out", attributes)])
        return try #require(try Session(graph: g).run(Dictionary(uniqueKeysWithValues: inputs))["out"])
    }

    /// Ties go to the first maximum in scan order, as TensorFlow and PyTorch do; channels-last too.
    @Test(arguments: [false, true])
    func maxPoolGradRoutesTiesToTheFirstMaximum(nhwc: Bool) throws {
        // One 3x4 plane (two channels in NHWC, the second all ties at 5), 2x2 windows with stride 2.
        let plane: [Float] = [1, 3, 2, 2,
                              3, 0, 2, 1,
                              7, 7, 4, 9,
                              7, 1, 9, 9]
        let x: Tensor, dy: Tensor
        if nhwc {
            x = Tensor(shape: [1, 4, 4, 2], scalars: plane.flatMap { [$0, 5] })
            dy = Tensor(shape: [1, 2, 2, 2], scalars: [1, 10, 2, 20, 3, 30, 4, 40] as [Float])
        } else {
            x = Tensor(shape: [1, 1, 4, 4], scalars: plane)
            dy = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4] as [Float])
        }
        let dx = try Self.run("MaxPoolGrad", [("dy", dy), ("x", x)],
                              ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "data_format": .string(nhwc ? "NHWC" : "NCHW")])
        let expected: [Float] = [0, 1, 2, 0,
                                 0, 0, 0, 0,
                                 3, 0, 0, 4,
                                 0, 0, 0, 0]
        let got = dx.floats()
        if nhwc {
            #expect(stride(from: 0, to: got.count, by: 2).map { got[$0] } == expected)
            let ties = stride(from: 1, to: got.count, by: 2).map { got[$0] }
            #expect(ties == [10, 0, 20, 0, 0, 0, 0, 0, 30, 0, 40, 0, 0, 0, 0, 0])
        } else {
            #expect(got == expected)
        }
    }

    /// Global max pooling shares the gradient equally among tied maxima (TensorFlow's reduce_max).
    @Test func globalMaxPoolGradSharesTies() throws {
        let x = Tensor(shape: [1, 2, 2, 2], scalars: [1, 4, 4, 0, 2, 2, 2, 2] as [Float])
        let dy = Tensor(shape: [1, 2, 1, 1], scalars: [6, 8] as [Float])
        let dx = try Self.run("GlobalMaxPoolGrad", [("dy", dy), ("x", x)])
        #expect(dx.floats() == [0, 3, 3, 0, 2, 2, 2, 2])
        let avg = try Self.run("GlobalAveragePoolGrad", [("dy", dy), ("x", x)])
        #expect(avg.floats() == [1.5, 1.5, 1.5, 1.5, 2, 2, 2, 2])
    }

    /// SumTo: leading axes and size-1 axes, extra leading 1s on the reference, and a plain copy.
    @Test func sumToReducesBroadcastAxes() throws {
        let g = Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) })
        func sumTo(_ ref: [Int]) throws -> Tensor {
            try Self.run("SumTo", [("g", g), ("ref", Tensor(shape: ref, scalars: [Float](repeating: 0, count: ref.reduce(1, *))))])
        }
        let c = try sumTo([4])
        #expect(c.shape == [4] && c.floats() == [60, 66, 72, 78])
        let r = try sumTo([3, 1])
        #expect(r.shape == [3, 1] && r.floats() == [60, 92, 124])
        let m = try sumTo([2, 1, 4])
        #expect(m.shape == [2, 1, 4] && m.floats() == [12, 15, 18, 21, 48, 51, 54, 57])
        let all = try sumTo([1, 1, 1, 1])
        #expect(all.shape == [1, 1, 1, 1] && all.floats() == [276])
        let same = try sumTo([1, 2, 3, 4])
        #expect(same.shape == [1, 2, 3, 4] && same.floats() == g.floats())
        #expect(throws: AscentError.self) { try sumTo([3]) }
    }

    /// SliceGrad writes dy where Slice read, zeros elsewhere, for negative steps too.
    @Test func sliceGradScattersIntoZeros() throws {
        let x = Tensor(shape: [3, 5], scalars: [Float](repeating: 9, count: 15))
        let dy = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float])
        let dx = try Self.run("SliceGrad", [("dy", dy), ("x", x)],
                              constants: ["s": int64s([0, -1]), "e": int64s([3, 0]), "a": int64s([0, 1]), "t": int64s([2, -3])],
                              inputNames: ["dy", "x", "s", "e", "a", "t"])
        // Slice rows 0, 2 and columns 4, 1.
        #expect(dx.floats() == [0, 2, 0, 0, 1,
                                0, 0, 0, 0, 0,
                                0, 4, 0, 0, 3])
    }
}

/// The VJP rules of the other op families, through the runtime.
@Suite struct GradientRuleTests {
    static func unary(_ op: String, _ attributes: [String: Attribute] = [:], input: Tensor? = nil) -> GradCase {
        var rng = SeededRandom(11)
        return GradCase(name: op, nodes: [node(op, ["x"], "y", attributes)], inputs: [("x", input ?? rng.awayFromZero([3, 7]))])
    }

    /// Values in [-5, 5] at least 0.1 from ±3 (HardSwish/HardSigmoid kinks) and from 0.
    static var hardInputs: Tensor {
        let v: [Float] = [-4.8, -3.6, -2.9, -2.2, -1.5, -0.8, -0.3, 0.2, 0.7, 1.4, 2.1, 2.8, 3.2, 4.1, 4.9]
        return Tensor(shape: [3, 5], scalars: v)
    }

    static let unaryCases: [GradCase] = [
        unary("Relu"), unary("Sigmoid"), unary("Tanh"), unary("Swish"), unary("Swish", ["alpha": .float(1.702)]),
        unary("Gelu"), unary("Gelu", ["approximate": .string("tanh")]), unary("Elu"), unary("Elu", ["alpha": .float(0.5)]), unary("LeakyRelu", ["alpha": .float(0.2)]),
        unary("HardSwish", input: hardInputs), unary("HardSigmoid", ["alpha": .float(1.0 / 6), "beta": .float(0.5)], input: hardInputs),
        unary("Exp"), unary("Abs"), unary("Neg"), unary("Softplus"), unary("Softsign"), unary("Erf"), unary("Sin"), unary("Cos"),
        unary("Selu"), unary("Identity"), unary("Mish"), unary("Celu", ["alpha": .float(0.7)]),
        unary("Cast", ["to": .int(1)]),
        unary("Sqrt", input: SeededRandom.uniform(seed: 5, [3, 4], 0.5, 2)), unary("Log", input: SeededRandom.uniform(seed: 5, [3, 4], 0.5, 2)),
        unary("Reciprocal", input: SeededRandom.uniform(seed: 5, [3, 4], 0.5, 2)),
        unary("Softmax", ["axis": .int(1)]), unary("Softmax", ["axis": .int(0)]), unary("LogSoftmax", ["axis": .int(-1)]),
    ]

    @Test(arguments: unaryCases)
    func unaryGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// Piecewise-constant ops: exactly zero away from their jumps, as finite differences say.
    @Test(arguments: ["Floor", "Ceil", "Round", "Sign", "Hardmax"])
    func piecewiseConstantOpsHaveZeroGradient(_ op: String) throws {
        let x = Tensor(shape: [2, 3], scalars: [Float(-2.3), -0.7, 0.2, 0.6, 1.3, 2.8])
        let c = Self.unary(op, input: x)
        let built = try GradientBuilder.build(GradCheck.graph(c), of: c.output, withRespectTo: ["x"])
        let g = try Session(graph: built.graph).run(["x": x])[built.gradients["x"]!]!
        #expect(g.floats() == [Float](repeating: 0, count: 6))
        let forward = try Session(graph: GradCheck.graph(c))
        let shifted = Tensor(shape: [2, 3], scalars: x.floats().map { $0 + 0.01 })
        #expect(try forward.run(["x": x])[c.output]!.floats() == forward.run(["x": shifted])[c.output]!.floats())
    }

    static func binary(_ op: String, _ a: [Int], _ b: [Int], positiveB: Bool = false) -> GradCase {
        var rng = SeededRandom(13)
        let bv = positiveB ? rng.uniform(b, 0.5, 2) : rng.awayFromZero(b)
        return GradCase(name: "\(op) \(a) \(b)", nodes: [node(op, ["a", "b"])], inputs: [("a", rng.awayFromZero(a)), ("b", bv)])
    }

    static let binaryCases: [GradCase] = [
        binary("Add", [2, 3, 4], [4]), binary("Add", [3, 1], [2, 1, 4]), binary("Sub", [2, 3], [2, 1]),
        binary("Mul", [2, 3, 4], [3, 1]), binary("Mul", [1, 4], [3, 1]), binary("Div", [2, 3, 4], [4], positiveB: true),
        binary("Div", [4], [2, 3, 1], positiveB: true),
        GradCase(name: "Pow positive base", nodes: [node("Pow", ["a", "b"])],
                 inputs: [("a", SeededRandom.uniform(seed: 3, [2, 3], 0.5, 2)), ("b", SeededRandom.uniform(seed: 4, [3], -1, 2))]),
        binary("PRelu", [2, 3, 4], [3, 1]),
        GradCase(name: "Max/Min/Mean", nodes: [node("Max", ["a", "b"], "m"), node("Min", ["a", "b"], "n"), node("Mean", ["m", "n", "b"])],
                 inputs: [("a", SeededRandom.distinct(seed: 21, [2, 4])),
                          ("b", Tensor(shape: [4], scalars: [0.125, -0.075, 0.025, -0.175] as [Float]))]),
        GradCase(name: "Where", nodes: [node("Greater", ["c", "z"], "mask"), node("Where", ["mask", "a", "b"])],
                 inputs: [("a", SeededRandom.uniform(seed: 1, [2, 3])), ("b", SeededRandom.uniform(seed: 2, [3]))],
                 constants: ["c": Tensor(shape: [2, 3], scalars: [1, -1, 1, -1, -1, 1] as [Float]), "z": Tensor(scalar: Float(0))]),
        GradCase(name: "Clip", nodes: [node("Clip", ["a", "lo", "hi"])],
                 inputs: [("a", Tensor(shape: [6], scalars: [-2, -0.7, -0.2, 0.3, 0.8, 1.9] as [Float]))],
                 constants: ["lo": Tensor(scalar: Float(-0.5)), "hi": Tensor(scalar: Float(1))]),
    ]

    @Test(arguments: binaryCases)
    func binaryGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    static let linearCases: [GradCase] = {
        var rng = SeededRandom(17)
        return [
            GradCase(name: "MatMul 2-D", nodes: [node("MatMul", ["a", "b"])], inputs: [("a", rng.uniform([3, 4])), ("b", rng.uniform([4, 5]))]),
            GradCase(name: "MatMul batched × matrix", nodes: [node("MatMul", ["a", "b"])],
                     inputs: [("a", rng.uniform([2, 3, 4])), ("b", rng.uniform([4, 2]))]),
            GradCase(name: "MatMul broadcast batch", nodes: [node("MatMul", ["a", "b"])],
                     inputs: [("a", rng.uniform([3, 2, 4])), ("b", rng.uniform([2, 1, 4, 3]))]),
            GradCase(name: "Gemm", nodes: [node("Gemm", ["a", "b", "c"], "y", ["alpha": .float(0.7), "beta": .float(1.3)])],
                     inputs: [("a", rng.uniform([3, 4])), ("b", rng.uniform([4, 2])), ("c", rng.uniform([2]))]),
            GradCase(name: "Gemm transposed", nodes: [node("Gemm", ["a", "b", "c"], "y", ["transA": .int(1), "transB": .int(1)])],
                     inputs: [("a", rng.uniform([4, 3])), ("b", rng.uniform([2, 4])), ("c", rng.uniform([3, 1]))]),
            GradCase(name: "BatchNormalization NCHW", nodes: [node("BatchNormalization", ["x", "s", "b", "m", "v"], "y", ["epsilon": .float(1e-3)])],
                     inputs: [("x", rng.uniform([2, 3, 2, 2])), ("s", rng.uniform([3])), ("b", rng.uniform([3])),
                              ("m", rng.uniform([3])), ("v", rng.uniform([3], 0.5, 1.5))]),
            GradCase(name: "BatchNormalization NHWC", nodes: [node("BatchNormalization", ["x", "s", "b", "m", "v"], "y", ["axis": .int(-1)])],
                     inputs: [("x", rng.uniform([2, 2, 3, 4])), ("s", rng.uniform([4])), ("b", rng.uniform([4])),
                              ("m", rng.uniform([4])), ("v", rng.uniform([4], 0.5, 1.5))]),
            GradCase(name: "LayerNormalization last axis", nodes: [node("LayerNormalization", ["x", "s", "b"], "y", ["epsilon": .float(1e-3)])],
                     inputs: [("x", rng.uniform([3, 5])), ("s", rng.uniform([5])), ("b", rng.uniform([5]))]),
            GradCase(name: "LayerNormalization trailing block", nodes: [node("LayerNormalization", ["x", "s", "b"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 3, 4])), ("s", rng.uniform([3, 4])), ("b", rng.uniform([4]))]),
        ]
    }()

    @Test(arguments: linearCases)
    func linearAndNormalizationGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    static let shapeCases: [GradCase] = {
        var rng = SeededRandom(19)
        return [
            GradCase(name: "Reshape", nodes: [node("Reshape", ["x", "shape"])], inputs: [("x", rng.uniform([2, 6]))],
                     constants: ["shape": int64s([3, -1])]),
            GradCase(name: "Flatten", nodes: [node("Flatten", ["x"], "y", ["axis": .int(2)])], inputs: [("x", rng.uniform([2, 3, 2]))]),
            GradCase(name: "Transpose", nodes: [node("Transpose", ["x"], "y", ["perm": .ints([2, 0, 1])])], inputs: [("x", rng.uniform([2, 3, 4]))]),
            GradCase(name: "Concat", nodes: [node("Concat", ["a", "b", "a"], "y", ["axis": .int(1)])],
                     inputs: [("a", rng.uniform([2, 2, 3])), ("b", rng.uniform([2, 1, 3]))]),
            GradCase(name: "Slice steps", nodes: [node("Slice", ["x", "s", "e", "a", "t"])], inputs: [("x", rng.uniform([4, 6]))],
                     constants: ["s": int64s([1, -1]), "e": int64s([4, 0]), "a": int64s([0, 1]), "t": int64s([1, -2])]),
            GradCase(name: "Squeeze/Unsqueeze", nodes: [node("Unsqueeze", ["x", "ax"], "u"), node("Squeeze", ["u", "sq"])],
                     inputs: [("x", rng.uniform([2, 1, 3]))], constants: ["ax": int64s([0, 3]), "sq": int64s([0, 2])]),
            GradCase(name: "ReduceMean keepdims", nodes: [node("ReduceMean", ["x"], "y", ["axes": .ints([1, 2])])], inputs: [("x", rng.uniform([2, 3, 4]))]),
            GradCase(name: "ReduceSum no keepdims", nodes: [node("ReduceSum", ["x"], "y", ["axes": .ints([0]), "keepdims": .int(0)])],
                     inputs: [("x", rng.uniform([3, 4]))]),
            GradCase(name: "ReduceMax", nodes: [node("ReduceMax", ["x"], "y", ["axes": .ints([-1]), "keepdims": .int(0)])],
                     inputs: [("x", rng.distinct([3, 5]))]),
            GradCase(name: "ReduceMin all", nodes: [node("ReduceMin", ["x"])], inputs: [("x", rng.distinct([3, 4]))]),
            GradCase(name: "Expand", nodes: [node("Expand", ["x", "shape"])], inputs: [("x", rng.uniform([3, 1]))],
                     constants: ["shape": int64s([2, 3, 4])]),
            GradCase(name: "Pad constant", nodes: [node("Pad", ["x", "pads"], "y", ["mode": .string("constant")])],
                     inputs: [("x", rng.uniform([2, 3, 3]))], constants: ["pads": int64s([0, 1, 2, 0, 2, 1])]),
            GradCase(name: "Pad negative pads, axes", nodes: [node("Pad", ["x", "pads", "", "axes"])],
                     inputs: [("x", rng.uniform([3, 5]))], constants: ["pads": int64s([-1, 2, 1, -2]), "axes": int64s([1, 0])]),
            GradCase(name: "Gather axis 0 (embedding)", nodes: [node("Gather", ["table", "ids"])],
                     inputs: [("table", rng.uniform([5, 3]))], constants: ["ids": int64s([4, 0, 4, -1, 2, 2])]),
            GradCase(name: "Split (one output unused)",
                     nodes: [Node(name: "split", op: "Split", inputs: ["x", "sizes"], outputs: ["p", "q", "r"], attributes: ["axis": .int(1)]),
                             node("Mul", ["p", "p"], "pp"), node("Concat", ["pp", "r"], "y", ["axis": .int(1)])],
                     inputs: [("x", rng.uniform([2, 6]))], constants: ["sizes": int64s([2, 3, 1])]),
        ]
    }()

    @Test(arguments: shapeCases)
    func shapeAndIndexingGradientsMatchFiniteDifferences(_ c: GradCase) throws {
        try GradCheck.run(c)
    }

    /// A small network: several rules composed, the engine summing a value used twice.
    @Test func composedNetworkMatchesFiniteDifferences() throws {
        var rng = SeededRandom(23)
        let c = GradCase(name: "conv-bn-relu-pool-dense", nodes: [
            node("Conv", ["x", "w"], "c", ["data_format": .string("NHWC"), "auto_pad": .string("SAME_UPPER")]),
            node("BatchNormalization", ["c", "s", "b", "m", "v"], "bn", ["axis": .int(-1)]),
            node("Tanh", ["bn"], "t"),
            node("Add", ["t", "c"], "r"),
            node("MaxPool", ["r"], "p", ["data_format": .string("NHWC"), "kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]),
            node("GlobalAveragePool", ["p"], "g", ["data_format": .string("NHWC")]),
            node("Flatten", ["g"], "f"),
            node("MatMul", ["f", "d"], "y"),
        ], inputs: [("x", rng.uniform([2, 4, 4, 2])), ("w", rng.uniform([3, 3, 2, 3]))],
           constants: ["s": rng.uniform([3]), "b": rng.uniform([3]), "m": rng.uniform([3]), "v": rng.uniform([3], 0.5, 1.5),
                       "d": rng.uniform([3, 2])], eps: 1e-3)
        try GradCheck.run(c)
    }
}
