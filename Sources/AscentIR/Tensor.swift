/// A dense, row-major (C order) tensor with a concrete shape.
///
/// Copies share storage; a write through ``withUnsafeMutableBytes(_:)`` copies first
/// unless this tensor holds the only reference to bytes it owns (copy-on-write), so a
/// tensor borrowed from a memory-mapped file is never written in place.
public struct Tensor: Sendable {
    public let dtype: DType
    public let shape: [Int]
    public private(set) var storage: TensorStorage

    /// Number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// Number of bytes of element data.
    public var byteCount: Int { count * dtype.byteSize }

    /// A zero-filled tensor. Fails when the shape has a negative size or overflows.
    public init(zeros dtype: DType, shape: [Int]) throws {
        let bytes = try Tensor.checkedByteCount(dtype: dtype, shape: shape)
        self.dtype = dtype
        self.shape = shape
        self.storage = TensorStorage(zeroedByteCount: bytes)
    }

    /// A tensor over existing storage, which must hold exactly the shape's bytes.
    public init(dtype: DType, shape: [Int], storage: TensorStorage) throws {
        let bytes = try Tensor.checkedByteCount(dtype: dtype, shape: shape)
        guard storage.byteCount == bytes else {
            throw AscentError.invalid("\(dtype.rawValue)\(Shape(shape)) needs \(bytes) bytes, got \(storage.byteCount)")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A tensor holding a copy of `bytes` (little-endian element data).
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        let expected = try Tensor.checkedByteCount(dtype: dtype, shape: shape)
        guard bytes.count == expected else {
            throw AscentError.invalid("\(dtype.rawValue)\(Shape(shape)) needs \(expected) bytes, got \(bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.storage = TensorStorage(copying: bytes)
    }

    /// A tensor holding a copy of `bytes`.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Tensor(dtype: dtype, shape: shape, bytes: $0) }
    }

    /// A tensor of `scalars` (C order); `scalars.count` must equal the shape's element count.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) {
        guard let n = Shape.product(shape), n == scalars.count else {
            preconditionFailure("shape \(shape) does not hold \(scalars.count) scalars")
        }
        self.dtype = T.dtype
        self.shape = shape
        self.storage = scalars.withUnsafeBytes { TensorStorage(copying: $0) }
    }

    /// A rank-0 tensor.
    public init<T: TensorScalar>(scalar: T) {
        self.init(shape: [], scalars: [scalar])
    }

    /// The byte count of `dtype` × `shape`, refusing negative sizes and overflow.
    public static func checkedByteCount(dtype: DType, shape: [Int]) throws -> Int {
        guard let n = Shape.product(shape) else {
            throw AscentError.invalid("shape \(Shape(shape)) has a negative size or overflows")
        }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw AscentError.invalid("shape \(Shape(shape)) overflows") }
        return bytes
    }

    /// Reads the element bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(storage.bytes)
    }

    /// Writes the element bytes, copying the storage first when it is shared or borrowed.
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        if storage.isBorrowed || !isKnownUniquelyReferenced(&storage) {
            storage = TensorStorage(copying: storage.bytes)
        }
        return try body(UnsafeMutableRawBufferPointer(start: storage.baseAddress, count: storage.byteCount))
    }

    /// The elements as `T`, which must be this tensor's dtype.
    public func scalars<T: TensorScalar>(as type: T.Type = T.self) -> [T] {
        precondition(T.dtype == dtype, "tensor is \(dtype.rawValue), asked for \(T.dtype.rawValue)")
        return withUnsafeBytes { raw in
            Array(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: T.self), count: count))
        }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(dtype: dtype, shape: newShape, storage: storage)
    }

    /// True when dtype, shape and every byte are equal (NaNs with equal bits compare equal).
    public func bitwiseEqual(_ other: Tensor) -> Bool {
        guard dtype == other.dtype, shape == other.shape else { return false }
        return withUnsafeBytes { a in other.withUnsafeBytes { b in a.elementsEqual(b) } }
    }
}

extension Tensor: CustomStringConvertible {
    /// `float32[2,3]`.
    public var description: String { "\(dtype.rawValue)\(Shape(shape))" }
}
