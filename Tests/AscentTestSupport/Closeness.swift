import AscentIR
import Testing

/// The one place tests compare numbers. Every form is NaN- and infinity-aware — NaN matches only
/// NaN, +∞ only +∞, −∞ only −∞ — and dtype- and shape-exact unless the call says otherwise; a
/// failure names the worst element (its index in the tensor's shape), both values and the limit.
///
/// Forms, each with its own `expect…` wrapper that records an issue at the caller:
/// - ``elementwise(_:_:rtol:atol:dtypes:)``: `|a − e| ≤ atol + rtol·|e|` for every element
///   (NumPy's `isclose`), integers and booleans compared exactly unless a tolerance allows more;
/// - ``scaled(_:_:tolerance:floor:dtypes:)``: `max |a − e| ≤ tolerance · max(1, max |e|)` (the bar of
///   the Keras import and ONNX export claims), the scale taken over the finite reference values;
/// - ``relativeL2(_:_:atMost:floor:dtypes:)``: `‖a − e‖₂ ≤ bound · ‖e‖₂` (gradients, whole images);
/// - ``ulps(_:_:atMost:dtypes:)``: at most N representable values apart, in the tensor's own
///   floating-point format.
public enum Closeness {
    /// Which dtypes may be compared.
    public enum DTypes: Sendable {
        /// The same dtype (the default).
        case exact
        /// Any two floating-point dtypes (float16/bfloat16/float32/float64), values compared as
        /// doubles. Only where a test says why the widths may differ.
        case anyFloatingPoint
    }

    /// The outcome of one comparison.
    public struct Report: Sendable, CustomStringConvertible {
        /// Why the tensors are not close; nil when they are.
        public var mismatch: String?
        /// What was measured: the largest |a − e| (elementwise), that divided by the scale
        /// (scaled), the relative L2 error, or the largest ULP distance. Infinite when a NaN or an
        /// infinity is unmatched, or when dtype or shape differ.
        public var measured: Double

        public var isClose: Bool { mismatch == nil }
        public var description: String { mismatch ?? "close (measured \(measured))" }
    }

    // MARK: - The forms

    /// Every element within `atol + rtol·|expected|` (floating types; integers and booleans the
    /// same with exact integer differences, so tolerances 0 mean equal). Narrow types (float8,
    /// float4, int4, int2...) are compared exactly whatever the tolerances: the same decoded value,
    /// the sign of zero included, or NaN for NaN (any NaN encoding).
    public static func elementwise(_ actual: Tensor, _ expected: Tensor, rtol: Double, atol: Double,
                                   dtypes: DTypes = .exact) -> Report {
        if let problem = kindMismatch(actual, expected, dtypes) { return Report(mismatch: problem, measured: .infinity) }
        if expected.dtype.isNarrow, actual.dtype == expected.dtype { return exact(actual, expected) }
        let pairs = Pairs(actual, expected)
        var worst: (index: Int, excess: Double)?
        var bad = 0, measured = 0.0
        for i in 0..<pairs.count {
            guard let diff = pairs.gap(i) else { continue }
            if diff.isFinite { measured = max(measured, diff) }
            let excess = diff - (atol + rtol * abs(pairs[i].1))
            if excess <= 0 { continue }
            bad += 1
            if worst == nil || excess > worst!.excess { worst = (i, excess) }
        }
        guard let worst else { return Report(mismatch: nil, measured: measured) }
        if worst.excess == .infinity { measured = .infinity }
        let limit = atol + rtol * abs(pairs[worst.index].1)
        return Report(mismatch: "\(bad) of \(pairs.count) elements differ (rtol \(rtol), atol \(atol)); worst "
                        + pairs.at(worst.index) + ", limit \(format(limit))", measured: measured)
    }

    /// `max |a − e| ≤ tolerance · max(floor, max |e|)`, the maximum of |e| over finite elements;
    /// `measured` is `max |a − e| / max(floor, max |e|)`. The floor is 1 unless a test says otherwise.
    /// Integer and boolean tensors are compared exactly.
    public static func scaled(_ actual: Tensor, _ expected: Tensor, tolerance: Double, floor: Double = 1,
                              dtypes: DTypes = .exact) -> Report {
        if let problem = kindMismatch(actual, expected, dtypes) { return Report(mismatch: problem, measured: .infinity) }
        guard expected.dtype.isFloatingPoint else { return elementwise(actual, expected, rtol: 0, atol: 0) }
        let pairs = Pairs(actual, expected)
        var scale = floor
        for i in 0..<pairs.count where pairs[i].1.isFinite { scale = max(scale, abs(pairs[i].1)) }
        var worst: (index: Int, diff: Double)?
        for i in 0..<pairs.count {
            guard let diff = pairs.gap(i) else { continue }
            if worst == nil || diff > worst!.diff { worst = (i, diff) }
        }
        guard let worst else { return Report(mismatch: nil, measured: 0) }
        let measured = worst.diff / scale
        if worst.diff <= tolerance * scale { return Report(mismatch: nil, measured: measured) }
        return Report(mismatch: "max |actual − expected| \(format(worst.diff)) over the limit \(format(tolerance * scale)) "
                        + "(\(tolerance) × max(\(floor), max |expected|) = \(tolerance) × \(format(scale))); worst " + pairs.at(worst.index),
                      measured: measured)
    }

    /// `‖a − e‖₂ ≤ bound · max(‖e‖₂, floor)` (floor 0 unless a test says otherwise: a reference
    /// that is zero in exact arithmetic is compared against the size of its neighbours). Elements
    /// where both are NaN or the same infinity count as equal; any other non-finite element makes
    /// the error infinite. `measured` is `‖a − e‖ / max(‖e‖, floor)`.
    public static func relativeL2(_ actual: Tensor, _ expected: Tensor, atMost bound: Double, floor: Double = 0,
                                  dtypes: DTypes = .exact) -> Report {
        if let problem = kindMismatch(actual, expected, dtypes) { return Report(mismatch: problem, measured: .infinity) }
        let pairs = Pairs(actual, expected)
        var difference = 0.0, size = 0.0
        var worst: (index: Int, diff: Double)?
        for i in 0..<pairs.count {
            guard let diff = pairs.gap(i) else { continue }
            if diff.isFinite { size += pairs[i].1 * pairs[i].1 }
            difference += diff * diff
            if worst == nil || diff > worst!.diff { worst = (i, diff) }
        }
        let error = difference == 0 ? 0 : difference.squareRoot() / max(size.squareRoot(), floor)
        if error <= bound { return Report(mismatch: nil, measured: error) }
        var text = "relative L2 error \(format(error)) over \(bound) (‖expected‖ \(format(size.squareRoot()))"
            + (floor > 0 ? ", floor \(format(floor)))" : ")")
        if let worst { text += "; worst " + pairs.at(worst.index) }
        return Report(mismatch: text, measured: error)
    }

    /// At most `bound` representable values apart in the tensors' floating-point format (0: the
    /// same value; +0 and −0 are 0 apart). Both tensors must have the same floating dtype.
    public static func ulps(_ actual: Tensor, _ expected: Tensor, atMost bound: UInt64, dtypes: DTypes = .exact) -> Report {
        if let problem = kindMismatch(actual, expected, .exact) { return Report(mismatch: problem, measured: .infinity) }
        guard expected.dtype.isFloatingPoint else {
            return Report(mismatch: "ULPs compare floating-point tensors, not \(expected.dtype.rawValue)", measured: .infinity)
        }
        let a = orderedBits(actual), e = orderedBits(expected), pairs = Pairs(actual, expected)
        var worst: (index: Int, distance: UInt64)?
        var bad = 0
        for i in 0..<pairs.count {
            guard let gap = pairs.gap(i) else { continue }
            let distance = !gap.isFinite ? .max
                : a[i] >= e[i] ? UInt64(bitPattern: a[i] &- e[i]) : UInt64(bitPattern: e[i] &- a[i])
            if distance > bound { bad += 1 }
            if worst == nil || distance > worst!.distance { worst = (i, distance) }
        }
        let measured = worst.map { $0.distance == .max ? .infinity : Double($0.distance) } ?? 0
        guard let worst, worst.distance > bound else { return Report(mismatch: nil, measured: measured) }
        return Report(mismatch: "\(bad) of \(pairs.count) elements more than \(bound) ULPs apart; worst "
                        + pairs.at(worst.index) + " (\(worst.distance == .max ? "unmatched NaN or infinity" : "\(worst.distance) ULPs"))",
                      measured: measured)
    }

    /// `‖t‖₂` over the finite elements.
    public static func l2Norm(_ t: Tensor) -> Double {
        t.doubles().reduce(0) { $1.isFinite ? $0 + $1 * $1 : $0 }.squareRoot()
    }

    /// Narrow tensors of one dtype: equal decoded values (±0 distinct), NaN matching any NaN.
    static func exact(_ actual: Tensor, _ expected: Tensor) -> Report {
        let a = actual.doubles(), e = expected.doubles()
        let bad = (0..<e.count).filter { i in !(a[i].isNaN && e[i].isNaN) && !(a[i] == e[i] && a[i].sign == e[i].sign) }
        guard let first = bad.first else { return Report(mismatch: nil, measured: 0) }
        return Report(mismatch: "\(bad.count) of \(e.count) \(expected.dtype.rawValue) elements differ (compared exactly); first at "
                        + "\(index(first, in: expected.shape)): \(format(a[first])) vs expected \(format(e[first]))", measured: .infinity)
    }

    // MARK: - Pieces

    /// Why the two cannot be compared element by element (dtype or shape), or nil.
    static func kindMismatch(_ actual: Tensor, _ expected: Tensor, _ dtypes: DTypes) -> String? {
        switch dtypes {
        case .exact:
            if actual.dtype != expected.dtype { return "dtype \(actual.dtype.rawValue), expected \(expected.dtype.rawValue)" }
        case .anyFloatingPoint:
            if !actual.dtype.isFloatingPoint || !expected.dtype.isFloatingPoint {
                return "dtype \(actual.dtype.rawValue), expected a floating-point dtype like \(expected.dtype.rawValue)"
            }
        }
        if actual.shape != expected.shape { return "shape \(Shape(actual.shape)), expected \(Shape(expected.shape))" }
        return nil
    }

    /// true: both NaN, or the same infinity (a match); false: a NaN or an infinity unmatched;
    /// nil: both finite, compare the difference.
    static func specialMatch(_ a: Double, _ e: Double) -> Bool? {
        if a.isFinite && e.isFinite { return nil }
        if a.isNaN || e.isNaN { return a.isNaN && e.isNaN }
        return a == e
    }

    /// Both tensors' elements as doubles; integers also as Int64, for exact differences.
    struct Pairs {
        let actual: [Double], expected: [Double]
        let actualIntegers: [Int64]?, expectedIntegers: [Int64]?
        let shape: [Int]

        init(_ a: Tensor, _ e: Tensor) {
            actual = a.doubles()
            expected = e.doubles()
            let integral = { (t: Tensor) in t.dtype.isFloatingPoint || t.dtype.isNarrowFloat || t.dtype == .bool ? nil : t.int64s() }
            actualIntegers = integral(a)
            expectedIntegers = integral(e)
            shape = e.shape
        }

        var count: Int { expected.count }
        subscript(i: Int) -> (Double, Double) { (actual[i], expected[i]) }

        /// nil when element `i` matches as a special value (both NaN, or the same infinity);
        /// infinity when a NaN or an infinity is unmatched; else |a − e|, exact for integers.
        func gap(_ i: Int) -> Double? {
            if let special = Closeness.specialMatch(actual[i], expected[i]) { return special ? nil : .infinity }
            if let a = actualIntegers?[i], let e = expectedIntegers?[i] {
                let (d, overflow) = a.subtractingReportingOverflow(e)
                return overflow ? abs(Double(a) - Double(e)) : Double(d.magnitude)
            }
            return abs(actual[i] - expected[i])
        }

        /// `[1,2]: 0.5 vs nan`.
        func at(_ i: Int) -> String {
            let a = actualIntegers.map { "\($0[i])" } ?? format(actual[i])
            let e = expectedIntegers.map { "\($0[i])" } ?? format(expected[i])
            return "at \(Closeness.index(i, in: shape)): \(a) vs expected \(e)"
        }
    }

    /// The multi-index of flat position `flat` in a row-major `shape`, as `[i,j,k]`.
    public static func index(_ flat: Int, in shape: [Int]) -> String {
        var index: [Int] = [], rest = flat
        for size in shape.reversed() {
            index.append(size > 0 ? rest % size : 0)
            rest = size > 0 ? rest / size : 0
        }
        return "[" + index.reversed().map(String.init).joined(separator: ",") + "]"
    }

    /// Nine significant digits: enough to tell float32 neighbours apart.
    static func format(_ x: Double) -> String {
        if !x.isFinite { return "\(x)" }
        let text = "\(x)"
        return text.count <= 12 ? text : String(format: "%.9g", x)
    }

    /// Each element's bits mapped onto a line of integers that increases with the value, so the
    /// difference of two is their distance in ULPs (−0 and +0 both map to 0).
    static func orderedBits(_ t: Tensor) -> [Int64] {
        func ordered(_ bits: UInt64, signBit: UInt64) -> Int64 {
            let magnitude = Int64(bitPattern: bits & (signBit - 1))
            return bits & signBit != 0 ? -magnitude : magnitude
        }
        return t.withUnsafeBytes { raw in
            (0..<t.count).map { i in
                switch t.dtype {
                case .float64: return ordered(raw.load(fromByteOffset: i * 8, as: UInt64.self), signBit: 1 << 63)
                case .float32: return ordered(UInt64(raw.load(fromByteOffset: i * 4, as: UInt32.self)), signBit: 1 << 31)
                default: return ordered(UInt64(raw.load(fromByteOffset: i * 2, as: UInt16.self)), signBit: 1 << 15)
                }
            }
        }
    }
}

// MARK: - Expectations

/// Records an issue at the caller when `actual` (nil: missing) is not elementwise close to
/// `expected`; see ``Closeness/elementwise(_:_:rtol:atol:dtypes:)``. Returns the report.
@discardableResult
public func expectClose(_ actual: Tensor?, _ expected: Tensor, rtol: Double, atol: Double,
                        dtypes: Closeness.DTypes = .exact, _ what: @autoclosure () -> String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(actual.map { Closeness.elementwise($0, expected, rtol: rtol, atol: atol, dtypes: dtypes) }, what(), sourceLocation)
}

/// Records an issue when `max |a − e| > tolerance · max(floor, max |e|)` (floor 1);
/// see ``Closeness/scaled(_:_:tolerance:floor:dtypes:)``.
@discardableResult
public func expectClose(_ actual: Tensor?, _ expected: Tensor, scaledTolerance tolerance: Double, floor: Double = 1,
                        dtypes: Closeness.DTypes = .exact, _ what: @autoclosure () -> String = "",
                        sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(actual.map { Closeness.scaled($0, expected, tolerance: tolerance, floor: floor, dtypes: dtypes) }, what(), sourceLocation)
}

/// Records an issue when `‖a − e‖ > bound · max(‖e‖, floor)` (floor 0);
/// see ``Closeness/relativeL2(_:_:atMost:floor:dtypes:)``.
@discardableResult
public func expectRelativeL2(_ actual: Tensor?, _ expected: Tensor, atMost bound: Double, floor: Double = 0,
                             dtypes: Closeness.DTypes = .exact, _ what: @autoclosure () -> String = "",
                             sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(actual.map { Closeness.relativeL2($0, expected, atMost: bound, floor: floor, dtypes: dtypes) }, what(), sourceLocation)
}

/// Records an issue when an element is more than `bound` ULPs away; see ``Closeness/ulps(_:_:atMost:dtypes:)``.
@discardableResult
public func expectULPs(_ actual: Tensor?, _ expected: Tensor, atMost bound: UInt64, _ what: @autoclosure () -> String = "",
                       sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(actual.map { Closeness.ulps($0, expected, atMost: bound) }, what(), sourceLocation)
}

/// The array forms: two arrays (or two single values) become rank-1 tensors of their element
/// type, so the same dtype rule holds; a count mismatch fails.
@discardableResult
public func expectClose<T: TensorScalar>(_ actual: [T], _ expected: [T], rtol: Double, atol: Double,
                                         _ what: @autoclosure () -> String = "",
                                         sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(vectors(actual, expected) { Closeness.elementwise($0, $1, rtol: rtol, atol: atol) }, what(), sourceLocation)
}

@discardableResult
public func expectClose<T: TensorScalar>(_ actual: T, _ expected: T, rtol: Double, atol: Double,
                                         _ what: @autoclosure () -> String = "",
                                         sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(vectors([actual], [expected]) { Closeness.elementwise($0, $1, rtol: rtol, atol: atol) }, what(), sourceLocation)
}

@discardableResult
public func expectClose<T: TensorScalar>(_ actual: [T], _ expected: [T], scaledTolerance tolerance: Double, floor: Double = 1,
                                         _ what: @autoclosure () -> String = "",
                                         sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(vectors(actual, expected) { Closeness.scaled($0, $1, tolerance: tolerance, floor: floor) }, what(), sourceLocation)
}

@discardableResult
public func expectClose<T: TensorScalar>(_ actual: T, _ expected: T, scaledTolerance tolerance: Double, floor: Double = 1,
                                         _ what: @autoclosure () -> String = "",
                                         sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(vectors([actual], [expected]) { Closeness.scaled($0, $1, tolerance: tolerance, floor: floor) }, what(), sourceLocation)
}

@discardableResult
public func expectRelativeL2<T: TensorScalar>(_ actual: [T], _ expected: [T], atMost bound: Double,
                                              _ what: @autoclosure () -> String = "",
                                              sourceLocation: SourceLocation = #_sourceLocation) -> Closeness.Report {
    record(vectors(actual, expected) { Closeness.relativeL2($0, $1, atMost: bound) }, what(), sourceLocation)
}

private func vectors<T: TensorScalar>(_ a: [T], _ e: [T], _ compare: (Tensor, Tensor) -> Closeness.Report) -> Closeness.Report {
    guard a.count == e.count else { return Closeness.Report(mismatch: "\(a.count) elements, expected \(e.count)", measured: .infinity) }
    return compare(Tensor(shape: [a.count], scalars: a), Tensor(shape: [e.count], scalars: e))
}

private func record(_ report: Closeness.Report?, _ what: String, _ location: SourceLocation) -> Closeness.Report {
    let prefix = what.isEmpty ? "" : "\(what): "
    guard let report else {
        Issue.record("\(prefix)no value to compare", sourceLocation: location)
        return Closeness.Report(mismatch: "missing", measured: .infinity)
    }
    if let mismatch = report.mismatch { Issue.record("\(prefix)\(mismatch)", sourceLocation: location) }
    return report
}
