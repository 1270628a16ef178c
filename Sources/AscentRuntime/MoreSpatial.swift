import AscentIR

/// AffineGrid(theta [N, 2, 3] or [N, 3, 4], size [N, C, H, W] or [N, C, D, H, W]): the sampling grid
/// `theta · (x, y[, z], 1)` over normalized coordinates (`align_corners`), `[N, H, W, 2]` or `[N, D, H, W, 3]`.
struct AffineGridKernel: Kernel {
    let alignCorners: Bool

    init(_ a: NodeAttributes) throws { alignCorners = try a.int("align_corners", 0) != 0 }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let theta = try inputs.type(0)
        try requireFloat("AffineGrid", theta)
        guard let size = try inputs.ints(1) else { return nil }
        guard size.count == 4 || size.count == 5, theta.shape == [size[0], size.count - 2, size.count - 1] else {
            throw AscentError.invalid("theta \(theta) does not match size \(size)")
        }
        return [TensorType(.float32, [size[0]] + Array(size[2...]) + [size.count - 2])]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let theta = inputs[0] else { throw AscentError.invalid("missing input") }
        let out = outputs[0].shape, r = out.last!, spatial = Array(out[1..<(out.count - 1)])
        let t = theta.doubles(), n = out[0], count = spatial.reduce(1, *), strides = contiguousStrides(spatial)
        func coordinate(_ i: Int, _ size: Int) -> Double {
            if alignCorners { return size == 1 ? -1 : -1 + 2 * Double(i) / Double(size - 1) }
            return -1 + (2 * Double(i) + 1) / Double(size)
        }
        var y = [Float](repeating: 0, count: outputs[0].count)
        for b in 0..<n {
            for p in 0..<count {
                // Homogeneous (x, y[, z], 1): x is the last spatial axis.
                var h = [Double](repeating: 1, count: r + 1)
                for k in 0..<r {
                    let axis = r - 1 - k
                    h[k] = coordinate((p / strides[axis]) % spatial[axis], spatial[axis])
                }
                for row in 0..<r {
                    var acc = 0.0
                    for col in 0...r { acc += t[(b * r + row) * (r + 1) + col] * h[col] }
                    y[(b * count + p) * r + row] = Float(acc)
                }
            }
        }
        return [Tensor(shape: out, scalars: y)]
    }
}

/// Col2Im(input [N, C·∏block, L], image_shape, block_shape): the columns summed back into
/// `[N, C, image...]` with `dilations`, `pads` and `strides`.
struct Col2ImKernel: Kernel {
    let dilations: [Int]?, pads: [Int]?, strides: [Int]?

    init(_ a: NodeAttributes) throws {
        dilations = try a.ints("dilations")
        pads = try a.ints("pads")
        strides = try a.ints("strides")
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("Col2Im", x)
        guard let image = try inputs.ints(1), let block = try inputs.ints(2) else { return nil }
        let k = block.reduce(1, *)
        guard x.rank == 3, image.count == block.count, k > 0, x.shape[1] % k == 0 else {
            throw AscentError.invalid("input \(x) does not match block \(block)")
        }
        return [TensorType(.float32, [x.shape[0], x.shape[1] / k] + image)]
    }

    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let image = inputs[1]?.int64s().map({ Int($0) }), let block = inputs[2]?.int64s().map({ Int($0) }) else {
            throw AscentError.invalid("missing input")
        }
        let r = image.count
        let d = dilations ?? Array(repeating: 1, count: r), s = strides ?? Array(repeating: 1, count: r)
        let p = pads ?? Array(repeating: 0, count: 2 * r)
        var blocks: [Int] = []
        for i in 0..<r {
            let span = d[i] * (block[i] - 1) + 1
            let padded: Int = image[i] + p[i] + p[i + r]
            blocks.append((padded - span) / s[i] + 1)
        }
        let k = block.reduce(1, *), l = blocks.reduce(1, *), imageSize = image.reduce(1, *)
        guard l == x.shape[2] else { throw AscentError.invalid("input has \(x.shape[2]) columns, the geometry gives \(l)") }
        let kStrides = contiguousStrides(block), lStrides = contiguousStrides(blocks), iStrides = contiguousStrides(image)
        let n = x.shape[0], c = x.shape[1] / k, v = x.floats()
        var y = [Float](repeating: 0, count: outputs[0].count)
        for b in 0..<n {
            for ci in 0..<c {
                for kk in 0..<k {
                    for ll in 0..<l {
                        var offset = 0, inside = true
                        for i in 0..<r {
                            let pos = ((ll / lStrides[i]) % blocks[i]) * s[i] - p[i] + ((kk / kStrides[i]) % block[i]) * d[i]
                            if pos < 0 || pos >= image[i] { inside = false; break }
                            offset += pos * iStrides[i]
                        }
                        if inside { y[(b * c + ci) * imageSize + offset] += v[((b * c + ci) * k + kk) * l + ll] }
                    }
                }
            }
        }
        return [Tensor(shape: outputs[0].shape, scalars: y)]
    }
}

/// MaxUnpool(X, I, output_shape?): X's values placed at the flat indices I of a zero tensor of the
/// unpooled shape (`(in − 1)·stride + kernel − pads`, or `output_shape`).
struct MaxUnpoolKernel: Kernel {
    let kernel: [Int], pads: [Int]?, strides: [Int]?

    init(_ a: NodeAttributes) throws {
        guard let k = try a.ints("kernel_shape") else { throw AscentError.invalid("missing attribute 'kernel_shape'") }
        kernel = k
        pads = try a.ints("pads")
        strides = try a.ints("strides")
    }

    func inferred(_ x: TensorType) throws -> [Int] {
        let r = x.rank - 2
        guard r == kernel.count else { throw AscentError.invalid("kernel_shape \(kernel) does not fit \(x)") }
        let s = strides ?? Array(repeating: 1, count: r), p = pads ?? Array(repeating: 0, count: 2 * r)
        return Array(x.shape[..<2]) + (0..<r).map { (x.shape[$0 + 2] - 1) * s[$0] + kernel[$0] - p[$0] - p[$0 + r] }
    }

    func outputTypes(_ inputs: KernelInputs) throws -> [TensorType]? {
        let x = try inputs.type(0)
        try requireFloat("MaxUnpool", x)
        let shape = try inferred(x)
        if inputs.has(2) {
            guard let given = try inputs.ints(2) else { return nil }
            guard given.count == shape.count, zip(given, shape).allSatisfy({ $0 >= $1 }) else {
                throw AscentError.invalid("output_shape \(given) is smaller than \(shape)")
            }
            return [TensorType(x.dtype, given)]
        }
        return [TensorType(x.dtype, shape)]
    }

    /// The values are placed in the inferred shape, which then sits at the start of `output_shape`.
    func run(_ inputs: [Tensor?], outputs: [TensorType], context: ExecutionContext) throws -> [Tensor] {
        guard let x = inputs[0], let indices = inputs[1] else { throw AscentError.invalid("missing input") }
        let shape = try inferred(x.type), out = outputs[0].shape
        let v = x.floats(), idx = indices.int64s(), count = shape.reduce(1, *)
        let inStrides = contiguousStrides(shape), outStrides = contiguousStrides(out)
        var y = [Float](repeating: 0, count: outputs[0].count)
        for i in 0..<min(v.count, idx.count) {
            let j = Int(idx[i])
            guard j >= 0, j < count else { throw AscentError.invalid("index \(j) is out of range") }
            var offset = 0
            for d in 0..<shape.count { offset += ((j / inStrides[d]) % shape[d]) * outStrides[d] }
            y[offset] = v[i]
        }
        return [Tensor(shape: out, scalars: y)]
    }
}
