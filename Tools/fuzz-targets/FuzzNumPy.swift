// Fuzz target `npy`: `.npy` bytes → header parsing and size checks → tensor → fed, when
// small, to a one-node session (Identity), which binds, plans and runs it.

import AscentIR
import AscentRuntime

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNumPy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzCheck.expectTypedErrors {
        let tensor = try NumPy.decode(UnsafeRawBufferPointer(start: data, count: size), fileName: "fuzz.npy")
        guard tensor.shape.reduce(1, *) <= FuzzCheck.maxPlannedElements else { return }
        let type = ValueType(tensor.dtype, Shape(tensor.shape))
        let graph = Graph(name: "identity", inputs: [ValueInfo(name: "x", type: type)],
                          outputs: [ValueInfo(name: "y", type: type)],
                          nodes: [Node(name: "id", op: "Identity", inputs: ["x"], outputs: ["y"])])
        _ = try Session(graph: graph, options: .init(threads: 1)).run(["x": tensor])
    }
    return 0
}
