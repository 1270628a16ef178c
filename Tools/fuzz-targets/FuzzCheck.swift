// Shared by every fuzz target (compiled into each one): what counts as a finding, and the
// step after a successful import — session creation and planning, with nothing run.

import AscentIR
@testable import AscentRuntime
import Foundation

enum FuzzCheck {
    /// Runs `body`; a thrown error must be a typed, non-internal refusal. Anything else stops
    /// the fuzzer (a trap is a crash to libFuzzer), with the error printed.
    static func expectTypedErrors(_ body: () throws -> Void) {
        do {
            try body()
        } catch let e as AscentError {
            if e.kind == .internal { fatalError("internal error: \(e)") }
        } catch {
            fatalError("untyped error \(type(of: error)): \(error)")
        }
    }

    /// The bytes libFuzzer hands over, copied into an array.
    static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Largest input planned, in elements (bigger declared inputs stop after session creation).
    static let maxPlannedElements = 1 << 16

    /// Goes past import: creates a ``Session`` (kernel lookup, validation, fusion, kernel
    /// construction), then plans it for concrete input shapes — symbolic and unknown dims as 1 —
    /// when every input is small. Planning folds constant subgraphs but runs nothing else.
    /// Refusals are typed errors like import errors.
    static func plan(_ graph: Graph) throws {
        let session = try Session(graph: graph, options: .init(threads: 1))
        var types: [Int: TensorType] = [:]
        for input in session.program.inputs where !input.hasDefault {
            guard let shape = input.info.type.shape else { return }
            let dims = shape.dims.map { dim -> Int in if case .known(let v) = dim { v } else { 1 } }
            var count = 1
            for d in dims {
                guard d >= 0 else { return }
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, c <= maxPlannedElements else { return }
                count = c
            }
            let dtype = input.info.type.dtype == .float64 ? DType.float32 : input.info.type.dtype
            types[input.id] = TensorType(dtype, dims)
        }
        _ = try Plan(program: session.program, inputTypes: types,
                     context: ExecutionContext(threads: 1, pool: BufferPool()))
    }
}
