// Fuzz target `ascent`: `.ascent` (safetensors) bytes → header length and JSON header →
// tensor offsets and dtypes → the graph JSON → validation → session and plan.

import AscentIR

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAscentFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzCheck.bytes(data, size)
    FuzzCheck.expectTypedErrors {
        try FuzzCheck.plan(try AscentFile.decode(bytes, name: "fuzz.ascent"))
    }
    return 0
}
