// Fuzz target `keras-config`: the pure-Swift half of the Keras importer, away from libhdf5's
// own parsing (which the keras-h5 target reaches, and where libhdf5 1.10 crashes and hangs).
// Input: one byte choosing a fixture model of Fixtures/keras (ASCENT_FUZZ_KERAS_FIXTURES), then
// an architecture JSON (`model.to_json()`). The JSON is parsed and converted layer by layer
// against that model's real `model.weights.h5` (weight lookup and shape checks), then
// validated, and the graph gets a session and a plan.

import AscentIR
@testable import AscentKeras
import Foundation

/// The fixture models whose `model.json` / `model.weights.h5` pairs the first byte picks from.
let kerasConfigModels = ["cnn_bn", "misc_layers", "mlp", "nested", "residual", "separable", "shared",
                         "text_conv1d", "two_in_two_out"]

/// Each model's weights, opened once (libhdf5 reads the valid fixture files; only the JSON is fuzzed).
nonisolated(unsafe) private let weights: [Keras3Weights] = {
    let folder = ProcessInfo.processInfo.environment["ASCENT_FUZZ_KERAS_FIXTURES"] ?? "Fixtures/keras"
    return kerasConfigModels.map { model in
        do {
            return try Keras3Weights(file: try HDF5File(path: "\(folder)/\(model)/model.weights.h5"))
        } catch {
            fatalError("keras-config: cannot open the fixture weights of \(model): \(error)")
        }
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKerasConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let store = weights[Int(data[0]) % weights.count]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    FuzzCheck.expectTypedErrors {
        do {
            let config = try JSONValue.parse(text, what: "architecture JSON")
            try FuzzCheck.plan(try KerasImporter.build(config: config, weights: store, metadata: [:]))
        } catch is HDF5Error {
            return  // a weight the config names is missing: typed, and the public API maps it
        }
    }
    return 0
}
