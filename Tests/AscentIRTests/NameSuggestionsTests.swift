import AscentIR
import Testing

@Suite struct NameSuggestionsTests {
    /// The names of the digits model's tf2onnx export (a sample).
    static let onnx: [NameSuggestions.Candidate] = [
        .init("probs", preferred: true), .init("Gather__45"), .init("Shape__42"),
        .init("digits_1/conv1_1/BiasAdd", preferred: true), .init("digits_1/conv1_1/Relu", preferred: true),
        .init("digits_1/conv2_1/Relu", preferred: true), .init("digits_1/flatten_1/Shape__22"),
        .init("digits_1/fc1_1/Relu", preferred: true),
    ]

    @Test func partsBeatWholeStringDistance() {
        #expect(NameSuggestions.closest(to: "conv1", among: Self.onnx)
                == ["digits_1/conv1_1/Relu", "digits_1/conv1_1/BiasAdd", "digits_1/conv2_1/Relu"])
        #expect(NameSuggestions.closest(to: "Conv2", among: Self.onnx, limit: 1) == ["digits_1/conv2_1/Relu"], "case does not matter")
        #expect(NameSuggestions.closest(to: "shape", among: Self.onnx, limit: 2) == ["Shape__42", "digits_1/flatten_1/Shape__22"])
        // The other way round: a longer name typed for a shorter one.
        #expect(NameSuggestions.closest(to: "model/probs/Softmax", among: Self.onnx, limit: 1) == ["probs"])
    }

    @Test func layerLikeNamesComeFirstAmongEqualMatches() {
        let names: [NameSuggestions.Candidate] = [.init("block1_shape"), .init("block1_conv", preferred: true)]
        #expect(NameSuggestions.closest(to: "block1", among: names) == ["block1_conv", "block1_shape"])
        #expect(NameSuggestions.closest(to: "conv3", among: ["conv1", "conv2", "dense"]) == ["conv1", "conv2", "dense"])
        #expect(NameSuggestions.hint(for: "x", among: []) == "")
        #expect(NameSuggestions.editDistance("kitten", "sitting") == 3)
    }
}
