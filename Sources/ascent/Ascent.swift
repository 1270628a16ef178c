import ArgumentParser

@main
struct Ascent: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import, run and probe Keras and ONNX models.")
}
