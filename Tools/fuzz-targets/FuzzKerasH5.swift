// Fuzz target `keras-h5`: a legacy Keras `.h5` file opened as an in-memory libhdf5 file image
// → model_config JSON → layer conversion with weight-shape checks → validation → session and
// plan. libhdf5 itself is the system library (not instrumented); crashes inside it are known
// and sorted out by Tools/fuzz (see there).

import AscentIR
@testable import AscentKeras

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKerasH5(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzCheck.bytes(data, size)
    FuzzCheck.expectTypedErrors {
        try FuzzCheck.plan(try KerasImporter.load(bytes: bytes, name: "fuzz.h5", archive: false))
    }
    return 0
}
