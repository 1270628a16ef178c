/// A size written in terms of named sizes: a polynomial with integer coefficients whose variables
/// are symbols (`N`, `seq`) and floor quotients of such polynomials by a positive constant.
///
/// Shape rules use it so that sizes computed from symbolic inputs stay exact: a stride-2
/// convolution of height `H` gives `(H+1)/2` (with SAME padding), a `Reshape` to `[N*S, -1]` of a
/// `[N,S,64]` value gives `64`, a `Concat` of `[S]` and `[S]` gives `2*S`.
/// Values are kept in a canonical form, so equal polynomials compare equal.
public struct SymbolicSize: Hashable, Sendable, CustomStringConvertible {
    /// A variable of the polynomial.
    public indirect enum Atom: Hashable, Sendable, Comparable, CustomStringConvertible {
        case symbol(String)
        /// `floor(size / divisor)`, divisor > 1, when it does not divide evenly.
        case quotient(SymbolicSize, Int)

        public var description: String {
            switch self {
            case .symbol(let s): return s
            case let .quotient(p, d):
                let inner = p.terms.count == 1 && p.terms.values.first == 1 && p.terms.keys.first!.count == 1
                    ? p.description : "(\(p.description))"
                return "\(inner)/\(d)"
            }
        }

        public static func < (a: Atom, b: Atom) -> Bool { a.description < b.description }
    }

    /// Each monomial (its atoms, sorted, with repetition) → its coefficient (never 0). The empty
    /// monomial is the constant term.
    public private(set) var terms: [[Atom]: Int]

    private init(terms: [[Atom]: Int]) { self.terms = terms.filter { $0.value != 0 } }

    public init(_ constant: Int) { self.init(terms: [[]: constant]) }
    public init(symbol: String) { self.init(terms: [[.symbol(symbol)]: 1]) }

    /// The value when the polynomial is a constant.
    public var constant: Int? {
        if terms.isEmpty { return 0 }
        if terms.count == 1, let c = terms[[]] { return c }
        return nil
    }

    /// The symbol when the polynomial is exactly one symbol.
    public var symbol: String? {
        guard terms.count == 1, let (m, c) = terms.first, c == 1, m.count == 1, case .symbol(let s) = m[0] else { return nil }
        return s
    }

    /// Every symbol the size mentions.
    public var symbols: Set<String> {
        var out = Set<String>()
        for m in terms.keys {
            for a in m {
                switch a {
                case .symbol(let s): out.insert(s)
                case .quotient(let p, _): out.formUnion(p.symbols)
                }
            }
        }
        return out
    }

    // MARK: Arithmetic (nil on overflow)

    public static func + (a: SymbolicSize, b: SymbolicSize) -> SymbolicSize? {
        var t = a.terms
        for (m, c) in b.terms {
            let (s, o) = t[m, default: 0].addingReportingOverflow(c)
            if o { return nil }
            t[m] = s
        }
        return SymbolicSize(terms: t)
    }

    public static prefix func - (a: SymbolicSize) -> SymbolicSize? {
        var t: [[Atom]: Int] = [:]
        for (m, c) in a.terms {
            guard c != Int.min else { return nil }
            t[m] = -c
        }
        return SymbolicSize(terms: t)
    }

    public static func - (a: SymbolicSize, b: SymbolicSize) -> SymbolicSize? {
        guard let nb = -b else { return nil }
        return a + nb
    }

    public static func * (a: SymbolicSize, b: SymbolicSize) -> SymbolicSize? {
        var t: [[Atom]: Int] = [:]
        for (m1, c1) in a.terms {
            for (m2, c2) in b.terms {
                let (p, o1) = c1.multipliedReportingOverflow(by: c2)
                if o1 { return nil }
                let m = (m1 + m2).sorted()
                let (s, o2) = t[m, default: 0].addingReportingOverflow(p)
                if o2 { return nil }
                t[m] = s
            }
        }
        return SymbolicSize(terms: t)
    }

    /// `floor(self / divisor)` for `divisor > 0`.
    public func floorDivided(by divisor: Int) -> SymbolicSize? {
        guard divisor > 0 else { return nil }
        if divisor == 1 { return self }
        if let c = constant { return SymbolicSize(Int((Double(c) / Double(divisor)).rounded(.down))) }
        if terms.values.allSatisfy({ $0 % divisor == 0 }) {
            return SymbolicSize(terms: terms.mapValues { $0 / divisor })
        }
        // Whole multiples of the divisor come out of the quotient: (2N+1)/2 = N + 1/2 → N + 0.
        var whole: [[Atom]: Int] = [:], rest: [[Atom]: Int] = [:]
        for (m, c) in terms {
            let q = c >= 0 ? c / divisor : -((-c + divisor - 1) / divisor)
            if q != 0 { whole[m] = q }
            let r = c - q * divisor
            if r != 0 { rest[m] = r }
        }
        let remainder = SymbolicSize(terms: rest)
        if let c = remainder.constant, c >= 0, c < divisor { return SymbolicSize(terms: whole) }
        guard !whole.isEmpty else { return SymbolicSize(terms: [[.quotient(remainder, divisor)]: 1]) }
        return SymbolicSize(terms: whole) + SymbolicSize(terms: [[.quotient(remainder, divisor)]: 1])
    }

    /// `self / divisor` when it divides exactly term by term (a monomial divisor), else nil.
    public func dividedExactly(by divisor: SymbolicSize) -> SymbolicSize? {
        if let d = divisor.constant {
            guard d != 0, terms.values.allSatisfy({ $0 % d == 0 }) else { return nil }
            return SymbolicSize(terms: terms.mapValues { $0 / d })
        }
        guard divisor.terms.count == 1, let (dm, dc) = divisor.terms.first, dc != 0 else { return nil }
        var t: [[Atom]: Int] = [:]
        for (m, c) in terms {
            guard c % dc == 0 else { return nil }
            var rest = m
            for a in dm {
                guard let i = rest.firstIndex(of: a) else { return nil }
                rest.remove(at: i)
            }
            t[rest] = c / dc
        }
        return SymbolicSize(terms: t)
    }

    /// The value for concrete symbol values, or nil when a symbol is missing or on overflow.
    public func evaluate(_ values: [String: Int]) -> Int? {
        var total = 0
        for (m, c) in terms {
            var p = c
            for a in m {
                let v: Int
                switch a {
                case .symbol(let s):
                    guard let x = values[s] else { return nil }
                    v = x
                case let .quotient(q, d):
                    guard let x = q.evaluate(values) else { return nil }
                    v = Int((Double(x) / Double(d)).rounded(.down))
                }
                let (r, o) = p.multipliedReportingOverflow(by: v)
                if o { return nil }
                p = r
            }
            let (s, o) = total.addingReportingOverflow(p)
            if o { return nil }
            total = s
        }
        return total
    }

    // MARK: Text

    /// `2*N*H+3`, `S-1`, `(H+1)/2`: higher-degree terms first, the constant last.
    public var description: String {
        let ordered = terms.sorted { a, b in
            if a.key.count != b.key.count { return a.key.count > b.key.count }
            return a.key.map(\.description).joined(separator: "*") < b.key.map(\.description).joined(separator: "*")
        }
        var out = ""
        for (m, c) in ordered {
            let magnitude = c.magnitude
            let body: String
            if m.isEmpty {
                body = String(magnitude)
            } else {
                let atoms = m.map(\.description).joined(separator: "*")
                body = magnitude == 1 ? atoms : "\(magnitude)*\(atoms)"
            }
            if out.isEmpty { out = c < 0 ? "-" + body : body } else { out += (c < 0 ? "-" : "+") + body }
        }
        return out.isEmpty ? "0" : out
    }

    /// Parses what ``description`` prints (`2*N+1`, `(H-1)/2+1`): integers, names (any run of
    /// characters other than `+-*/()` and spaces that does not start with a digit), `+`, `-`, `*`,
    /// `/` by an integer, and parentheses. Nil for anything else.
    public static func parse(_ text: String) -> SymbolicSize? {
        var parser = Parser(Array(text.unicodeScalars))
        guard let value = parser.expression(), parser.atEnd else { return nil }
        return value
    }

    private struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { mutating get { skip(); return i == s.count } }
        mutating func skip() { while i < s.count, s[i] == " " { i += 1 } }
        mutating func take(_ c: Unicode.Scalar) -> Bool {
            skip()
            if i < s.count, s[i] == c { i += 1; return true }
            return false
        }

        mutating func expression() -> SymbolicSize? {
            var negate = take("-")
            guard var value = term() else { return nil }
            if negate { guard let v = -value else { return nil }; value = v }
            while true {
                if take("+") { negate = false } else if take("-") { negate = true } else { return value }
                guard let t = term(), let next = negate ? value - t : value + t else { return nil }
                value = next
            }
        }

        mutating func term() -> SymbolicSize? {
            guard var value = factor() else { return nil }
            while true {
                if take("*") {
                    guard let f = factor(), let v = value * f else { return nil }
                    value = v
                } else if take("/") {
                    guard let d = integer(), let v = value.floorDivided(by: d) else { return nil }
                    value = v
                } else {
                    return value
                }
            }
        }

        mutating func factor() -> SymbolicSize? {
            skip()
            guard i < s.count else { return nil }
            if take("(") {
                guard let e = expression(), take(")") else { return nil }
                return e
            }
            if let n = integer() { return SymbolicSize(n) }
            var name = ""
            while i < s.count, !"+-*/() ".unicodeScalars.contains(s[i]) {
                name.unicodeScalars.append(s[i])
                i += 1
            }
            return name.isEmpty ? nil : SymbolicSize(symbol: name)
        }

        mutating func integer() -> Int? {
            skip()
            var n = 0, digits = 0
            while i < s.count, let d = Int(String(s[i])), ("0"..."9").contains(s[i]) {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                n = a
                digits += 1
                i += 1
            }
            return digits > 0 ? n : nil
        }
    }
}
