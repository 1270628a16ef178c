import AscentIR
import CDNNL

/// The one file that talks to oneDNN (Debian's libdnnl 2.6, OpenMP threading).
///
/// oneDNN's `dnnl_sgemm` was the fastest single-precision GEMM measured on this machine
/// (~112–156 GFLOP/s on one core; see `/work/shared/notes/machine.md`).
enum DNNL {
    /// Row-major single-precision matrix product, `C = alpha · op(A) · op(B) + beta · C`, where
    /// `op(A)` is `M×K` (`A` is stored `K×M` when `transA`), `op(B)` is `K×N`, and `C` is `M×N`.
    /// `lda`, `ldb`, `ldc` are the row strides (in elements) of the stored matrices.
    ///
    /// Runs on up to `threads` OpenMP threads. Deterministic for a given thread count.
    /// - Throws: ``AscentError`` `.internal` when oneDNN reports a failure (bad arguments).
    static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                      threads: Int) throws {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // oneDNN refuses K = 0; the product is empty, so only the beta scaling remains.
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] }
            }
            return
        }
        setThreads(m * n * k < smallWork ? 1 : threads)
        let status = dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                                dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha,
                                a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
        guard status == dnnl_success else {
            throw AscentError(.internal, "oneDNN sgemm failed with status \(status.rawValue) (m=\(m) n=\(n) k=\(k))")
        }
    }

    /// Multiply-accumulates below which a call runs on the calling thread alone: waking a sleeping
    /// OpenMP worker (libgomp runs passive, see ``Processors``) costs more than it saves there.
    static let smallWork = 1 << 21

    /// Sets the OpenMP thread count for oneDNN calls made from the current thread.
    /// (`omp_set_num_threads` sets a per-thread value, so it is set before every call.)
    static func setThreads(_ threads: Int) {
        omp_set_num_threads(Int32(clamping: max(1, threads)))
    }
}

// MARK: Primitives

extension DNNL {
    /// oneDNN's CPU engine, created once per process (nil if oneDNN cannot create it).
    static let engine: Engine? = Engine()

    /// Owns a `dnnl_engine_t`.
    final class Engine: @unchecked Sendable {
        let handle: dnnl_engine_t

        fileprivate init?() {
            var e: dnnl_engine_t?
            guard dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success, let e else { return nil }
            handle = e
        }

        deinit { dnnl_engine_destroy(handle) }
    }

    /// Owns a `dnnl_stream_t`: one per run, as streams are not thread-safe.
    final class Stream {
        let handle: dnnl_stream_t

        init?() {
            guard let engine = DNNL.engine else { return nil }
            var s: dnnl_stream_t?
            guard dnnl_stream_create(&s, engine.handle, dnnl_stream_default_flags.rawValue) == dnnl_success, let s else { return nil }
            handle = s
        }

        deinit { dnnl_stream_destroy(handle) }
    }

    /// The shape of a forward convolution. Spatial lists have one entry per spatial axis (1 to 3).
    struct ConvolutionShape {
        var batch: Int, channels: Int, outChannels: Int, groups: Int
        var input: [Int], output: [Int], kernel: [Int]
        var strides: [Int], dilations: [Int], padBegin: [Int], padEnd: [Int]
        /// Channels-last data with a TensorFlow kernel `[k..., C/g, O]`; else channels-first data
        /// with an ONNX kernel `[O, C/g, k...]`.
        var channelsLast: Bool
        /// Clamp fused into the output (Relu, Clip), or nil.
        var clamp: (lo: Float, hi: Float)?
    }

    /// A plain memory layout: logical dims and element strides.
    private struct Plain {
        var dims: [Int64], strides: [Int64]

        /// Row-major strides of `order` (a permutation of the dims, outermost first).
        init(_ dims: [Int], order: [Int]) {
            self.dims = dims.map(Int64.init)
            strides = Array(repeating: 0, count: dims.count)
            var s: Int64 = 1
            for d in order.reversed() { strides[d] = s; s *= Int64(dims[d]) }
        }

        func desc() -> dnnl_memory_desc_t? {
            var md = dnnl_memory_desc_t()
            guard dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims, dnnl_f32, strides) == dnnl_success else { return nil }
            return md
        }
    }

    /// A oneDNN convolution, JIT-compiled for this CPU, with its kernel reordered once into the
    /// layout the primitive prefers: forward inference, or the backward pass to the input
    /// (`ConvGradInput`: the transposed convolution of the output gradient, run from `x`'s place). Channels-last data is used in
    /// place (oneDNN has fast kernels for it); channels-first data is reordered into a blocked
    /// layout and back (plain channels-first only gets slow GEMM kernels).
    /// Immutable after creation, so one instance serves concurrent runs (scratch is the caller's).
    final class Convolution: @unchecked Sendable {
        private let primitive: dnnl_primitive_t
        /// What `run` reads and writes: src and dst forward; diff_dst and diff_src backward.
        private let src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, bias: dnnl_memory_desc_t
        private let backward: Bool
        private let weightsDesc: dnnl_memory_desc_t, scratchDesc: dnnl_memory_desc_t
        /// Channels-first data: the plain descriptions and the reorders to and from channels-last.
        private let planar: (src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, toLast: dnnl_primitive_t, toFirst: dnnl_primitive_t)?
        /// The reordered kernel.
        private let weights: UnsafeMutableRawPointer
        private let scratchpadBytes: Int, srcBytes: Int, dstBytes: Int
        /// Bytes of per-run scratch space the caller passes to ``run(x:bias:y:scratch:stream:threads:)``.
        let scratchBytes: Int
        /// oneDNN's name for the implementation it chose (e.g. `brgconv:avx512_core`).
        let implementation: String
        /// The threads it was made for and runs on: 1 for a convolution of less than
        /// ``DNNL/smallWork`` multiply-accumulates.
        let threads: Int

        /// The primitive for `shape` with `kernel` reordered into it, or nil when oneDNN has no
        /// implementation better than its reference one. Channels-first data tries the blocked
        /// layout first, then channels-last (which suits few channels).
        /// With `backwardData`, the primitive maps an output gradient (the forward output's shape)
        /// to the input gradient (the forward input's shape); no bias, no clamp.
        static func make(_ shape: ConvolutionShape, kernel: UnsafePointer<Float>, hasBias: Bool, threads: Int,
                         backwardData: Bool = false) -> Convolution? {
            let macs = shape.batch * shape.outChannels * shape.output.reduce(1, *) * (shape.channels / max(shape.groups, 1))
                * shape.kernel.reduce(1, *)
            let threads = macs < smallWork ? 1 : threads
            setThreads(threads) // creation runs parallel code too
            if !shape.channelsLast, let c = Convolution(shape, kernel: kernel, hasBias: hasBias, threads: threads, blocked: true,
                                                        backward: backwardData) {
                return c
            }
            return Convolution(shape, kernel: kernel, hasBias: hasBias, threads: threads, blocked: false, backward: backwardData)
        }

        private init?(_ shape: ConvolutionShape, kernel: UnsafePointer<Float>, hasBias: Bool, threads: Int, blocked useBlocked: Bool,
                      backward: Bool) {
            guard !backward || (!hasBias && shape.clamp == nil) else { return nil }
            guard let engine = DNNL.engine else { return nil }
            let n = shape.input.count
            let g = shape.groups, og = shape.outChannels / g, ig = shape.channels / g
            let spatial = Array(2..<(n + 2))
            // Data: dims (N, C, spatial...); channels-last memory order (N, spatial..., C).
            let srcDims = [shape.batch, shape.channels] + shape.input, dstDims = [shape.batch, shape.outChannels] + shape.output
            let lastOrder = [0] + spatial + [1], firstOrder = Array(0..<(n + 2))
            // Kernel: dims (G, O/g, I/g, k...) or (O, I, k...).
            let weightDims = (g > 1 ? [g, og, ig] : [og, ig]) + shape.kernel
            let k = weightDims.count - n // index of the first kernel axis
            let weightOrder: [Int]
            if shape.channelsLast { // [k..., I/g, O] with O = (g, o/g)
                weightOrder = Array(k..<(k + n)) + (g > 1 ? [2, 0, 1] : [1, 0])
            } else { // [O, I/g, k...]
                weightOrder = Array(0..<weightDims.count)
            }
            func tagged(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t? {
                var md = dnnl_memory_desc_t()
                guard dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map(Int64.init), dnnl_f32, tag) == dnnl_success else { return nil }
                return md
            }
            func any(_ dims: [Int]) -> dnnl_memory_desc_t? { tagged(dims, dnnl_format_tag_any) }
            // Channels-last data is used as it lies; channels-first data goes through the blocked
            // layout nC[d][h]w16c, whose reorders from and to plain data are fast (reorders between
            // plain channels-first and channels-last are not, and plain channels-first data only
            // gets slow GEMM-based kernels).
            let blocked = [3: dnnl_aBc16b, 4: dnnl_aBcd16b, 5: dnnl_aBcde16b][n + 2] ?? dnnl_format_tag_any
            guard let requestedSrc = useBlocked ? tagged(srcDims, blocked) : Plain(srcDims, order: lastOrder).desc(),
                  let requestedDst = useBlocked ? tagged(dstDims, blocked) : Plain(dstDims, order: lastOrder).desc(),
                  let plainWeights = Plain(weightDims, order: weightOrder).desc(), var anyWeights = any(weightDims),
                  let bias = Plain([shape.outChannels], order: [0]).desc() else { return nil }

            var desc = dnnl_convolution_desc_t()
            var (srcVar, dstVar, biasVar) = (requestedSrc, requestedDst, bias)
            let strides = shape.strides.map(Int64.init), dilations = shape.dilations.map { Int64($0 - 1) }
            let left = shape.padBegin.map(Int64.init), right = shape.padEnd.map(Int64.init)
            let status = withUnsafeMutablePointer(to: &biasVar) { b in
                dnnl_dilated_convolution_forward_desc_init(&desc, backward ? dnnl_forward_training : dnnl_forward_inference,
                                                           dnnl_convolution_direct, &srcVar, &anyWeights, hasBias ? b : nil, &dstVar,
                                                           strides, dilations, left, right)
            }
            guard status == dnnl_success else { return nil }
            // Backward: the forward primitive is only the hint oneDNN needs to pick a matching one.
            var hint: dnnl_primitive_desc_t?
            defer { if let hint { dnnl_primitive_desc_destroy(hint) } }
            var backwardDesc = dnnl_convolution_desc_t()
            if backward {
                guard dnnl_primitive_desc_create(&hint, &desc, nil, engine.handle, nil) == dnnl_success,
                      dnnl_dilated_convolution_backward_data_desc_init(&backwardDesc, dnnl_convolution_direct, &srcVar, &anyWeights,
                                                                       &dstVar, strides, dilations, left, right) == dnnl_success
                else { return nil }
            }

            var attr: dnnl_primitive_attr_t?
            guard dnnl_primitive_attr_create(&attr) == dnnl_success, let attr else { return nil }
            defer { dnnl_primitive_attr_destroy(attr) }
            dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)
            if let (lo, hi) = shape.clamp {
                var ops: dnnl_post_ops_t?
                guard dnnl_post_ops_create(&ops) == dnnl_success, let ops else { return nil }
                defer { dnnl_post_ops_destroy(ops) }
                let ok = lo == 0 && hi == .infinity
                    ? dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0)
                    : dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_clip, lo, hi)
                guard ok == dnnl_success, dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success else { return nil }
            }
            var pd: dnnl_primitive_desc_t?
            let created = backward ? dnnl_primitive_desc_create(&pd, &backwardDesc, attr, engine.handle, hint)
                                   : dnnl_primitive_desc_create(&pd, &desc, attr, engine.handle, nil)
            guard created == dnnl_success, let pd else { return nil }
            defer { dnnl_primitive_desc_destroy(pd) }
            var name: UnsafePointer<CChar>?
            dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name)
            let implementation = name.map { String(cString: $0) } ?? "?"
            guard !implementation.hasPrefix("ref"),
                  let wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
                  let smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) else { return nil }
            var weightsDesc = wmd.pointee, scratchDesc = smd.pointee
            // What run reads (src, or diff_dst backward) and writes (dst, or diff_src backward).
            guard let chosenSrc = dnnl_primitive_desc_query_md(pd, backward ? dnnl_query_diff_dst_md : dnnl_query_src_md, 0)?.pointee,
                  let chosenDst = dnnl_primitive_desc_query_md(pd, backward ? dnnl_query_diff_src_md : dnnl_query_dst_md, 0)?.pointee
            else { return nil }
            let (src, dst) = (chosenSrc, chosenDst)
            let (readDims, writtenDims) = backward ? (dstDims, srcDims) : (srcDims, dstDims)

            var planar: (src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, toLast: dnnl_primitive_t, toFirst: dnnl_primitive_t)?
            if !shape.channelsLast {
                guard let srcFirst = Plain(readDims, order: firstOrder).desc(), let dstFirst = Plain(writtenDims, order: firstOrder).desc(),
                      let toLast = DNNL.reorderPrimitive(from: srcFirst, to: src, engine: engine) else { return nil }
                guard let toFirst = DNNL.reorderPrimitive(from: dst, to: dstFirst, engine: engine) else {
                    dnnl_primitive_destroy(toLast)
                    return nil
                }
                planar = (srcFirst, dstFirst, toLast, toFirst)
            }
            var p: dnnl_primitive_t?
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(dnnl_memory_desc_get_size(&weightsDesc), 64), alignment: 64)
            guard dnnl_primitive_create(&p, pd) == dnnl_success, let p,
                  DNNL.reorder(from: plainWeights, UnsafeMutableRawPointer(mutating: kernel), to: weightsDesc, buffer,
                               engine: engine, threads: threads) else {
                if let p { dnnl_primitive_destroy(p) }
                if let planar { dnnl_primitive_destroy(planar.toLast); dnnl_primitive_destroy(planar.toFirst) }
                buffer.deallocate()
                return nil
            }
            func aligned(_ b: Int) -> Int { (b + 63) / 64 * 64 }
            var (s, d) = (src, dst)
            scratchpadBytes = aligned(dnnl_memory_desc_get_size(&scratchDesc))
            srcBytes = planar == nil ? 0 : aligned(dnnl_memory_desc_get_size(&s))
            dstBytes = planar == nil ? 0 : aligned(dnnl_memory_desc_get_size(&d))
            scratchBytes = scratchpadBytes + srcBytes + dstBytes
            (self.src, self.dst, self.bias, self.weightsDesc, self.scratchDesc) = (src, dst, bias, weightsDesc, scratchDesc)
            self.planar = planar
            self.backward = backward
            self.implementation = implementation
            self.threads = threads
            primitive = p
            weights = buffer
        }

        deinit {
            dnnl_primitive_destroy(primitive)
            if let planar {
                dnnl_primitive_destroy(planar.toLast)
                dnnl_primitive_destroy(planar.toFirst)
            }
            weights.deallocate()
        }

        /// Runs the convolution: `x` input, `b` bias (when created with one), `y` output, both in
        /// the shape's layout; `scratch` at least `scratchBytes` bytes, 64-byte aligned.
        func run(x: UnsafePointer<Float>, bias b: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutableRawPointer?, stream: Stream) throws {
            var input = UnsafeMutableRawPointer(mutating: x), output = UnsafeMutableRawPointer(y)
            if let planar, let scratch {
                input = scratch + scratchpadBytes
                output = scratch + scratchpadBytes + srcBytes
                try DNNL.execute(planar.toLast, [(DNNL_ARG_FROM, planar.src, UnsafeMutableRawPointer(mutating: x)),
                                                 (DNNL_ARG_TO, src, input)], stream: stream, threads: threads)
            }
            var args: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)] = [
                (backward ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC, src, input), (DNNL_ARG_WEIGHTS, weightsDesc, weights),
                (backward ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST, dst, output),
            ]
            if let b { args.append((DNNL_ARG_BIAS, bias, UnsafeMutableRawPointer(mutating: b))) }
            if let scratch, scratchpadBytes > 0 { args.append((DNNL_ARG_SCRATCHPAD, scratchDesc, scratch)) }
            try DNNL.execute(primitive, args, stream: stream, threads: threads)
            if let planar {
                try DNNL.execute(planar.toFirst, [(DNNL_ARG_FROM, dst, output), (DNNL_ARG_TO, planar.dst, UnsafeMutableRawPointer(y))],
                                 stream: stream, threads: threads)
            }
        }
    }

    /// A reorder primitive between two layouts of the same data, or nil.
    fileprivate static func reorderPrimitive(from: dnnl_memory_desc_t, to: dnnl_memory_desc_t, engine: Engine) -> dnnl_primitive_t? {
        var (a, b) = (from, to)
        var rpd: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&rpd, &a, engine.handle, &b, engine.handle, nil) == dnnl_success, let rpd else { return nil }
        defer { dnnl_primitive_desc_destroy(rpd) }
        var r: dnnl_primitive_t?
        guard dnnl_primitive_create(&r, rpd) == dnnl_success else { return nil }
        return r
    }

    /// Copies `from` (laid out as `fromDesc`) into `to` (laid out as `toDesc`) once.
    fileprivate static func reorder(from fromDesc: dnnl_memory_desc_t, _ from: UnsafeMutableRawPointer,
                                    to toDesc: dnnl_memory_desc_t, _ to: UnsafeMutableRawPointer,
                                    engine: Engine, threads: Int) -> Bool {
        guard let r = reorderPrimitive(from: fromDesc, to: toDesc, engine: engine), let stream = Stream() else { return false }
        defer { dnnl_primitive_destroy(r) }
        return (try? execute(r, [(DNNL_ARG_FROM, fromDesc, from), (DNNL_ARG_TO, toDesc, to)], stream: stream, threads: threads)) != nil
    }

    /// Executes `primitive` on buffers wrapped as memory objects, and waits for it.
    fileprivate static func execute(_ primitive: dnnl_primitive_t, _ buffers: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)],
                                    stream: Stream, threads: Int) throws {
        let ok = Memory.with(buffers) { args in
            setThreads(threads)
            return dnnl_primitive_execute(primitive, stream.handle, Int32(args.count), args) == dnnl_success
                && dnnl_stream_wait(stream.handle) == dnnl_success
        } ?? false
        guard ok else { throw AscentError(.internal, "oneDNN primitive execution failed") }
    }

    /// Temporary `dnnl_memory_t` wrappers around caller-owned buffers.
    enum Memory {
        /// Wraps each buffer as a memory object for the duration of `body`; nil if one cannot be created.
        static func with<R>(_ buffers: [(Int32, dnnl_memory_desc_t, UnsafeMutableRawPointer)],
                            _ body: ([dnnl_exec_arg_t]) -> R) -> R? {
            guard let engine = DNNL.engine else { return nil }
            var args: [dnnl_exec_arg_t] = []
            defer { for a in args { dnnl_memory_destroy(a.memory) } }
            for (index, desc, pointer) in buffers {
                var m: dnnl_memory_t?
                var d = desc
                guard dnnl_memory_create(&m, &d, engine.handle, pointer) == dnnl_success, let m else { return nil }
                args.append(dnnl_exec_arg_t(arg: index, memory: m))
            }
            return body(args)
        }
    }
}
