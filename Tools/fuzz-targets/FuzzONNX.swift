// Fuzz target `onnx`: protobuf bytes → protobuf-c unpack (protobuf-c compiled in, instrumented)
// → Swift model → IR import with external data looked up in ASCENT_FUZZ_ONNX_FOLDER (default:
// the current folder) → validation → session and plan.

import AscentIR
@testable import AscentONNX
import Foundation

private let folder = ProcessInfo.processInfo.environment["ASCENT_FUZZ_ONNX_FOLDER"] ?? "."

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = FuzzCheck.bytes(data, size)
    FuzzCheck.expectTypedErrors {
        let model: ONNXModelProto
        do {
            model = try ONNXModelProto.decode(bytes: bytes, fileName: "fuzz.onnx")
        } catch is ONNXFileError {
            return
        }
        try FuzzCheck.plan(try ONNXImporter.load(model: model, folder: folder, fileName: "fuzz.onnx"))
    }
    return 0
}
