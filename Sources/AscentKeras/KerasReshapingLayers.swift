import AscentIR

/// Padding, cropping, upsampling, repetition, embedding and layer normalization.
extension KerasLayers {
    /// `((a, b), (c, d))`, `(a, b)` or `a` as per-axis (begin, end) pairs for `rank` spatial axes.
    static func pairs(_ v: JSONValue, rank: Int) -> [(Int, Int)]? {
        if let n = v.int { return Array(repeating: (n, n), count: rank) }
        guard let list = v.array else { return nil }
        if rank == 1, list.count == 2, let a = list[0].int, let b = list[1].int { return [(a, b)] }
        if list.count == rank, list.allSatisfy({ $0.int != nil }) { return list.map { ($0.int!, $0.int!) } }
        guard list.count == rank else { return nil }
        var out: [(Int, Int)] = []
        for item in list {
            guard let a = item[0].int, let b = item[1].int else { return nil }
            out.append((a, b))
        }
        return out
    }

    /// The spatial axes of a rank-`rank` value (channels last unless the layer says first).
    static func spatialAxes(_ call: LayerCall, rank: Int) -> [Int] {
        call.channelsFirst ? Array(2..<rank) : Array(1..<(rank - 1))
    }

    static let zeroPadding: LayerConverter = { call, b in
        let x = try call.input()
        let spatial = spatialRank(call.layer.className)
        guard let p = pairs(call.config["padding"], rank: spatial) else { throw call.error("bad padding") }
        let rank = spatial + 2
        var pads = [Int](repeating: 0, count: 2 * rank)
        for (i, axis) in spatialAxes(call, rank: rank).enumerated() {
            pads[axis] = p[i].0
            pads[rank + axis] = p[i].1
        }
        let padsValue = b.constant("\(call.name)/pads", Tensor(shape: [2 * rank], scalars: pads.map(Int64.init)))
        return [try b.node("Pad", name: call.name, inputs: [x, padsValue], output: call.outputName,
                           attributes: ["mode": .string("constant")])]
    }

    static let cropping: LayerConverter = { call, b in
        let x = try call.input()
        let spatial = spatialRank(call.layer.className)
        guard let c = pairs(call.config["cropping"], rank: spatial) else { throw call.error("bad cropping") }
        let axes = spatialAxes(call, rank: spatial + 2)
        let starts = c.map { Int64($0.0) }, ends = c.map { $0.1 == 0 ? Int64.max : -Int64($0.1) }
        return [try b.node("Slice", name: call.name, inputs: [
            x, b.constant("\(call.name)/starts", Tensor(shape: [spatial], scalars: starts)),
            b.constant("\(call.name)/ends", Tensor(shape: [spatial], scalars: ends)),
            b.constant("\(call.name)/axes", Tensor(shape: [spatial], scalars: axes.map(Int64.init))),
        ], output: call.outputName)]
    }

    /// Nearest-neighbour upsampling by whole factors: each spatial axis gets a size-1 axis
    /// after it, broadcast to the factor, then the pairs are merged by a reshape.
    static let upSampling: LayerConverter = { call, b in
        let x = try call.input()
        let spatial = spatialRank(call.layer.className)
        if let mode = call.config["interpolation"].string, mode != "nearest" {
            throw call.error("interpolation '\(mode)' is not supported (only nearest)")
        }
        guard let size = (call.config["size"].isNull ? JSONValue.number(2) : call.config["size"]).ints(count: spatial) else {
            throw call.error("bad size")
        }
        guard let dims = b.type(x)?.shape?.dims, dims.count == spatial + 2 else { throw call.error("input rank unknown") }
        let axes = spatialAxes(call, rank: spatial + 2)
        // Positions of the new axes in the unsqueezed value: after each spatial axis.
        let newAxes = axes.enumerated().map { $0.element + $0.offset + 1 }
        let unsqueezed = try b.node("Unsqueeze", name: call.name, inputs: [x], output: call.outputName + "/unsqueezed",
                                    attributes: ["axes": .ints(newAxes)])
        var expandShape = [Int64](repeating: 1, count: spatial * 2 + 2)
        for (i, a) in newAxes.enumerated() { expandShape[a] = Int64(size[i]) }
        let expanded = try b.node("Expand", name: call.name, inputs: [
            unsqueezed, b.constant("\(call.name)/repeat", Tensor(shape: [expandShape.count], scalars: expandShape)),
        ], output: call.outputName + "/expanded")
        var target: [Int64] = [0]
        for axis in 1..<(spatial + 2) {
            guard let v = dims[axis].value else { throw call.error("upsampling needs known sizes, input is \(Shape(dims))") }
            let factor = axes.firstIndex(of: axis).map { size[$0] } ?? 1
            target.append(Int64(v * factor))
        }
        return [try b.node("Reshape", name: call.name, inputs: [
            expanded, b.constant("\(call.name)/shape", Tensor(shape: [target.count], scalars: target)),
        ], output: call.outputName)]
    }

    static let repeatVector: LayerConverter = { call, b in
        guard let n = call.config["n"].int else { throw call.error("config has no 'n'") }
        let unsqueezed = try b.node("Unsqueeze", name: call.name, inputs: [try call.input()], output: call.outputName + "/unsqueezed",
                                    attributes: ["axes": .ints([1])])
        return [try b.node("Expand", name: call.name, inputs: [
            unsqueezed, b.constant("\(call.name)/repeat", Tensor(shape: [3], scalars: [Int64(1), Int64(n), 1])),
        ], output: call.outputName)]
    }

    static let embedding: LayerConverter = { call, b in
        let table = try call.weight(0, "embeddings", shape: [call.config["input_dim"].int, call.config["output_dim"].int])
        return [try b.node("Gather", name: call.name, inputs: [b.constant("\(call.name)/embeddings", table), try call.input()],
                           output: call.outputName, attributes: ["axis": .int(0)])]
    }

    static let layerNorm: LayerConverter = { call, b in
        let x = try call.input()
        guard let rank = b.type(x)?.shape?.rank else { throw call.error("input rank unknown") }
        var axes = (call.config["axis"].array?.compactMap(\.int) ?? [call.config["axis"].int ?? -1]).map { $0 < 0 ? $0 + rank : $0 }.sorted()
        if axes.isEmpty { axes = [rank - 1] }
        guard axes == Array(axes[0]..<rank) else { throw call.error("normalizing over axes \(axes) (not a trailing block) is not supported") }
        guard let shape = b.type(x)?.shape?.dims[axes[0]...].map(\.value), shape.allSatisfy({ $0 != nil }) else {
            throw call.error("normalized axes need known sizes")
        }
        let normalizedShape = shape.map { $0! }
        let count = normalizedShape.reduce(1, *)
        let scale = call.config["scale"].bool != false, center = call.config["center"].bool != false
        var index = 0
        let gamma = scale ? try call.weight(index, "gamma") : Tensor(shape: normalizedShape, scalars: [Float](repeating: 1, count: count))
        if scale { index += 1 }
        let beta = center ? try call.weight(index, "beta") : Tensor(shape: normalizedShape, scalars: [Float](repeating: 0, count: count))
        guard gamma.count == count, beta.count == count else { throw call.error("gamma/beta do not match the normalized shape \(normalizedShape)") }
        return [try b.node("LayerNormalization", name: call.name, inputs: [
            x, b.constant("\(call.name)/gamma", try gamma.reshaped(normalizedShape)),
            b.constant("\(call.name)/beta", try beta.reshaped(normalizedShape)),
        ], output: call.outputName, attributes: [
            "axis": .int(axes[0]), "epsilon": .float(call.config["epsilon"].double ?? 1e-3),
        ])]
    }
}
