// Fuzz target `keras-zip`: a Keras 3 `.keras` archive → zip central directory, local headers,
// inflate and CRC → config.json and metadata.json → model.weights.h5 as a libhdf5 file image
// → conversion → validation → session and plan.

import AscentIR
@testable import AscentKeras

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKerasZip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzCheck.bytes(data, size)
    FuzzCheck.expectTypedErrors {
        try FuzzCheck.plan(try KerasImporter.load(bytes: bytes, name: "fuzz.keras", archive: true))
    }
    return 0
}
