import AscentIR
import AscentKeras
@testable import AscentProbe
import AscentTestSupport
import Testing

@Suite struct TargetTests {
    @Test func parsesEveryForm() throws {
        #expect(try Target(parsing: "logit:3") == .logit(3))
        #expect(try Target(parsing: "output:probs:7") == .output(name: "probs", index: 7))
        #expect(try Target(parsing: "output:a:b:2") == .output(name: "a:b", index: 2))
        #expect(try Target(parsing: "layer:conv1:5") == .layer(name: "conv1", channel: 5, reduction: .mean))
        #expect(try Target(parsing: "layer:conv1:5:max") == .layer(name: "conv1", channel: 5, reduction: .max))
        #expect(try Target(parsing: "layer:block/conv:0:1") == .layer(name: "block/conv:0", channel: 1, reduction: .mean))
        for bad in ["logit", "logit:x", "logit:-1", "layer:conv1", "pixel:3", "", "output:probs"] {
            #expect(throws: AscentError.self, "\(bad)") { try Target(parsing: bad) }
        }
        #expect(try Target(parsing: "layer:c:1:max").description == "layer:c:1:max")
    }

    @Test func rangesExpandToOneTargetEach() throws {
        #expect(try Target.expanding("logit:0-2") == [.logit(0), .logit(1), .logit(2)])
        #expect(try Target.expanding("layer:conv1:3-4:max") == [.layer(name: "conv1", channel: 3, reduction: .max),
                                                                 .layer(name: "conv1", channel: 4, reduction: .max)])
        #expect(try Target.expanding("layer:block-1:2") == [.layer(name: "block-1", channel: 2, reduction: .mean)])
        #expect(try Target.expanding("layer:conv1:7") == [.layer(name: "conv1", channel: 7, reduction: .mean)])
        for bad in ["logit:3-1", "logit:0-5000", "layer:conv1:x-2"] {
            #expect(throws: AscentError.self, "\(bad)") { try Target.expanding(bad) }
        }
    }

    func digits() throws -> Graph { try KerasImporter.load(path: TestPaths.fixture("digits/digits.h5").path) }

    @Test func logitWalksBackThroughTheSoftmax() throws {
        let o = try Objective(.logit(4), on: try digits())
        #expect(o.source == "logits")
        #expect(o.summary == "logit:4 (value 'logits', before Softmax 'probs')")
        #expect(try o.graph.inferTypes()[o.value]?.shape == Shape([Dim.symbol("N")]))
        let grad = try GradientBuilder.build(o.graph, of: o.value, withRespectTo: ["input"])
        try grad.graph.validate()
    }

    @Test func layerTargetsUseTheLayoutTag() throws {
        let o = try Objective(.layer(name: "conv2", channel: 15, reduction: .max), on: try digits(), border: 2)
        #expect(o.summary == "layer:conv2:15:max (value 'conv2', channel axis 3, border 2)")
        _ = try GradientBuilder.build(o.graph, of: o.value, withRespectTo: ["input"])
    }

    @Test func unknownNamesSuggestTheClosest() throws {
        do {
            _ = try Objective(.layer(name: "conv3", channel: 0, reduction: .mean), on: try digits())
            Issue.record("expected an error")
        } catch let e as AscentError {
            #expect(e.kind == .invalidData)
            #expect(e.description.hasPrefix("no layer 'conv3'; closest: 'conv1', 'conv2'"), "\(e)")
        }
        #expect(throws: AscentError.self) { try Objective(.logit(10), on: try digits()) }
        #expect(throws: AscentError.self) { try Objective(.layer(name: "conv1", channel: 8, reduction: .mean), on: try digits()) }
        #expect(throws: AscentError.self) { try Objective(.output(name: "prob", index: 1), on: try digits()) }
    }
}
