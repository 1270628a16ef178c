import AscentIR
import AscentTestSupport
import Foundation
import Testing

/// Errors that teach: the exact first line of each message, and its exit code.
@Suite struct MessageTests {
    static func firstLine(_ r: CLI.Result) -> String { String(r.stderr.split(separator: "\n").first ?? "") }

    /// Writes a picture with Pillow (the reference reader/writer), as a user's camera would.
    static func picture(_ width: Int, _ height: Int, _ mode: String) throws -> String {
        let path = try TestPaths.temporaryDirectory("picture").appendingPathComponent("\(width)x\(height)\(mode).png").path
        let r = try ReferencePython.script("checks/write_png.py", [path, "\(width)", "\(height)", mode])
        try #require(r.status == 0, "\(r.output)")
        return path
    }

    @Test func unknownLayerNamesTheLayersThatContainIt() throws {
        let onnx = try CLI.run(["maximize", "Fixtures/digits/digits.onnx", "--target", "layer:conv1:0", "--steps", "1"])
        #expect(onnx.status == 65)
        #expect(Self.firstLine(onnx) == "ascent: Fixtures/digits/digits.onnx: no layer 'conv1'; closest: 'digits_1/conv1_1/Relu', "
                + "'digits_1/conv1_1/BiasAdd', 'digits_1/conv1_1/BiasAdd__6' (ascent inspect --names lists them)")
        let keras = try CLI.run(["grad", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png",
                                 "--target", "layer:conv3:0", "--output", "/tmp/unused.npy"])
        #expect(keras.status == 65)
        #expect(Self.firstLine(keras) == "ascent: Fixtures/digits/digits.h5: no layer 'conv3'; closest: 'conv1', 'conv2', 'conv1/preact' (ascent inspect --names lists them)")
        #expect(keras.stderr.split(separator: "\n").count == 1)
    }

    @Test func inspectNamesListsLayerLikeValuesFirst() throws {
        let r = try CLI.run(["inspect", "Fixtures/digits/digits.onnx", "--names"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "layers (layer:NAME:C, neuron:NAME:C@i,j):")
        let relu = try #require(lines.first { $0.hasPrefix("  digits_1/conv1_1/Relu ") })
        #expect(relu.contains("Relu") && relu.contains("float32[unk__51,8,16,16] NCHW") && relu.hasSuffix("8 channels"), "\(relu)")
        let others = try #require(lines.firstIndex(of: "other values:"))
        #expect(lines[others...].contains { $0.hasPrefix("  Shape__42 ") }, "shape computations come after the layers")
        #expect(lines.suffix(2) == ["outputs (output:NAME:K, or logit:K):", "  probs  float32[unk__52,10]  K from 0 to 9"])
    }

    @Test func aPictureOfTheWrongSizeIsDescribedAsAPicture() throws {
        let big = try Self.picture(256, 256, "L")
        let r = try CLI.run(["run", "Fixtures/digits/digits.onnx", "--input", big])
        #expect(r.status == 65)
        #expect(Self.firstLine(r) == "ascent: \(big): the model wants a 16×16 grayscale image, not a 256×256 grayscale picture "
                + "(input 'input' float32[unk__51,16,16,1]): --resize fits it")
        let rgb = try Self.picture(40, 30, "RGB")
        let colour = try CLI.run(["run", "Fixtures/digits/digits.h5", "--input", rgb])
        #expect(Self.firstLine(colour) == "ascent: \(rgb): the model wants a 16×16 grayscale image, not a 40×30 RGB picture "
                + "(input 'input' float32[N,16,16,1] NHWC): --resize fits it")
        // --resize fits it: the model runs and prints its classes.
        for path in [big, rgb] {
            let fitted = try CLI.run(["run", "Fixtures/digits/digits.onnx", "--input", path, "--resize", "--top", "1"])
            #expect(fitted.status == 0, "\(fitted.stderr)")
            #expect(fitted.stdout.hasPrefix("probs: float32[1,10]\n  [0] top 1: "), "\(fitted.stdout)")
        }
    }

    @Test func anArrayOfTheWrongShapeIsDescribedAsAnArray() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("wrong.npy").path
        try NumPy.write(Tensor(shape: [1, 8, 8, 1], scalars: [Float](repeating: 0, count: 64)), to: path)
        let r = try CLI.run(["run", "Fixtures/digits/digits.h5", "--input", path])
        #expect(r.status == 65)
        #expect(Self.firstLine(r) == "ascent: \(path): holds float32[1,8,8,1], input 'input' takes float32[N,16,16,1] NHWC: axis 1 is 8, the model wants 16")
        let picture = try CLI.run(["run", "Fixtures/keras/mlp/model.h5", "--input", "Fixtures/digits/sample_3.png"])
        #expect(picture.status == 65)
        #expect(Self.firstLine(picture).hasSuffix("not an image: give its values as .npy"), "\(picture.stderr)")
    }

    @Test func targetsWithoutTheirIndexSayWhatIsMissing() throws {
        let cases = [
            ("layer:nonexistent", "ascent: target 'layer:nonexistent': missing channel: layer:NAME:C"),
            ("logit", "ascent: target 'logit': missing class: logit:K"),
            ("output:probs", "ascent: target 'output:probs': missing index: output:NAME:K"),
            ("neuron:conv1", "ascent: target 'neuron:conv1': missing channel and position: neuron:NAME:C@i,j"),
            ("conv1:3", "ascent: target 'conv1:3' is not logit:K, output:NAME:K, layer:NAME:C[:max] or neuron:NAME:C@i,j"),
        ]
        for (target, message) in cases {
            let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", target])
            #expect(r.status == 64, "\(target): \(r.stderr)")
            #expect(Self.firstLine(r) == message)
            #expect(r.stdout.isEmpty)
        }
    }

    @Test func inputRangeTakesNegativeValues() throws {
        let dir = try TestPaths.temporaryDirectory("range")
        let npy = dir.appendingPathComponent("x.npy").path
        let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:3", "--steps", "2",
                             "--input-range", "-1,1", "--preset", "smooth", "--output", npy])
        #expect(r.status == 0, "\(r.stderr)")
        // Smooth clips to the range: values reach below 0, never below -1.
        let x = try NumPy.read(path: npy).floats()
        #expect(x.allSatisfy { $0 >= -1 && $0 <= 1 } && x.contains { $0 < 0 })
        let bad = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:3", "--input-range", "1,-1"])
        #expect(bad.status == 64)
        #expect(Self.firstLine(bad) == "ascent: --input-range '1,-1' is not LO,HI with LO < HI (e.g. 0,255 or -1,1) nor imagenet")
    }

    /// A missing output folder is reported before any work: a million steps would take hours.
    @Test func outputsAreCheckedBeforeTheWork() throws {
        let cases: [([String], String)] = [
            (["--output", "/nonexistent/x.png"], "ascent: /nonexistent/x.png: --output: no folder '/nonexistent' to write into"),
            (["--save-input", "/nonexistent/x.npy"], "ascent: /nonexistent/x.npy: --save-input: no folder '/nonexistent' to write into"),
            (["--log", "/nonexistent/trace.json"], "ascent: /nonexistent/trace.json: --log: no folder '/nonexistent' to write into"),
            (["--report", "/nonexistent/R"], "ascent: /nonexistent/R: --report: no folder '/nonexistent' to write into"),
        ]
        for (option, message) in cases {
            let r = try CLI.run(["maximize", "Fixtures/digits/digits.h5", "--target", "logit:3", "--steps", "1000000"] + option)
            #expect(r.status == 66, "\(option): \(r.stderr)")
            #expect(r.stderr == message + "\n", "the only line, before the preset note of a started run")
            #expect(r.stdout.isEmpty)
        }
        let grad = try CLI.run(["grad", "Fixtures/digits/digits.h5", "--input", "Fixtures/digits/sample_3.png",
                                "--target", "logit:3", "--output", "/nonexistent/g.npy"])
        #expect(grad.status == 66 && grad.stderr == "ascent: /nonexistent/g.npy: --output: no folder '/nonexistent' to write into\n", "\(grad.stderr)")
        let convert = try CLI.run(["convert", "Fixtures/digits/digits.h5", "--output", "/nonexistent/d.onnx"])
        #expect(convert.status == 66 && Self.firstLine(convert) == "ascent: /nonexistent/d.onnx: --output: no folder '/nonexistent' to write into")
    }
}
