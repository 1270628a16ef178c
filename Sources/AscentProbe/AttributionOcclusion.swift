import AscentIR
import AscentRuntime

extension Attribution {
    /// Captum's `Occlusion`: a window slides over the input item's axes (positions `k·stride` for
    /// `k = 0 … ⌈(size − window)/stride⌉` on each axis, the last ones cut at the edge); for each
    /// position the input with the window set to the baseline is run, and `F(x) − F(occluded)` is
    /// added to every element under the window. Each element's attribution is the mean over the
    /// windows that covered it.
    ///
    /// The window and stride name every item axis in the input's own layout (`[C, H, W]` or
    /// `[H, W, C]`), or only its spatial axes, the window then covering every channel.
    func occlusion(_ x: [Float], itemShape: [Int], options: Options) throws -> Map {
        let rank = itemShape.count
        let channelAxis = rank >= 2 ? (channelsLast ? rank - 1 : 0) : -1
        let spatial = (0..<rank).filter { $0 != channelAxis }
        func expand(_ given: [Int]?, _ what: String, default make: (Int) -> Int) throws -> [Int] {
            guard let given else {
                return (0..<rank).map { $0 == channelAxis ? itemShape[$0] : make(itemShape[$0]) }
            }
            if given.count == rank { return given }
            guard given.count == spatial.count else {
                throw AscentError(.usage, "the occlusion \(what) has \(given.count) sizes; the input item [\(itemShape.map(String.init).joined(separator: ", "))] needs \(rank) (every axis) or \(spatial.count) (the spatial axes)")
            }
            var full = itemShape
            for (a, v) in zip(spatial, given) { full[a] = v }
            if channelAxis >= 0, what == "stride" { full[channelAxis] = itemShape[channelAxis] }
            return full
        }
        let window = try expand(options.window, "window") { max(1, $0 / 8) }
        let strides = try expand(options.stride, "stride") { max(1, max(1, $0 / 8) / 2) }
        for a in 0..<rank {
            guard window[a] >= 1, window[a] <= itemShape[a] else {
                throw AscentError(.usage, "the occlusion window \(window) does not fit the input item \(itemShape) on axis \(a)")
            }
            guard strides[a] >= 1 else { throw AscentError(.usage, "occlusion strides must be at least 1 (\(strides))") }
        }
        let baseline = try baselineValues(options.baseline, for: x, itemShape: itemShape, seed: options.seed)
        var shifts = [Int](repeating: 1, count: rank)
        for a in 0..<rank { shifts[a] = (itemShape[a] - window[a] + strides[a] - 1) / strides[a] + 1 }
        let count = shifts.reduce(1, *)
        var itemStrides = [Int](repeating: 1, count: rank)
        for a in stride(from: rank - 2, through: 0, by: -1) { itemStrides[a] = itemStrides[a + 1] * itemShape[a + 1] }

        /// Calls `body` with the flat index of every element under window `k`.
        func forEachCovered(_ k: Int, _ body: (Int) -> Void) {
            var rest = k, start = [Int](repeating: 0, count: rank)
            for a in (0..<rank).reversed() { start[a] = (rest % shifts[a]) * strides[a]; rest /= shifts[a] }
            let end = (0..<rank).map { min(itemShape[$0], start[$0] + window[$0]) }
            var position = start
            while true {
                body(zip(position, itemStrides).reduce(0) { $0 + $1.0 * $1.1 })
                var a = rank - 1
                while a >= 0 {
                    position[a] += 1
                    if position[a] < end[a] { break }
                    position[a] = start[a]
                    a -= 1
                }
                if a < 0 { return }
            }
        }

        let session = try forwardSession()
        // Item `count` is the unoccluded input.
        var f = [Float](repeating: 0, count: count + 1)
        try runBatched(session, itemShape: itemShape, count: count + 1, batch: options.batch, item: { k, dst in
            _ = dst.initialize(from: x)
            if k < count { forEachCovered(k) { dst[$0] = baseline[$0] } }
        }, collect: { k, outputs, b in
            f[k] = outputs[objective.value]!.floats()[b]
        })
        var total = [Double](repeating: 0, count: x.count), covered = [Double](repeating: 0, count: x.count)
        for k in 0..<count {
            let difference = Double(f[count]) - Double(f[k])
            forEachCovered(k) { total[$0] += difference; covered[$0] += 1 }
        }
        let values = zip(total, covered).map { Float($1 > 0 ? $0 / $1 : 0) }
        return map(values, itemShape: itemShape, objective: f[count])
    }
}
