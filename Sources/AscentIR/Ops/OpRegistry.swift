/// Every op Ascent defines, by family; the one list every other table is derived from.
///
/// Adding an op: define it in its family's file (`Ops/<Family>.swift`: attributes struct, shape
/// rule, traits, VJP, ONNX versions), add it to its family's line here, and give it a kernel in
/// the runtime's family file.
public enum OpRegistry {
    public static let families: [(name: String, ops: [OpDefinition])] = [
        ("elementwise", [.identity, .neg, .exp, .log, .sqrt, .reciprocal, .abs, .sin, .cos, .tan, .asin, .acos, .atan,
                         .sinh, .cosh, .asinh, .acosh, .atanh, .erf, .floor, .ceil, .round, .sign, .not, .bitwiseNot,
                         .isNaN, .isInf]),
        ("activation", [.relu, .sigmoid, .tanh, .softplus, .softsign, .leakyRelu, .thresholdedRelu, .elu, .selu, .celu,
                        .hardSigmoid, .hardSwish, .swish, .mish, .gelu, .shrink, .clip, .pRelu, .swiGLU]),
        ("arithmetic", [.add, .sub, .mul, .div, .pow, .mod, .bitShift, .bitwiseAnd, .bitwiseOr, .bitwiseXor, .equal, .less,
                        .greater, .lessOrEqual, .greaterOrEqual, .and, .or, .xor, .max, .min, .sum, .mean, .where]),
        ("convolution", [.conv, .convTranspose, .deformConv, .col2Im, .convGradInput, .convGradFilter]),
        ("pooling", [.maxPool, .averagePool, .lpPool, .globalAveragePool, .globalMaxPool, .maxUnpool, .maxPoolGrad,
                     .averagePoolGrad, .lpPoolGrad, .globalAveragePoolGrad, .globalMaxPoolGrad]),
        ("linear", [.matMul, .gemm, .einsum, .det]),
        ("normalization", [.batchNormalization, .layerNormalization, .instanceNormalization, .groupNormalization,
                           .rmsNormalization, .meanVarianceNormalization, .lpNormalization, .lrn, .softmax, .logSoftmax,
                           .hardmax]),
        ("reduction", [.reduceSum, .reduceMean, .reduceMax, .reduceMin, .reduceProd, .reduceL1, .reduceL2, .reduceLogSum,
                       .reduceLogSumExp, .reduceSumSquare, .argMax, .argMin, .cumSum, .cumProd, .cumProdGrad, .sumTo]),
        ("movement", [.reshape, .flatten, .transpose, .squeeze, .unsqueeze, .concat, .split, .slice, .pad, .tile, .expand,
                      .depthToSpace, .spaceToDepth, .centerCropPad, .trilu, .reverseSequence, .sliceGrad, .padGrad]),
        ("constants", [.constant, .shape, .size, .constantOfShape, .range, .eyeLike, .unsupported]),
        ("indexing", [.gather, .gatherElements, .gatherND, .scatterElements, .scatterND, .tensorScatter, .compress, .nonZero,
                      .topK, .unique, .oneHot]),
        ("cast", [.cast, .castLike, .bitCast]),
        ("resampling", [.resize, .gridSample, .affineGrid, .roiAlign, .resizeGrad]),
        ("recurrent", [.rnn, .gru, .lstm]),
        ("attention", [.attention, .rotaryEmbedding, .linearAttention, .causalConvWithState]),
        ("quantization", [.quantizeLinear, .dequantizeLinear, .dynamicQuantizeLinear, .qLinearMatMul, .matMulInteger,
                          .convInteger, .qLinearConv, .straightThrough]),
        ("contrib", [.fusedConv, .fusedGemm, .fusedMatMul, .biasGelu, .fastGelu, .quickGelu, .skipLayerNormalization,
                     .skipSimplifiedLayerNormalization, .qLinearAdd, .qLinearMul, .qLinearSigmoid, .qLinearLeakyRelu,
                     .qLinearSoftmax, .qLinearGlobalAveragePool, .qLinearAveragePool, .qLinearConcat, .qGemm,
                     .dynamicQuantizeMatMul, .matMulIntegerToFloat]),
        ("signal", [.dft, .stft, .hannWindow, .hammingWindow, .blackmanWindow, .melWeightMatrix]),
        ("loss", [.negativeLogLikelihoodLoss, .softmaxCrossEntropyLoss]),
        ("detection", [.nonMaxSuppression, .tfIdfVectorizer]),
        ("control flow", [.if, .loop, .scan]),
        ("sequence", [.sequenceConstruct, .sequenceEmpty, .sequenceAt, .sequenceInsert, .sequenceErase, .sequenceLength,
                      .splitToSequence, .concatFromSequence, .sequenceMap, .optional, .optionalHasElement,
                      .optionalGetElement]),
    ]

    /// Every definition, by op name.
    public static let definitions: [String: OpDefinition] = {
        var all: [String: OpDefinition] = [:]
        for op in families.flatMap(\.ops) {
            precondition(all[op.name] == nil, "op \(op.name) is defined twice")
            all[op.name] = op
        }
        return all
    }()

    /// All definitions in family order.
    public static var all: [OpDefinition] { families.flatMap(\.ops) }

    /// The definition of `op`, or nil when the IR has no such op.
    public static func definition(_ op: String) -> OpDefinition? { definitions[op] }
}

extension Node {
    /// The op's definition, or nil for an op the IR does not define.
    public var definition: OpDefinition? { OpRegistry.definition(op) }

    /// True when the node is of `op`.
    public func `is`(_ op: OpDefinition) -> Bool { self.op == op.name }
}
