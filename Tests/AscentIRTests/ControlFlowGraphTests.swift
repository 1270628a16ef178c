import AscentIR
import AscentTestSupport
import Testing

/// Nested graphs in the IR: the captured-inputs convention, shape rules through branches and
/// bodies, validation and printing, and the inlining the gradient path uses.
@Suite struct ControlFlowGraphTests {
    static let scalar: [Int] = []

    /// `y = If(c) { x·2 } else { x[..2] }` on x `[N, 4]`, x captured by both branches.
    static func ifGraph(condition: Tensor? = nil) -> Graph {
        let x = ValueInfo(name: "x", type: ValueType(.float32, ["N", 4]))
        let then = Graph(name: "then", inputs: [x], outputs: [ValueInfo(name: "t", type: ValueType(.float32, nil))],
                         initializers: ["two": Tensor(scalar: Float(2))],
                         nodes: [Node(name: "double", op: "Mul", inputs: ["x", "two"], outputs: ["t"])])
        let otherwise = Graph(name: "else", inputs: [x], outputs: [ValueInfo(name: "e", type: ValueType(.float32, nil))],
                              initializers: ["starts": Tensor(shape: [1], scalars: [Int64(0)]), "ends": Tensor(shape: [1], scalars: [Int64(2)]),
                                             "axes": Tensor(shape: [1], scalars: [Int64(1)])],
                              nodes: [Node(name: "half", op: "Slice", inputs: ["x", "starts", "ends", "axes"], outputs: ["e"])])
        var initializers: [String: Tensor] = [:]
        var inputs = [x]
        if let condition { initializers["c"] = condition } else { inputs.append(ValueInfo(name: "c", type: ValueType(.bool, Shape(scalar)))) }
        return Graph(name: "branching", inputs: inputs, outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                     initializers: initializers,
                     nodes: [Node(name: "choose", op: "If", inputs: ["c", "x"], outputs: ["y"],
                                  attributes: ["then_branch": .graph(then), "else_branch": .graph(otherwise)])])
    }

    @Test func ifTypesFollowTheBranchTaken() throws {
        try Self.ifGraph().validate()
        #expect(try Self.ifGraph().inferTypes()["y"]?.description == "float32[N,?]", "the branches' sizes joined")
        #expect(try Self.ifGraph(condition: Tensor(scalar: true)).inferTypes()["y"]?.description == "float32[N,4]")
        #expect(try Self.ifGraph(condition: Tensor(scalar: false)).inferTypes()["y"]?.description == "float32[N,2]")
    }

    @Test func capturedValuesAreTheLastInputs() throws {
        let node = Self.ifGraph().nodes[0]
        #expect(node.capturedValues == ["x"] && node.subgraphs.map(\.attribute) == ["else_branch", "then_branch"])
        var g = Self.ifGraph()
        g.nodes[0].inputs = ["c"]
        #expect {
            try g.validate()
        } throws: { e in
            "\(e)".contains("node 'choose' (If)") && "\(e)".contains("has 1 inputs for 0 captured values")
        }
    }

    @Test func nestedGraphsValidateAndPrintIndented() throws {
        var g = Self.ifGraph()
        var then = try #require(g.nodes[0].attributes["then_branch"]?.graph)
        then.nodes[0].inputs = ["x", "missing"]
        g.nodes[0].attributes["then_branch"] = .graph(then)
        #expect {
            try g.validate()
        } throws: { e in
            "\(e)" == "node 'choose' (If): attribute 'then_branch': node 'double' (Mul): input 'missing' is not defined"
        }
        let text = Self.ifGraph().printed()
        #expect(text.contains("  %y = If(%c, %x) {else_branch=graph \"else\", then_branch=graph \"then\"}"), "\(text)")
        #expect(text.contains("    then_branch: graph \"then\" {\n      input  %x: float32[N,4]\n"), "\(text)")
        #expect(text.contains("      %t = Mul(%x, %two) : float32[N,4]  # double\n      output %t: float32[N,4]\n    }\n"), "\(text)")
    }

    /// Inlining a decided If: the taken branch's nodes under fresh names, the output kept.
    @Test func inliningWritesTheTakenBranch() throws {
        let g = try ControlFlowInlining.apply(Self.ifGraph(), [0: .branch(false)])
        try g.validate()
        #expect(g.nodes.map(\.op) == ["Slice", "Identity"] && g.nodes.last?.outputs == ["y"])
        #expect(g.nodes[0].inputs[0] == "x" && g.nodes[0].name == "choose/half")
        #expect(try g.inferTypes()["y"]?.description == "float32[N,2]")
    }

    /// Unrolling a Scan: one Gather per slice, the body per slice, the scan outputs stacked.
    @Test func unrollingAScanStacksItsOutputs() throws {
        let body = Graph(name: "body",
                         inputs: [ValueInfo(name: "s", type: ValueType(.float32, [2])), ValueInfo(name: "e", type: ValueType(.float32, [2]))],
                         outputs: [ValueInfo(name: "s2", type: ValueType(.float32, [2])), ValueInfo(name: "o", type: ValueType(.float32, [2]))],
                         nodes: [Node(name: "add", op: "Add", inputs: ["s", "e"], outputs: ["s2"]),
                                 Node(name: "copy", op: "Identity", inputs: ["s2"], outputs: ["o"])])
        let g = Graph(name: "cumulative", inputs: [ValueInfo(name: "init", type: ValueType(.float32, [2])),
                                                   ValueInfo(name: "xs", type: ValueType(.float32, [3, 2]))],
                      outputs: [ValueInfo(name: "last", type: ValueType(.float32, [2])), ValueInfo(name: "all", type: ValueType(.float32, [3, 2]))],
                      nodes: [Node(name: "scan", op: "Scan", inputs: ["init", "xs"], outputs: ["last", "all"],
                                   attributes: ["body": .graph(body), "num_scan_inputs": .int(1)])])
        try g.validate()
        #expect(try g.inferTypes()["all"]?.description == "float32[3,2]")
        let unrolled = try ControlFlowInlining.apply(g, [0: .iterations(3)])
        try unrolled.validate()
        #expect(!unrolled.hasControlFlow)
        #expect(unrolled.nodes.filter { $0.op == "Gather" }.count == 3 && unrolled.nodes.filter { $0.op == "Add" }.count == 3)
        #expect(try unrolled.inferTypes()["all"]?.description == "float32[3,2]")
    }
}
