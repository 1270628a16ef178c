import AscentIR
import Testing

/// Sequence and optional value types in the IR: their text, parsing, and the refusal of a sequence
/// where an op takes tensors.
@Suite struct SequenceTypeTests {
    @Test func typesPrintAndParse() throws {
        let shape = Shape([Dim.unknown, .known(3)])
        let cases: [(ValueType, String)] = [
            (ValueType(.float32, shape, kind: .sequence), "seq(float32[?,3])"),
            (ValueType(.int64, Shape([2]), kind: .optionalTensor), "optional(int64[2])"),
            (ValueType(.float32, nil, kind: .optionalSequence), "optional(seq(float32[?]))"),
        ]
        for (type, text) in cases {
            #expect(type.description == text)
            let parsed = try #require(ValueType(parsing: text))
            #expect(parsed.dtype == type.dtype && parsed.kind == type.kind, "\(text)")
        }
        #expect(ValueType(parsing: "seq(seq(float32[?]))") == nil)
        #expect(ValueType(parsing: "list(float32)") == nil)
    }

    /// A sequence fed to Add is refused by validation, naming the op and the value.
    @Test func tensorOpsRefuseSequences() throws {
        let seq = ValueType(.float32, Shape([2]), kind: .sequence)
        let graph = Graph(name: "g", inputs: [ValueInfo(name: "s", type: seq)],
                          outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                          nodes: [Node(name: "add", op: "Add", inputs: ["s", "s"], outputs: ["y"])])
        #expect(throws: AscentError.self) { try graph.validate() }
        do { try graph.validate() } catch let e as AscentError {
            #expect(e.message.contains("Add takes tensors; input 's' is seq(float32[2])"), "\(e.message)")
        }
        // The same graph through SequenceAt types its output as the element tensor.
        let at = Graph(name: "g", inputs: [ValueInfo(name: "s", type: seq)],
                       outputs: [ValueInfo(name: "y", type: ValueType(.float32, nil))],
                       initializers: ["i": Tensor(scalar: Int64(0))],
                       nodes: [Node(name: "at", op: "SequenceAt", inputs: ["s", "i"], outputs: ["t"]),
                               Node(name: "add", op: "Add", inputs: ["t", "t"], outputs: ["y"])])
        try at.validate()
        #expect(try at.inferTypes()["t"] == ValueType(.float32, Shape([2])))
    }
}
