import AscentIR
@testable import AscentKeras
import AscentTestSupport
import Foundation
import Testing

@Suite struct JSONParserTests {
    /// What Foundation's parser gives, as a JSONValue (the reference for the byte parser).
    static func reference(_ text: String) throws -> JSONValue {
        func convert(_ any: Any) -> JSONValue {
            switch any {
            case is NSNull: return .null
            case let s as String: return .string(s)
            case let n as NSNumber:
                return String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .number(n.doubleValue)
            case let a as [Any]: return .array(a.map(convert))
            case let o as [String: Any]: return .object(o.mapValues(convert))
            default: return .null
            }
        }
        return convert(try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
    }

    /// Equal structure and strings; numbers at most 8 ULPs apart: Foundation's parser is not
    /// correctly rounded (it reads 0.30000000000000004 as 0.3000000000000001), the byte
    /// parser is (it gives back exactly the double Python wrote).
    static func close(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)): return Closeness.ulps(Tensor(scalar: x), Tensor(scalar: y), atMost: 8).isClose
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { close($0, $1) }
        case let (.object(x), .object(y)): return x.keys == y.keys && x.allSatisfy { k, v in close(v, y[k]!) }
        default: return a == b
        }
    }

    /// Every JSON file among the fixtures (Keras configs, metadata) parses to what Foundation's parser gives.
    @Test func fixtureConfigsMatchFoundation() throws {
        let root = TestPaths.fixture("")
        let files = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix("fuzz/") }
        #expect(files.count >= 20)
        for file in files {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            #expect(Self.close(try JSONParser.parse(text), try Self.reference(text)), "\(file)")
        }
    }

    @Test func escapesNumbersAndPythonFloats() throws {
        #expect(try JSONParser.parse(#"{"a": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "b": [1, -2.5e-3, 1E2, true, false, null]}"#)
                == .object(["a": .string("x\"\\/\u{08}\u{0C}\n\r\té😀"),
                            "b": .array([.number(1), .number(-0.0025), .number(100), .bool(true), .bool(false), .null])]))
        guard case .array(let a) = try JSONParser.parse("[NaN, Infinity, -Infinity]"), a.count == 3,
              case .number(let nan) = a[0], case .number(let inf) = a[1], case .number(let ninf) = a[2] else {
            Issue.record("Python float literals")
            return
        }
        #expect(nan.isNaN && inf == .infinity && ninf == -.infinity)
        // Correctly rounded, as Python wrote it (Foundation reads 0.3000000000000001).
        #expect(try JSONParser.parse("0.30000000000000004") == .number(0.1 + 0.2))
    }

    @Test func malformedAndHostileTextIsRefused() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"abc", "01x", "[1 2]", "{\"a\":1}x", "\"\u{01}\"", "tru", "-", "1.", "1e", "\"\\q\""] {
            #expect(throws: JSONParser.Failure.self, "\(bad)") { try JSONParser.parse(bad) }
        }
        // Deep nesting is refused before it can exhaust the stack.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
        #expect(throws: AscentError.self) { try JSONValue.parse("[1,", what: "config.json") }
    }
}
