// The bridge between libhdf5 (1.10, thread-safe "serial" build) and Swift: read-only access to
// HDF5 files on disk or in memory, for Keras `.h5` files and the weights inside `.keras` zips.
//
// This is the only Swift file that imports CHDF5; every type it exposes is a Swift type.
// Safety rules: external links are never followed, datasets with external raw storage or a
// virtual layout are refused before anything is read, filter plugins are never loaded, and
// every allocation is bounded by a byte limit checked (with overflow checks) beforehand.

import AscentIR
import CHDF5
import Foundation

// MARK: - Errors

/// A failure reading an HDF5 file. `description` reads `<file>: <object path>: <message>`, e.g.
/// `digits.h5: /model_weights/conv9: unable to open group (object 'conv9' doesn't exist)`,
/// where the message comes from libhdf5's error stack (outermost and innermost descriptions).
public struct HDF5Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// No file at the given path.
        case fileNotFound
        /// The file exists but cannot be read (a folder, permissions).
        case unreadable
        /// Not an HDF5 file, or a truncated or damaged one.
        case invalidFile
        /// The path goes through an external link (to another file), which is never followed.
        case externalLink
        /// The dataset keeps its raw data in external files, which are never read.
        case externalStorage
        /// The dataset is virtual (its data maps to other datasets, possibly in other files).
        case virtualDataset
        /// The datatype cannot be read as requested.
        case unsupportedType
        /// The data is larger than the allowed byte limit.
        case tooLarge
        /// Any other failure reported by libhdf5 (missing object, corrupt data, failed filter…).
        case library
    }

    public let kind: Kind
    /// The file (path as given, or the name of an in-memory image).
    public let file: String
    /// The object path inside the file, when the error concerns one.
    public let path: String?
    public let message: String

    public init(_ kind: Kind, file: String, path: String? = nil, message: String) {
        (self.kind, self.file, self.path, self.message) = (kind, file, path, message)
    }

    /// True when the file could not be opened at all; command-line tools map this to exit 66.
    public var isMissingOrUnreadable: Bool { kind == .fileNotFound || kind == .unreadable }

    public var description: String {
        path.map { "\(file): \($0): \(message)" } ?? "\(file): \(message)"
    }
}

// MARK: - Values and kinds

/// An attribute's (or a small dataset's) decoded value. Shapes are row-major; `[]` is a scalar.
enum HDF5Value: Equatable, Sendable {
    /// A scalar string (fixed- or variable-length, padding removed).
    case string(String)
    /// An array of strings.
    case strings([String], shape: [Int])
    /// Integers, booleans and enumeration values (any size and sign that fits in Int64).
    case integers([Int64], shape: [Int])
    /// Floating-point numbers of any size.
    case floats([Double], shape: [Int])
    /// An attribute with a null dataspace (no value at all; h5py's `Empty`).
    case empty
    /// A datatype this bridge does not decode (compound, reference, opaque…), described.
    case unsupported(String)
}

/// What a link in a group points to.
enum HDF5ObjectKind: Equatable, Sendable {
    case group
    case dataset
    /// A datatype stored as an object of its own.
    case namedDatatype
    /// A link by path to an object of the same file.
    case softLink(target: String)
    /// A link to an object of another file; listed but never followed.
    case externalLink(file: String, path: String)
    /// A user-defined link, or an object of another kind.
    case other
}

/// A named member of a group.
struct HDF5Child: Equatable, Sendable {
    let name: String
    let kind: HDF5ObjectKind
}

/// The element type of a dataset, as stored in the file.
enum HDF5ElementType: Equatable, Sendable {
    /// IEEE floating point of 2, 4 or 8 bytes (other sizes are reported too, but not read).
    case float(size: Int)
    case signedInteger(size: Int)
    case unsignedInteger(size: Int)
    /// h5py's boolean: an enumeration of int8 with members FALSE = 0 and TRUE = 1.
    case boolean
    /// Any other enumeration, with the size and signedness of its base integer.
    case enumeration(size: Int, signed: Bool)
    case string(variableLength: Bool)
    /// Compound, array, reference, opaque, bitfield… (the HDF5 class name).
    case other(String)

    /// The NumPy name of numeric and boolean types (`float32`, `int64`, `bool`…), else nil.
    var numpyName: String? {
        switch self {
        case .float(let size): "float\(size * 8)"
        case .signedInteger(let size): "int\(size * 8)"
        case .unsignedInteger(let size): "uint\(size * 8)"
        case .boolean: "bool"
        default: nil
        }
    }
}

// MARK: - Library state and error stack

/// Process-wide libhdf5 setup. libhdf5 is built thread-safe here (one global lock inside), but
/// its error stack — and with it the automatic error-printing setting — is per thread, so
/// `prepare()` turns printing off for the calling thread at every entry point (a cheap call).
private enum Library {
    /// The link-access property list used for every traversal: its external-link callback
    /// fails, so libhdf5 never opens another file, even through a soft link. Created once, by
    /// Swift's thread-safe lazy initialization of statics, together with the global settings.
    static let linkAccess: hid_t = {
        H5open()
        H5PLset_loading_state(0)  // never dlopen filter plugins (HDF5_PLUGIN_PATH)
        let list = H5Pcreate(ascent_H5P_LINK_ACCESS())
        H5Pset_elink_cb(list, { _, _, _, _, _, _, _ in -1 }, nil)
        return list
    }()

    /// Call at the start of every entry point, before any other libhdf5 call.
    static func prepare() {
        _ = linkAccess
        H5Eset_auto2(ascent_H5E_DEFAULT(), nil, nil)
    }

    /// The calling thread's error stack as `outermost (innermost)` descriptions, then cleared.
    /// Must be called right after the failing call: any other libhdf5 call resets the stack.
    static func stackMessage() -> String? {
        var descriptions: [String] = []
        withUnsafeMutablePointer(to: &descriptions) { list in
            _ = H5Ewalk2(ascent_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, error, data in
                if let text = error?.pointee.desc, let data {
                    data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: text))
                }
                return 0
            }, list)
        }
        H5Eclear2(ascent_H5E_DEFAULT())
        guard let outer = descriptions.first else { return nil }
        guard let inner = descriptions.last, inner != outer else { return outer }
        return "\(outer) (\(inner))"
    }
}

/// Where an error happened, to build `HDF5Error`s.
private struct Site {
    let file: String
    let path: String?

    /// An error whose message is libhdf5's error stack, or `fallback` when it is empty.
    func failure(_ fallback: String, _ kind: HDF5Error.Kind = .library) -> HDF5Error {
        HDF5Error(kind, file: file, path: path, message: Library.stackMessage() ?? fallback)
    }

    func error(_ kind: HDF5Error.Kind, _ message: String) -> HDF5Error {
        HDF5Error(kind, file: file, path: path, message: message)
    }

    /// `count × size` bytes, refused when it overflows or exceeds `limit`.
    func byteCount(_ count: Int, _ size: Int, limit: Int) throws -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, bytes <= limit else {
            throw error(.tooLarge, "\(count) elements of \(size) bytes exceed the \(limit)-byte limit")
        }
        return bytes
    }
}

// MARK: - File

/// An HDF5 file opened read-only, from disk or from an in-memory image. Closed on deinit; the
/// groups and datasets opened from it keep it alive. Not Sendable: use it from one task at a time.
final class HDF5File {
    /// The default byte limit of a single read (4 GiB).
    static let defaultByteLimit = 4 << 30

    /// The path as given, or the image name: the file named in errors.
    let name: String
    fileprivate let id: hid_t

    /// Opens the file at `path` read-only. Throws `.fileNotFound`, `.unreadable` or `.invalidFile`.
    init(path: String) throws {
        Library.prepare()
        let site = Site(file: path, path: nil)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw site.error(.fileNotFound, "no such file")
        }
        guard !isDirectory.boolValue else { throw site.error(.unreadable, "is a directory, not an HDF5 file") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw site.error(.unreadable, "permission denied") }
        let access = H5Pcreate(ascent_H5P_FILE_ACCESS())
        defer { H5Pclose(access) }
        H5Pset_file_locking(access, true, true)  // lock, but work on file systems without locks
        let id = H5Fopen(path, ascent_H5F_ACC_RDONLY(), access)
        guard id >= 0 else { throw site.failure("unable to open file", .invalidFile) }
        self.name = path
        self.id = id
    }

    /// Opens an in-memory file image (such as `model.weights.h5` inside a `.keras` zip) with the
    /// core driver; nothing touches the disk. `name` is only used in error messages.
    init(image: [UInt8], name: String) throws {
        Library.prepare()
        let site = Site(file: name, path: nil)
        guard !image.isEmpty else { throw site.error(.invalidFile, "empty file, not HDF5") }
        let access = H5Pcreate(ascent_H5P_FILE_ACCESS())
        defer { H5Pclose(access) }
        guard H5Pset_fapl_core(access, 1 << 16, false) >= 0 else { throw site.failure("cannot use the core driver") }
        let copied = image.withUnsafeBytes {  // libhdf5 copies the image
            H5Pset_file_image(access, UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count)
        }
        guard copied >= 0 else { throw site.failure("cannot load the file image") }
        // libhdf5 treats two open core-driver files with the same name as one file, so each
        // image gets a unique internal name.
        let id = H5Fopen("ascent-image-\(UUID().uuidString)", ascent_H5F_ACC_RDONLY(), access)
        guard id >= 0 else { throw site.failure("unable to open file image", .invalidFile) }
        self.name = name
        self.id = id
    }

    deinit { H5Fclose(id) }

    /// The root group, `/`.
    func root() throws -> HDF5Group { try group(at: "/") }

    /// The group at an absolute `path`.
    func group(at path: String) throws -> HDF5Group {
        let path = normalized(path)
        return HDF5Group(file: self, path: path, id: try openObject(path, expecting: H5I_GROUP, "group"))
    }

    /// The dataset at an absolute `path`. Refuses external raw storage and virtual datasets.
    func dataset(at path: String) throws -> HDF5Dataset {
        let path = normalized(path)
        return try HDF5Dataset(file: self, path: path, datasetID: try openObject(path, expecting: H5I_DATASET, "dataset"))
    }

    /// The object (group, dataset or named datatype) at `path`, for its attributes.
    func object(at path: String) throws -> HDF5Object {
        let path = normalized(path)
        let id = try openObject(path, expecting: nil, "object")
        switch H5Iget_type(id) {
        case H5I_GROUP: return HDF5Group(file: self, path: path, id: id)
        case H5I_DATASET: return try HDF5Dataset(file: self, path: path, datasetID: id)
        default: return HDF5Object(file: self, path: path, id: id)
        }
    }

    /// What the last link of `path` points to, in the terms of `HDF5Group.children()` (a soft
    /// or external link is reported, not followed), or nil when nothing is there. Throws
    /// `.externalLink` when an earlier link on the way is external.
    func kind(at path: String) throws -> HDF5ObjectKind? {
        Library.prepare()
        let path = normalized(path)
        guard path != "/" else { return .group }
        try refuseExternalLinks(path, includingLast: false)
        var link = H5L_info_t()
        guard H5Lexists(id, path, Library.linkAccess) > 0,
              H5Lget_info(id, path, &link, Library.linkAccess) >= 0 else { return nil }
        return try linkKind(link, Site(file: name, path: path),
                            object: { H5Oget_info_by_name2(id, path, &$0, ascent_H5O_INFO_BASIC(), Library.linkAccess) },
                            value: { H5Lget_val(id, path, $0, $1, Library.linkAccess) })
    }

    fileprivate func normalized(_ path: String, relativeTo base: String = "/") -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        return "/" + joined.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    /// Throws `.externalLink` when resolving `path` (its last link too, if asked) meets an
    /// external link, directly or through soft links.
    fileprivate func refuseExternalLinks(_ path: String, includingLast: Bool) throws {
        var budget = 256
        guard let link = externalLink(on: path, includingLast: includingLast, budget: &budget) else { return }
        let detail = link == path ? "is an external link" : "leads through the external link \(link)"
        throw Site(file: name, path: path).error(.externalLink, "\(detail), which is never followed")
    }

    /// The first external link met on the way to `path`, following soft-link targets, or nil.
    /// Gives up quietly on missing links or after `budget` lookups: the open then reports
    /// the problem, and `Library.linkAccess` still refuses any external traversal.
    private func externalLink(on path: String, includingLast: Bool, budget: inout Int) -> String? {
        let parts = path.split(separator: "/")
        var prefix = ""
        for (index, part) in parts.enumerated() where includingLast || index < parts.count - 1 {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + part
            var link = H5L_info_t()
            budget -= 1
            guard budget > 0, H5Lget_info(id, prefix, &link, Library.linkAccess) >= 0 else { return nil }
            if link.type == H5L_TYPE_EXTERNAL { return prefix }
            if link.type == H5L_TYPE_SOFT {
                var bytes = [UInt8](repeating: 0, count: link.u.val_size + 1)
                guard H5Lget_val(id, prefix, &bytes, link.u.val_size, Library.linkAccess) >= 0 else { return nil }
                let target = normalized(String(cStringBytes: bytes), relativeTo: parent)
                if let found = externalLink(on: target, includingLast: true, budget: &budget) { return found }
            }
        }
        return nil
    }

    /// Opens the object at normalized `path`, checking its identifier type when given.
    private func openObject(_ path: String, expecting type: H5I_type_t?, _ noun: String) throws -> hid_t {
        Library.prepare()
        try refuseExternalLinks(path, includingLast: true)
        let site = Site(file: name, path: path)
        let object = H5Oopen(id, path, Library.linkAccess)
        guard object >= 0 else { throw site.failure("unable to open \(noun)") }
        if let type, H5Iget_type(object) != type {
            H5Oclose(object)
            throw site.error(.library, "not a \(noun)")
        }
        return object
    }
}

// MARK: - Objects, groups and datasets

/// An open object of a file (group, dataset or named datatype): its attributes.
class HDF5Object {
    /// The file, kept open while this object lives.
    let file: HDF5File
    /// The absolute path the object was opened by.
    let path: String
    fileprivate let id: hid_t

    fileprivate init(file: HDF5File, path: String, id: hid_t) {
        self.file = file
        self.path = path
        self.id = id
    }

    deinit { H5Oclose(id) }

    fileprivate var site: Site { Site(file: file.name, path: path) }

    /// The attribute names, in alphabetical order.
    func attributeNames() throws -> [String] {
        Library.prepare()
        var info = H5O_info_t()
        guard H5Oget_info2(id, &info, ascent_H5O_INFO_NUM_ATTRS()) >= 0 else {
            throw site.failure("unable to count attributes")
        }
        return try (0..<info.num_attrs).map { index in
            try readName(site) { H5Aget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, $0, $1, Library.linkAccess) }
        }
    }

    /// Whether an attribute called `name` exists.
    func hasAttribute(_ name: String) throws -> Bool {
        Library.prepare()
        let exists = H5Aexists(id, name)
        guard exists >= 0 else { throw site.failure("unable to look up attribute \(name)") }
        return exists > 0
    }

    /// The decoded value of the attribute `name`, read with at most `limit` bytes.
    func attribute(_ name: String, limit: Int = HDF5File.defaultByteLimit) throws -> HDF5Value {
        Library.prepare()
        let attribute = H5Aopen(id, name, ascent_H5P_DEFAULT())
        guard attribute >= 0 else { throw site.failure("unable to open attribute \(name)") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute), space = H5Aget_space(attribute)
        defer { H5Tclose(type); H5Sclose(space) }
        guard type >= 0, space >= 0 else { throw site.failure("unable to read attribute \(name)") }
        return try decodeValue(type: type, space: space, limit: limit, site: site) { H5Aread(attribute, $0, $1) }
    }

    /// All attributes, decoded.
    func attributes() throws -> [String: HDF5Value] {
        var result: [String: HDF5Value] = [:]
        for name in try attributeNames() { result[name] = try attribute(name) }
        return result
    }
}

/// An open group: its members, and the groups and datasets below it.
final class HDF5Group: HDF5Object {
    /// The members (links) of this group in alphabetical order, with what each points to.
    /// Nothing is opened or followed: soft and external links are reported as such.
    func children() throws -> [HDF5Child] {
        Library.prepare()
        var group = H5G_info_t()
        guard H5Gget_info(id, &group) >= 0 else { throw site.failure("unable to list group") }
        return try (0..<group.nlinks).map { index in
            let name = try readName(site) {
                H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, $0, $1, Library.linkAccess)
            }
            var link = H5L_info_t()
            guard H5Lget_info_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &link, Library.linkAccess) >= 0 else {
                throw site.failure("unable to get link info of \(name)")
            }
            let kind = try linkKind(link, site, object: {
                H5Oget_info_by_idx2(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &$0, ascent_H5O_INFO_BASIC(),
                                    Library.linkAccess)
            }, value: { H5Lget_val_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, $0, $1, Library.linkAccess) })
            return HDF5Child(name: name, kind: kind)
        }
    }

    /// The group at `path`, relative to this group (or absolute).
    func group(_ path: String) throws -> HDF5Group { try file.group(at: file.normalized(path, relativeTo: self.path)) }

    /// The dataset at `path`, relative to this group (or absolute).
    func dataset(_ path: String) throws -> HDF5Dataset { try file.dataset(at: file.normalized(path, relativeTo: self.path)) }
}

/// An open dataset: shape, element type and data. Opening refuses datasets whose data lives
/// outside the file (external raw storage, virtual datasets), so nothing else is ever read.
final class HDF5Dataset: HDF5Object {
    /// Dimensions, row-major; `[]` for a scalar.
    let shape: [Int]
    /// Number of elements (1 for a scalar, 0 for a null dataspace).
    let elementCount: Int
    let elementType: HDF5ElementType

    /// Takes ownership of `id` (closed here on failure).
    fileprivate init(file: HDF5File, path: String, datasetID id: hid_t) throws {
        let site = Site(file: file.name, path: path)
        let creation = H5Dget_create_plist(id)
        guard creation >= 0 else {
            let error = site.failure("unable to read dataset properties")
            H5Oclose(id)
            throw error
        }
        let external = H5Pget_external_count(creation), layout = H5Pget_layout(creation)
        H5Pclose(creation)
        guard external == 0, layout != H5D_VIRTUAL else {
            H5Oclose(id)
            throw external != 0
                ? site.error(.externalStorage, "dataset stores its data in external files, which are never read")
                : site.error(.virtualDataset, "virtual dataset (data mapped from other datasets), not supported")
        }
        let space = H5Dget_space(id), type = H5Dget_type(id)
        defer { H5Sclose(space); H5Tclose(type) }
        guard space >= 0, type >= 0, let (shape, count) = dataspaceShape(space) else {
            let error = site.failure("unable to read dataset shape and type")
            H5Oclose(id)
            throw error
        }
        self.shape = shape
        self.elementCount = count
        self.elementType = HDF5ElementType(type)
        super.init(file: file, path: path, id: id)
    }

    /// The whole dataset as bytes in little-endian layout, each element of the same width as in
    /// the file (numbers and booleans only). Refuses more than `limit` bytes before allocating.
    func readBytes(limit: Int = HDF5File.defaultByteLimit) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try read(limit: limit) { count, fill in
            bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try fill($0.baseAddress!) }
        }
        return bytes
    }

    /// The same bytes as ``readBytes(limit:)``, read straight into tensor storage (64-byte
    /// aligned, written once by libhdf5: no zeroing, no copy).
    func readStorage(limit: Int = HDF5File.defaultByteLimit) throws -> TensorStorage {
        var storage = TensorStorage(zeroedByteCount: 0)
        try read(limit: limit) { count, fill in
            let s = TensorStorage(uninitializedByteCount: count)
            try fill(s.baseAddress)
            storage = s
        }
        return storage
    }

    /// Works out the byte count, then lets `receive` provide the destination: it gets the count
    /// and a `fill` to call with a buffer of that many bytes. Not called for an empty dataset.
    private func read(limit: Int, _ receive: (Int, (UnsafeMutableRawPointer) throws -> Void) throws -> Void) throws {
        Library.prepare()
        let fileType = H5Dget_type(id)
        guard fileType >= 0 else { throw site.failure("unable to read dataset type") }
        defer { H5Tclose(fileType) }
        let memoryType: hid_t
        switch elementType {
        case .float(4): memoryType = H5Tcopy(ascent_H5T_IEEE_F32LE())
        case .float(8): memoryType = H5Tcopy(ascent_H5T_IEEE_F64LE())
        case .float(2):  // no predefined half type: the file's own format, made little-endian
            memoryType = H5Tcopy(fileType)
            H5Tset_order(memoryType, H5T_ORDER_LE)
        case .signedInteger(let size) where [1, 2, 4, 8].contains(size):
            let types = [ascent_H5T_STD_I8LE(), ascent_H5T_STD_I16LE(), ascent_H5T_STD_I32LE(), ascent_H5T_STD_I64LE()]
            memoryType = H5Tcopy(types[size.trailingZeroBitCount])
        case .unsignedInteger(let size) where [1, 2, 4, 8].contains(size):
            let types = [ascent_H5T_STD_U8LE(), ascent_H5T_STD_U16LE(), ascent_H5T_STD_U32LE(), ascent_H5T_STD_U64LE()]
            memoryType = H5Tcopy(types[size.trailingZeroBitCount])
        case .boolean, .enumeration:  // native base integer; little-endian on every Swift host but s390x
            memoryType = H5Tget_native_type(fileType, H5T_DIR_ASCEND)
        default:
            throw site.error(.unsupportedType, "cannot read \(elementType) data as raw bytes")
        }
        guard memoryType >= 0 else { throw site.failure("unable to set up the memory type") }
        defer { H5Tclose(memoryType) }
        let byteCount = try site.byteCount(elementCount, H5Tget_size(memoryType), limit: limit)
        guard byteCount > 0 else { return }
        try receive(byteCount) { buffer in
            if H5Dread(id, memoryType, ascent_H5S_ALL(), ascent_H5S_ALL(), ascent_H5P_DEFAULT(), buffer) < 0 {
                throw site.failure("unable to read dataset")
            }
        }
    }

    /// The whole dataset decoded like an attribute (strings, integers, floats).
    func readValue(limit: Int = HDF5File.defaultByteLimit) throws -> HDF5Value {
        Library.prepare()
        let type = H5Dget_type(id), space = H5Dget_space(id)
        defer { H5Tclose(type); H5Sclose(space) }
        guard type >= 0, space >= 0 else { throw site.failure("unable to read dataset") }
        return try decodeValue(type: type, space: space, limit: limit, site: site) {
            H5Dread(id, $0, ascent_H5S_ALL(), ascent_H5S_ALL(), ascent_H5P_DEFAULT(), $1)
        }
    }
}

// MARK: - Decoding helpers

/// Reads a name through libhdf5's "call once for the size, again with a buffer" pattern.
private func readName(_ site: Site, _ get: (UnsafeMutablePointer<CChar>?, Int) -> Int) throws -> String {
    let size = get(nil, 0)
    guard size >= 0 else { throw site.failure("unable to read a name") }
    var buffer = [CChar](repeating: 0, count: size + 1)
    _ = get(&buffer, size + 1)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// What a link points to; `object` fills the object info of a hard link's target, `value`
/// reads a soft or external link's value into a buffer of the given size.
private func linkKind(_ link: H5L_info_t, _ site: Site, object: (inout H5O_info_t) -> herr_t,
                      value: (UnsafeMutableRawPointer, Int) -> herr_t) throws -> HDF5ObjectKind {
    switch link.type {
    case H5L_TYPE_HARD:
        var info = H5O_info_t()
        guard object(&info) >= 0 else { throw site.failure("unable to get object info") }
        return HDF5ObjectKind(info.type)
    case H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL:
        let size = link.u.val_size
        var bytes = [UInt8](repeating: 0, count: size + 1)
        guard (bytes.withUnsafeMutableBytes { value($0.baseAddress!, size) }) >= 0 else {
            throw site.failure("unable to read link value")
        }
        if link.type == H5L_TYPE_SOFT { return .softLink(target: String(cStringBytes: bytes)) }
        let names = bytes.withUnsafeBytes { buffer -> (String, String)? in  // pointers into `buffer`
            var flags: UInt32 = 0
            var target: UnsafePointer<CChar>?, object: UnsafePointer<CChar>?
            guard H5Lunpack_elink_val(buffer.baseAddress, size, &flags, &target, &object) >= 0 else { return nil }
            return (target.map { String(cString: $0) } ?? "", object.map { String(cString: $0) } ?? "")
        }
        guard let names else { throw site.failure("unable to decode external link") }
        return .externalLink(file: names.0, path: names.1)
    default:
        return .other
    }
}

/// Shape and element count of a dataspace (`[]`/1 for scalars, `[]`/0 for null), nil on error.
private func dataspaceShape(_ space: hid_t) -> ([Int], Int)? {
    let rank = H5Sget_simple_extent_ndims(space)
    guard rank >= 0 else { return nil }
    if H5Sget_simple_extent_type(space) == H5S_NULL { return ([], 0) }
    var dims = [hsize_t](repeating: 0, count: Int(rank))
    guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { return nil }
    var count = 1
    for dim in dims {
        guard dim <= UInt64(Int.max) else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
        guard !overflow else { return nil }
        count = product
    }
    return (dims.map { Int($0) }, count)
}

/// Decodes a whole attribute or dataset; `read(memoryType, buffer)` performs the read.
private func decodeValue(type: hid_t, space: hid_t, limit: Int, site: Site,
                         read: (hid_t, UnsafeMutableRawPointer?) -> herr_t) throws -> HDF5Value {
    guard H5Sget_simple_extent_type(space) != H5S_NULL else { return .empty }
    guard let (shape, count) = dataspaceShape(space) else { throw site.failure("unable to read dataspace") }
    /// Reads `count` elements of `memoryType` into a zeroed buffer of `size` bytes each.
    func readAll(_ memoryType: hid_t, size: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: try site.byteCount(count, size, limit: limit))
        if count > 0, (bytes.withUnsafeMutableBytes { read(memoryType, $0.baseAddress) }) < 0 {
            throw site.failure("unable to read value")
        }
        return bytes
    }
    switch H5Tget_class(type) {
    case H5T_STRING:
        var strings: [String]
        let cset = H5Tget_cset(type)
        if H5Tis_variable_str(type) > 0 {
            let memoryType = H5Tcopy(ascent_H5T_C_S1())
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, ascent_H5T_VARIABLE())
            H5Tset_cset(memoryType, cset)
            _ = try site.byteCount(count, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride, limit: limit)
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            if count > 0 {  // libhdf5 allocates each string; H5Dvlen_reclaim frees them all
                let status = pointers.withUnsafeMutableBytes { read(memoryType, $0.baseAddress) }
                let failure = status < 0 ? site.failure("unable to read strings") : nil
                strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
                _ = pointers.withUnsafeMutableBytes {
                    H5Dvlen_reclaim(memoryType, space, ascent_H5P_DEFAULT(), $0.baseAddress)
                }
                if let failure { throw failure }
            } else {
                strings = []
            }
        } else {
            let size = H5Tget_size(type), padding = H5Tget_strpad(type)
            let memoryType = H5Tcopy(type)
            defer { H5Tclose(memoryType) }
            let bytes = try readAll(memoryType, size: size)
            strings = (0..<count).map { index in
                var chars = bytes[index * size ..< (index + 1) * size].prefix { $0 != 0 }
                if padding == H5T_STR_SPACEPAD { while chars.last == 0x20 { chars.removeLast() } }
                return String(decoding: chars, as: UTF8.self)
            }
        }
        return shape.isEmpty ? .string(strings.first ?? "") : .strings(strings, shape: shape)
    case H5T_INTEGER, H5T_ENUM, H5T_BITFIELD:
        // Read the stored representation unconverted; decode it by its own size, sign and order.
        let base = H5Tget_class(type) == H5T_ENUM ? H5Tget_super(type) : H5Tcopy(type)
        let size = H5Tget_size(base), signed = H5Tget_sign(base) == H5T_SGN_2
        let littleEndian = H5Tget_order(base) != H5T_ORDER_BE
        H5Tclose(base)
        guard (1...8).contains(size) else { return .unsupported("\(size)-byte integer") }
        let memoryType = H5Tcopy(type)
        defer { H5Tclose(memoryType) }
        let bytes = try readAll(memoryType, size: size)
        return .integers(try (0..<count).map { index in
            let element = bytes[index * size ..< (index + 1) * size]
            let raw = (littleEndian ? element.reversed() : Array(element)).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let unused = UInt64(64 - 8 * size)
            if signed { return Int64(bitPattern: raw << unused) >> Int64(unused) }
            guard raw <= UInt64(Int64.max) else { throw site.error(.unsupportedType, "unsigned value \(raw) exceeds Int64") }
            return Int64(raw)
        }, shape: shape)
    case H5T_FLOAT:
        let bytes = try readAll(ascent_H5T_NATIVE_DOUBLE(), size: 8)
        let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        return .floats(values, shape: shape)
    default:
        return .unsupported(HDF5ElementType(type).description)
    }
}

extension HDF5ObjectKind {
    fileprivate init(_ type: H5O_type_t) {
        switch type {
        case H5O_TYPE_GROUP: self = .group
        case H5O_TYPE_DATASET: self = .dataset
        case H5O_TYPE_NAMED_DATATYPE: self = .namedDatatype
        default: self = .other
        }
    }
}

extension HDF5ElementType: CustomStringConvertible {
    fileprivate init(_ type: hid_t) {
        let size = H5Tget_size(type)
        let typeClass = H5Tget_class(type)
        switch typeClass {
        case H5T_FLOAT: self = .float(size: size)
        case H5T_INTEGER: self = H5Tget_sign(type) == H5T_SGN_2 ? .signedInteger(size: size) : .unsignedInteger(size: size)
        case H5T_STRING: self = .string(variableLength: H5Tis_variable_str(type) > 0)
        case H5T_ENUM:
            let base = H5Tget_super(type)
            let signed = H5Tget_sign(base) == H5T_SGN_2
            H5Tclose(base)
            let names = (0..<max(0, H5Tget_nmembers(type))).map { index -> String in
                guard let name = H5Tget_member_name(type, UInt32(index)) else { return "" }
                defer { H5free_memory(name) }
                return String(cString: name)
            }
            self = size == 1 && names == ["FALSE", "TRUE"] ? .boolean : .enumeration(size: size, signed: signed)
        default:
            let names = [H5T_TIME: "time", H5T_BITFIELD: "bitfield", H5T_OPAQUE: "opaque", H5T_COMPOUND: "compound",
                         H5T_REFERENCE: "reference", H5T_VLEN: "variable-length sequence", H5T_ARRAY: "array"]
            self = .other(names[typeClass] ?? "unknown class \(typeClass.rawValue)")
        }
    }

    var description: String {
        switch self {
        case .float(let size): "\(size * 8)-bit float"
        case .signedInteger(let size): "\(size * 8)-bit signed integer"
        case .unsignedInteger(let size): "\(size * 8)-bit unsigned integer"
        case .boolean: "boolean"
        case .enumeration(let size, let signed): "\(size * 8)-bit \(signed ? "signed" : "unsigned") enumeration"
        case .string(let variable): variable ? "variable-length string" : "fixed-length string"
        case .other(let name): name
        }
    }
}

extension String {
    /// The text before the first NUL of `bytes`.
    fileprivate init(cStringBytes bytes: [UInt8]) {
        self.init(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
