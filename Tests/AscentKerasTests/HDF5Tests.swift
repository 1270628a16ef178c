import AscentTestSupport
import Foundation
import Testing

@testable import AscentKeras

/// The HDF5 bridge against the Keras fixture `digits.h5` and the listing h5py wrote of it
/// (`digits.h5.json`), plus bad input: missing, truncated and non-HDF5 files.
@Suite struct HDF5Tests {
    static let fixture = TestPaths.fixture("digits/digits.h5")

    /// What h5py saw: groups, datasets (shape, dtype) and attributes per object.
    struct Listing {
        var groups: Set<String> = []
        var datasets: [String: (shape: [Int], dtype: String)] = [:]
        var attributes: [String: [String: Any]] = [:]

        init(json url: URL) throws {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
            let root = try #require(object as? [String: Any])
            groups = Set(try #require(root["groups"] as? [String]))
            for (path, info) in try #require(root["datasets"] as? [String: [String: Any]]) {
                datasets[path] = (try #require(info["shape"] as? [Int]), try #require(info["dtype"] as? String))
            }
            attributes = try #require(root["attributes"] as? [String: [String: Any]])
        }
    }

    /// Every group and dataset reachable from `/` through hard links, by absolute path.
    static func walk(_ file: HDF5File) throws -> (groups: [String], datasets: [String]) {
        var groups = ["/"], datasets: [String] = []
        var pending = [try file.root()]
        while let group = pending.popLast() {
            for child in try group.children() {
                let path = group.path == "/" ? "/\(child.name)" : "\(group.path)/\(child.name)"
                switch child.kind {
                case .group:
                    groups.append(path)
                    pending.append(try file.group(at: path))
                case .dataset: datasets.append(path)
                default: Issue.record("unexpected \(child.kind) at \(path)")
                }
            }
        }
        return (groups, datasets)
    }

    /// Whether a decoded attribute equals the JSON value h5py wrote (a string, a list of strings,
    /// a number or a list of numbers; an empty list matches any empty array).
    static func matches(_ value: HDF5Value, _ json: Any) -> Bool {
        switch (value, json) {
        case (.string(let string), let expected as String): return string == expected
        case (.strings(let strings, let shape), let expected as [String]):
            return strings == expected && shape == [expected.count]
        case (.strings([], _), let expected as [Any]), (.integers([], _), let expected as [Any]),
             (.floats([], _), let expected as [Any]):
            return expected.isEmpty
        case (.integers(let values, []), let expected as NSNumber): return values == [expected.int64Value]
        case (.floats(let values, []), let expected as NSNumber): return values == [expected.doubleValue]
        case (.integers(let values, let shape), let expected as [NSNumber]):
            return values == expected.map(\.int64Value) && shape == [expected.count]
        case (.floats(let values, let shape), let expected as [NSNumber]):
            return values == expected.map(\.doubleValue) && shape == [expected.count]
        default: return false
        }
    }

    @Test func listsExactlyWhatH5pySaw() throws {
        let expected = try Listing(json: TestPaths.fixture("digits/digits.h5.json"))
        let file = try HDF5File(path: Self.fixture.path)
        let (groups, datasets) = try Self.walk(file)
        #expect(Set(groups) == expected.groups)
        #expect(groups.count == expected.groups.count)
        #expect(Set(datasets) == Set(expected.datasets.keys))
        for path in datasets {
            let dataset = try file.dataset(at: path)
            #expect(dataset.shape == expected.datasets[path]?.shape, "\(path)")
            #expect(dataset.elementType.numpyName == expected.datasets[path]?.dtype, "\(path)")
        }
        #expect(Set(expected.attributes.keys) == Set(groups + datasets))
        for (path, attributes) in expected.attributes {
            let object = try file.object(at: path)
            #expect(try object.attributeNames() == attributes.keys.sorted(), "\(path)")
            for (name, json) in attributes {
                let value = try object.attribute(name)
                #expect(Self.matches(value, json), "\(path) @\(name): \(value) vs \(json)")
            }
        }
    }

    @Test func keepsKerasMetadataReadable() throws {
        let file = try HDF5File(path: Self.fixture.path)
        let root = try file.root()
        #expect(try root.hasAttribute("model_config"))
        #expect(try !root.hasAttribute("no_such_attribute"))
        guard case .string(let config) = try root.attribute("model_config") else {
            Issue.record("model_config is not a string")
            return
        }
        #expect(config.hasPrefix("{\"class_name\": \"Functional\""))
        let weights = try file.group(at: "/model_weights")
        guard case .strings(let layers, let shape) = try weights.attribute("layer_names") else {
            Issue.record("layer_names is not a string array")
            return
        }
        #expect(layers.first == "input" && layers.count == shape.first)
        #expect(try weights.group("conv1").group("conv1").dataset("kernel").shape == [3, 3, 1, 8])
        #expect(try file.kind(at: "/model_weights/conv1/conv1/kernel") == .dataset)
        #expect(try file.kind(at: "model_weights") == .group)
        #expect(try file.kind(at: "/model_weights/conv9") == nil)
    }

    @Test func readsEveryDatasetWithTheRightByteCount() throws {
        let expected = try Listing(json: TestPaths.fixture("digits/digits.h5.json"))
        let file = try HDF5File(path: Self.fixture.path)
        let sizes = ["float32": 4, "float64": 8, "int64": 8, "int32": 4, "bool": 1]
        for (path, info) in expected.datasets {
            let bytes = try file.dataset(at: path).readBytes()
            let size = try #require(sizes[info.dtype], "dtype \(info.dtype)")
            #expect(bytes.count == info.shape.reduce(1, *) * size, "\(path)")
        }
        let kernel = try file.dataset(at: "/model_weights/conv1/conv1/kernel").readBytes()
        let floats = kernel.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(floats.count == 72 && floats.allSatisfy(\.isFinite) && floats.contains { $0 != 0 })
        let iteration = try file.dataset(at: "/optimizer_weights/adam/iteration")
        #expect(iteration.elementType == .signedInteger(size: 8) && iteration.shape == [])
        guard case .integers(let steps, []) = try iteration.readValue() else {
            Issue.record("iteration is not an integer scalar")
            return
        }
        let raw = try iteration.readBytes()
        #expect(raw.count == 8 && steps.count == 1 && steps[0] > 0)
        #expect(raw.enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << Int64(8 * $1.offset) } == steps[0])
    }

    @Test func opensAnInMemoryImageLikeTheFile() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.fixture))
        let image = try HDF5File(image: bytes, name: "digits.h5 (image)")
        let other = try HDF5File(image: bytes, name: "second image")  // same bytes, opened twice at once
        let disk = try HDF5File(path: Self.fixture.path)
        #expect(try Self.walk(image).groups == Self.walk(disk).groups)
        let path = "/model_weights/fc1/fc1/kernel"
        #expect(try image.dataset(at: path).readBytes() == disk.dataset(at: path).readBytes())
        #expect(try other.root().attributes().keys.sorted() == disk.root().attributes().keys.sorted())
        #expect(image.name == "digits.h5 (image)")
    }

    @Test func missingObjectsNameFileAndPath() throws {
        let file = try HDF5File(path: Self.fixture.path)
        let error = try #require(throws: HDF5Error.self) { try file.group(at: "/model_weights/conv9") }
        #expect(error.kind == .library && error.path == "/model_weights/conv9")
        #expect(error.description.hasPrefix("\(Self.fixture.path): /model_weights/conv9: "))
        #expect(error.description.contains("conv9") && error.message.count > 5)
        let notADataset = try #require(throws: HDF5Error.self) { try file.dataset(at: "/model_weights") }
        #expect(notADataset.description.contains("not a dataset"))
        #expect(throws: HDF5Error.self) { try file.object(at: "/").attribute("nope") }
    }

    @Test func refusesReadsAboveTheByteLimit() throws {
        let dataset = try HDF5File(path: Self.fixture.path).dataset(at: "/model_weights/fc1/fc1/kernel")
        let error = try #require(throws: HDF5Error.self) { try dataset.readBytes(limit: 1000) }
        #expect(error.kind == .tooLarge)
        #expect(try dataset.readBytes(limit: 144 * 32 * 4).count == 144 * 32 * 4)
    }

    @Test func missingFileIsItsOwnCase() throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("absent.h5").path
        let error = try #require(throws: HDF5Error.self) { try HDF5File(path: path) }
        #expect(error.kind == .fileNotFound && error.isMissingOrUnreadable)
        #expect(error.description == "\(path): no such file")
        let folder = try TestPaths.temporaryDirectory().path
        #expect(throws: HDF5Error(.unreadable, file: folder, message: "is a directory, not an HDF5 file")) {
            try HDF5File(path: folder)
        }
    }

    @Test(arguments: ["truncated", "random", "text", "empty"])
    func badBytesGiveInvalidFileErrors(_ variant: String) throws {
        let original = [UInt8](try Data(contentsOf: Self.fixture))
        var generator = SeededRandom(name: variant)
        let bytes: [UInt8] = switch variant {
        case "truncated": Array(original.prefix(original.count / 2))
        case "random": generator.bytes(4096)
        case "text": Array("this is not an HDF5 file, just some words\n".utf8)
        default: []
        }
        let url = try TestPaths.temporaryDirectory().appendingPathComponent("\(variant).h5")
        try Data(bytes).write(to: url)
        let error = try #require(throws: HDF5Error.self) { try HDF5File(path: url.path) }
        #expect(error.kind == .invalidFile && !error.isMissingOrUnreadable)
        #expect(error.description.hasPrefix("\(url.path): "))
        let imageError = try #require(throws: HDF5Error.self) { try HDF5File(image: bytes, name: "\(variant).h5") }
        #expect(imageError.kind == .invalidFile)
        #expect(imageError.description.hasPrefix("\(variant).h5: "))
    }
}
