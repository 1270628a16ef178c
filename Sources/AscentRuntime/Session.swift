import AscentIR
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a ``Graph`` forward on the CPU.
///
/// Creating a session checks the whole graph up front: every node must have a kernel (all that
/// do not are listed in one error), the graph must validate, and every node's attributes must
/// make sense. Each distinct set of input shapes is planned once (concrete types, constant
/// folding, buffer reuse) and the plan is cached, so calls with the same shapes only compute.
///
/// Computation is float32 (integers and bool in their own types): float16, bfloat16 and float64
/// graph inputs are accepted and converted to float32; such graph outputs are converted back.
///
/// A session may be shared between tasks and threads; concurrent calls each use their own buffers.
public final class Session: Sendable {
    /// Execution settings.
    public struct Options: Sendable {
        /// Threads used by matrix products (oneDNN) and by large elementwise loops. At least 1.
        public var threads: Int
        /// How many input-shape plans to keep (oldest dropped first).
        public var planCacheLimit: Int
        /// Fold BatchNormalization into the preceding Conv and fuse Relu/Clip into it (same
        /// results up to float rounding). Off runs every node as written.
        public var fuseOperations: Bool
        /// With `fuseOperations`, run channels-first convolution regions channels-last (see
        /// ``LayoutPass``; same results up to float rounding).
        public var layoutPass: Bool
        /// Run convolutions with a constant kernel (and their input gradients) as oneDNN
        /// primitives made once per plan. Off runs them on the built-in im2col + sgemm and direct
        /// kernels (same results up to float rounding; for comparisons and debugging).
        public var convolutionPrimitives: Bool
        /// Use fewer than `threads` while other processes keep the CPUs busy (each call checks how
        /// many tasks are runnable elsewhere; see ``Processors``): a team of threads waits at every
        /// join for whichever thread the kernel descheduled, so on a shared machine one thread is
        /// faster. Plans are made per thread count (oneDNN fixes a primitive's threads when it is
        /// made), so a session that sees both conditions keeps two. Off always uses `threads`.
        public var adaptiveThreads: Bool

        public init(threads: Int = Session.defaultThreads, planCacheLimit: Int = 16, fuseOperations: Bool = true,
                    layoutPass: Bool = true, convolutionPrimitives: Bool = true, adaptiveThreads: Bool = true) {
            self.threads = max(1, threads)
            self.planCacheLimit = max(1, planCacheLimit)
            self.fuseOperations = fuseOperations
            self.layoutPass = layoutPass
            self.convolutionPrimitives = convolutionPrimitives
            self.adaptiveThreads = adaptiveThreads
        }
    }

    /// The processors this process may use: its CPU affinity mask, lowered to its cgroup CPU
    /// quota (rounded up) when it has one — not the machine's processor count.
    public static var defaultThreads: Int { Processors.available }

    public let options: Options
    let program: Program
    private let plans: Mutex<PlanCache>
    /// Buffer pools left by finished calls, reused by the next ones.
    private let pools: Mutex<[BufferPool]>

    /// Prepares `graph` for running.
    /// - Throws: ``AscentError`` `.invalidData` listing every unsupported node, or naming the
    ///   first invalid node, before any computation.
    public init(graph: Graph, options: Options = .init()) throws {
        self.options = options
        program = try Program(graph: graph, fuse: options.fuseOperations, layout: options.layoutPass)
        plans = Mutex(PlanCache())
        pools = Mutex([])
    }

    /// The graph inputs, with their declared types.
    public var inputs: [ValueInfo] { program.inputs.map(\.info) }

    /// The names of the graph outputs, in graph order.
    public var outputNames: [String] { program.outputs.map(\.name) }

    /// The number of input-shape plans currently cached.
    public var cachedPlanCount: Int { plans.withLock { $0.plans.count } }

    /// Runs the graph.
    ///
    /// - Parameter inputs: a tensor for every graph input by name (inputs that have an
    ///   initializer may be left out), each in its declared dtype; a float16, bfloat16 or float64
    ///   input may also be given as float32, the type Ascent computes it in.
    /// - Returns: every graph output by name.
    /// - Throws: ``AscentError`` `.invalidData` for a missing, unknown, mistyped or misshapen input
    ///   (one line naming it) or data a kernel refuses (naming the node); `.internal` for a bug.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try run(values: inputs.mapValues(GraphValue.tensor)).mapValues { v in
            guard let t = v.tensor else {
                throw AscentError.invalid("an output is \(v.summary), not a tensor: run(values:) gives sequences and optionals")
            }
            return t
        }
    }

    /// Runs a graph whose inputs or outputs may be sequences or optionals (``ValueKind``).
    ///
    /// - Parameter inputs: a value for every graph input by name: a tensor for a tensor input, a
    ///   sequence (its tensors each in the declared dtype) for a sequence input, and for an optional
    ///   input what it holds or ``GraphValue/none``.
    /// - Returns: every graph output by name (an absent optional as ``GraphValue/none``).
    /// - Throws: as ``run(_:)``.
    public func run(values inputs: [String: GraphValue]) throws -> [String: GraphValue] {
        let (bound, others, shapes) = try bind(inputs)
        let threads = options.adaptiveThreads ? Processors.worthUsing(options.threads) : options.threads
        let key = shapes + [[threads]]
        let pool = pools.withLock { $0.popLast() } ?? BufferPool()
        defer { pools.withLock { if $0.count < max(1, options.threads) { $0.append(pool) } } }
        let context = ExecutionContext(threads: threads, pool: pool, primitives: options.convolutionPrimitives)
        let plan: Plan
        if let cached = plans.withLock({ $0.plan(for: key) }) {
            plan = cached
        } else {
            var types: [Int: TensorType] = [:]
            for (id, t) in bound { types[id] = t.type }
            plan = try Plan(program: program, inputTypes: types,
                            context: ExecutionContext(threads: threads, pool: BufferPool(), primitives: options.convolutionPrimitives))
            plans.withLock { $0.insert(plan, for: key, limit: options.planCacheLimit) }
        }
        return try plan.execute(program, inputs: bound, values: others, context: context)
    }

    /// Checks the inputs against the graph's declarations and converts them to their compute types:
    /// the tensors, the sequence and optional values, and the plan key.
    private func bind(_ feeds: [String: GraphValue]) throws -> ([Int: Tensor], [Int: GraphValue], PlanCache.Key) {
        for name in feeds.keys.sorted() where !program.inputs.contains(where: { $0.info.name == name }) {
            let known = program.inputs.map { "'\($0.info.name)'" }.joined(separator: ", ")
            throw AscentError.invalid("unknown input '\(name)' (the graph's inputs are \(known))")
        }
        var bound: [Int: Tensor] = [:], others: [Int: GraphValue] = [:]
        var key: PlanCache.Key = []
        for input in program.inputs {
            let name = input.info.name, declared = input.info.type
            guard let value = feeds[name] else {
                if input.hasDefault { key.append(nil); continue }
                throw AscentError.invalid("missing input '\(name)' (\(declared))")
            }
            guard value.fits(declared.kind) else {
                throw AscentError.invalid("input '\(name)' is \(value.summary), expected \(declared)")
            }
            if declared.kind != .tensor {
                switch value {
                case .tensor(let t): others[input.id] = .tensor(try Session.check(t, name, declared))
                case .sequence(let ts):
                    others[input.id] = .sequence(try ts.enumerated().map { i, t in try Session.check(t, "\(name)[\(i)]", declared) })
                case .none: others[input.id] = GraphValue.none
                }
                key.append(nil)  // nothing downstream of a sequence or optional is planned ahead
                continue
            }
            guard case .tensor(let t) = value else { throw AscentError(.internal, "input '\(name)' kind") }
            bound[input.id] = try Session.check(t, name, declared)
            key.append(t.shape)
        }
        return (bound, others, key)
    }

    /// `t` checked against the declared tensor type (of a sequence's or optional's elements) and in its compute dtype.
    private static func check(_ tensor: Tensor, _ name: String, _ declared: ValueType) throws -> Tensor {
        var t = tensor
        let compute = declared.dtype.computeDType
        if compute != declared.dtype, t.dtype == declared.dtype || t.dtype == compute {
            t = t.converted(to: compute)
        } else if t.dtype != declared.dtype {
            throw AscentError.invalid("input '\(name)' is \(t.dtype.rawValue), expected \(declared.dtype.rawValue)")
        }
        // A sequence's declared shape is its elements' common one: sizes only bind for tensors.
        if let shape = declared.shape, declared.kind.unwrapped == .tensor {
            guard t.shape.count == shape.rank else {
                throw AscentError.invalid("input '\(name)' has shape \(Shape(t.shape)), expected rank \(shape.rank) (\(shape))")
            }
            // Only known sizes bind: a symbol (`dim_param`) on two axes does not force them equal
            // unless the graph does (its kernels then refuse the sizes), as in onnxruntime.
            for (size, dim) in zip(t.shape, shape.dims) where dim.value.map({ $0 != size }) ?? false {
                throw AscentError.invalid("input '\(name)' has shape \(Shape(t.shape)), expected \(shape)")
            }
        }
        return t
    }
}

/// Plans by input shapes, oldest dropped first beyond the limit.
struct PlanCache {
    /// One entry per graph input: its shape, or nil when left to its initializer; then the thread count.
    typealias Key = [[Int]?]

    private(set) var plans: [Key: Plan] = [:]
    private var order: [Key] = []

    func plan(for key: Key) -> Plan? { plans[key] }

    mutating func insert(_ plan: Plan, for key: Key, limit: Int) {
        if plans[key] == nil { order.append(key) }
        plans[key] = plan
        while order.count > limit { plans[order.removeFirst()] = nil }
    }
}
