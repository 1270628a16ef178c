@testable import AscentModel
import AscentIR
import AscentTestSupport
import Foundation
import Testing

@Suite struct ClassLabelsTests {
    @Test func metadataSpellings() {
        #expect(ClassLabels(metadata: ["names": "{0: 'person', 1: \"bicycle\", 2: 'it\\'s'}"])?.names == ["person", "bicycle", "it's"])
        #expect(ClassLabels(metadata: ["labels": "[\"cat\", \"dog\"]"])?.names == ["cat", "dog"])
        #expect(ClassLabels(metadata: ["id2label": "{\"1\": \"dog\", \"0\": \"cat\"}"])?.names == ["cat", "dog"])
        #expect(ClassLabels(metadata: ["classes": "cat, dog,bird"])?.names == ["cat", "dog", "bird"])
        #expect(ClassLabels(metadata: ["class_names": "cat\ndog"])?.source == "ONNX metadata 'class_names'")
        #expect(ClassLabels(metadata: ["names": "{0: 'a', 2: 'c'}"]) == nil, "indices must be 0..<n")
        #expect(ClassLabels(metadata: ["producer": "x"]) == nil)
    }

    @Test func fileOneNamePerLine() throws {
        let dir = try TestPaths.temporaryDirectory("labels")
        let path = dir.appendingPathComponent("labels.txt").path
        try "zero\r\none  \n\nthree\n\n".write(toFile: path, atomically: true, encoding: .utf8)
        let labels = try ClassLabels.read(path: path)
        #expect(labels.names == ["zero", "one", "", "three"])
        #expect(labels.describe(0) == "0 zero" && labels.describe(2) == "2" && labels.describe(9) == "9")
        let empty = dir.appendingPathComponent("empty.txt").path
        try "\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(throws: AscentError.self) { _ = try ClassLabels.read(path: empty) }
    }
}
