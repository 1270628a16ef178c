import AscentIR
#if canImport(Glibc)
import Glibc
#endif

/// Freed buffers by byte size, reused for later values of the same size.
///
/// Holds only storage that the runtime allocated and that nothing else references any more.
/// Not thread-safe: one call uses a pool at a time (sessions hand pools out under a lock).
final class BufferPool: @unchecked Sendable {
    private var free: [Int: [TensorStorage]] = [:]
    /// Buffers handed out again instead of allocated (for tests and statistics).
    private(set) var reuseCount = 0

    /// A buffer of exactly `byteCount` bytes, reused when one is free (contents undefined).
    func take(byteCount: Int) -> TensorStorage {
        if var list = free[byteCount], let s = list.popLast() {
            free[byteCount] = list
            reuseCount += 1
            return s
        }
        return TensorStorage(zeroedByteCount: byteCount)
    }

    /// Returns a buffer for reuse. The caller guarantees nothing else holds it.
    func give(_ storage: TensorStorage) {
        guard !storage.isBorrowed, storage.byteCount > 0 else { return }
        free[storage.byteCount, default: []].append(storage)
    }

    /// Total bytes held.
    var heldBytes: Int { free.reduce(0) { $0 + $1.key * $1.value.count } }
}

/// What a kernel uses while it runs: output allocation (recycling freed buffers), scratch
/// space, and the thread budget.
final class ExecutionContext {
    /// Threads kernels may use (oneDNN sgemm and `parallelFor`).
    let threads: Int
    /// Whether plans may make oneDNN convolution primitives (``Session/Options/convolutionPrimitives``).
    let primitives: Bool
    let pool: BufferPool
    /// A buffer donated by an input at its last use, for output 0 of an in-place-capable kernel.
    private var donated: TensorStorage?
    /// The oneDNN stream of this run, made on first use.
    private(set) lazy var stream: DNNL.Stream? = DNNL.Stream()

    init(threads: Int, pool: BufferPool, primitives: Bool = true) {
        self.threads = max(1, threads)
        self.primitives = primitives
        self.pool = pool
    }

    /// A tensor of `type` whose contents are undefined: the kernel must write every element.
    func allocate(_ type: TensorType) -> Tensor {
        let bytes = type.byteCount
        let storage: TensorStorage
        if let d = donated, d.byteCount == bytes {
            storage = d
            donated = nil
        } else {
            storage = pool.take(byteCount: bytes)
        }
        // The storage's size matches the type by construction.
        return try! Tensor(dtype: type.dtype, shape: type.shape, storage: storage)
    }

    /// A zero-filled tensor of `type`.
    func allocateZeroed(_ type: TensorType) -> Tensor {
        let t = allocate(type)
        t.rawPointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(type.byteCount, 0))
        return t
    }

    /// Scratch space of `count` floats, returned with `release(scratch:)`.
    func scratch(floats count: Int) -> TensorStorage {
        pool.take(byteCount: count * MemoryLayout<Float>.stride)
    }

    /// Scratch space of `count` bytes (rounded up to whole floats), returned with `release(scratch:)`.
    func scratch(bytes count: Int) -> TensorStorage {
        scratch(floats: (count + 3) / 4)
    }

    /// Gives scratch space back for reuse.
    func release(scratch: TensorStorage) { pool.give(scratch) }

    /// Offers `storage` (an input at its last use, uniquely held) as output 0's buffer.
    func donate(_ storage: TensorStorage) { donated = storage }

    /// Takes back a donated buffer the kernel did not use.
    func reclaimDonation() {
        if let d = donated { pool.give(d) }
        donated = nil
    }

    /// Runs `body` over `0..<count` split into contiguous chunks, on up to `threads` threads when
    /// `count * costPerItem` is large enough to be worth it (cost in rough scalar operations).
    /// Chunks never overlap, so results do not depend on the thread count.
    ///
    /// The chunks run on the OpenMP team oneDNN uses (``OpenMPTeam``; one pool for both, see
    /// ``Processors``).
    func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
        let work = count.multipliedReportingOverflow(by: max(costPerItem, 1))
        let chunks = min(threads, count)
        if chunks <= 1 || (!work.overflow && work.partialValue < ExecutionContext.parallelThreshold) {
            if count > 0 { body(0..<count) }
            return
        }
        let per = (count + chunks - 1) / chunks
        OpenMPTeam.forEachChunk(chunks, threads: chunks) { c in
            let lo = c * per, hi = min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Below this many scalar operations a loop stays on one thread.
    static let parallelThreshold = 1 << 16
}

extension Tensor {
    /// The number of axes.
    var rank: Int { shape.count }

    /// The concrete type.
    var type: TensorType { TensorType(dtype, shape) }

    /// Start of the element bytes. Write through it only to a tensor the kernel just allocated.
    var rawPointer: UnsafeMutableRawPointer { storage.baseAddress }

    /// The elements as `T` for reading (the caller knows the dtype).
    func pointer<T>(_: T.Type) -> UnsafePointer<T> {
        UnsafePointer(storage.baseAddress.assumingMemoryBound(to: T.self))
    }

    /// The elements as `T` for writing; only for a tensor fresh from `ExecutionContext.allocate`.
    func mutablePointer<T>(_: T.Type) -> UnsafeMutablePointer<T> {
        storage.baseAddress.assumingMemoryBound(to: T.self)
    }

    var floats: UnsafePointer<Float> { pointer(Float.self) }
    var mutableFloats: UnsafeMutablePointer<Float> { mutablePointer(Float.self) }
}

/// Row-major strides (in elements) of `shape`.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = Array(repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

/// The product of `shape[range]`.
func product(_ shape: ArraySlice<Int>) -> Int { shape.reduce(1, *) }
