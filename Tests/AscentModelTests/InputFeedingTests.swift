import AscentImage
import AscentIR
import AscentModel
import AscentTestSupport
import Foundation
import Testing

@Suite struct InputFeedingTests {
    @Test func imageInputsAreDescribedInPictureTerms() {
        func describe(_ dims: [Dim], _ layout: Layout? = nil) -> String? {
            ImageInputShape(ValueType(.float32, Shape(dims), layout: layout))?.description
        }
        #expect(describe(["N", 16, 16, 1]) == "a 16×16 grayscale image")
        #expect(describe([1, 3, 224, 224]) == "a 224×224 RGB image")
        #expect(describe(["N", "H", "W", 3]) == "an RGB image of any size")
        #expect(describe(["N", 8, 8, 4]) == "an 8×8 RGBA image")
        #expect(describe(["N", 11, 11, 3], .nhwc) == "an 11×11 RGB image")
        #expect(describe(["N", 16, 16, 8]) == nil, "8 channels are no picture")
        #expect(describe(["N", 10]) == nil)
    }

    @Test func loadsEveryFormatAndFeedsPictures() throws {
        for file in ["digits.h5", "digits.keras", "digits.onnx"] {
            let model = try Model.load(path: TestPaths.fixture("digits/\(file)").path)
            #expect(model.format == (try ModelFormat(path: file)))
            let feeds = try model.feeds([InputFile(parsing: TestPaths.fixture("digits/sample_3.png").path)])
            let inputs = try NumPy.read(path: TestPaths.fixture("digits/inputs.npy").path)
            let samples = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("digits/samples.json"))) as? [String: Any]
            let index = try #require((samples?["inputs_index"] as? [String: Int])?["sample_3.png"])
            // pixel / 255 exactly as the fixture's NumPy inputs.
            #expect(feeds["input"]?.floats() == Array(inputs.floats()[(index * 256)..<((index + 1) * 256)]), "\(file)")
        }
        #expect(throws: AscentError.self) { _ = try Model.load(path: "model.txt") }
    }

    @Test func namedInputsAndTheirMistakes() throws {
        let model = try Model.load(path: TestPaths.fixture("digits/digits.onnx").path)
        let png = TestPaths.fixture("digits/sample_3.png").path
        #expect(try model.feeds([InputFile(input: "input", path: png)]).keys.sorted() == ["input"])
        #expect(InputFile(parsing: "input=x.png") == InputFile(input: "input", path: "x.png"))
        #expect(throws: AscentError(.usage, "model has no input 'inptu' (inputs: input)")) {
            _ = try model.feeds([InputFile(input: "inptu", path: png)])
        }
        #expect(throws: AscentError(.usage, "model has 1 input, got 2 --input files")) {
            _ = try model.feeds([InputFile(path: png), InputFile(path: png)])
        }
    }
}
