import AscentIR
import Foundation

/// A report page: a title and a list of sections, rendered as one self-contained HTML file
/// (inline CSS and SVG, no scripts, nothing from the network; pictures are PNG files beside
/// the page or inlined as data URIs).
///
/// Commands that explain a model build one from sections: a grid of labelled cards (a
/// picture, a curve, bars and notes each), a table of facts, preformatted text such as the
/// command line, or a paragraph.
///
/// ```swift
/// var report = Report(title: "digits.onnx: logit:0-9")
/// report.sections.append(.init("Pictures", .cards(cards)))
/// report.sections.append(.init("Command", .preformatted("ascent maximize ...")))
/// try report.write(toFolder: "R")     // R/index.html
/// ```
public struct Report: Sendable {
    public var title: String
    /// A line under the title.
    public var subtitle: String?
    public var sections: [Section]

    public init(title: String, subtitle: String? = nil, sections: [Section] = []) {
        self.title = title
        self.subtitle = subtitle
        self.sections = sections
    }

    /// A titled part of the page.
    public struct Section: Sendable {
        public var title: String
        /// A short paragraph under the title.
        public var note: String?
        public var content: Content

        public init(_ title: String, note: String? = nil, _ content: Content) {
            self.title = title
            self.note = note
            self.content = content
        }
    }

    public enum Content: Sendable {
        /// Labelled cards in a grid, in order.
        case cards([Card])
        /// Name–value rows.
        case facts([Fact])
        /// Monospaced text kept as is (a command line, a log).
        case preformatted(String)
        case paragraph(String)
    }

    public struct Fact: Sendable, Codable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// One item of a grid: a picture with its caption, and optionally a curve, bars and notes.
    public struct Card: Sendable {
        public var title: String
        public var subtitle: String?
        public var picture: Picture?
        public var curve: Curve?
        public var bars: [Bar]
        public var notes: [String]

        public init(title: String, subtitle: String? = nil, picture: Picture? = nil, curve: Curve? = nil,
                    bars: [Bar] = [], notes: [String] = []) {
            self.title = title
            self.subtitle = subtitle
            self.picture = picture
            self.curve = curve
            self.bars = bars
            self.notes = notes
        }
    }

    /// A picture: a PNG file beside the page (relative path) or PNG bytes inlined.
    public struct Picture: Sendable {
        public enum Source: Sendable {
            case file(String)
            case png([UInt8])
        }

        public var source: Source
        /// Its size in pixels; small pictures are shown enlarged with visible pixels.
        public var width: Int
        public var height: Int
        public var alt: String

        public init(_ source: Source, width: Int, height: Int, alt: String) {
            self.source = source
            self.width = width
            self.height = height
            self.alt = alt
        }
    }

    /// A line plot of `values` against their index (an objective over the steps, say).
    public struct Curve: Sendable {
        public var values: [Double]
        /// What the horizontal axis counts (`step`).
        public var xLabel: String
        /// What is plotted (`objective`).
        public var yLabel: String

        public init(_ values: [Double], xLabel: String, yLabel: String) {
            self.values = values
            self.xLabel = xLabel
            self.yLabel = yLabel
        }
    }

    /// A horizontal bar for a value in 0...1 (a class probability, say).
    public struct Bar: Sendable {
        public var label: String
        public var value: Double
        /// Drawn darker (the class that was asked for, say).
        public var highlighted: Bool

        public init(_ label: String, _ value: Double, highlighted: Bool = false) {
            self.label = label
            self.value = value
            self.highlighted = highlighted
        }
    }

    /// Writes `folder/index.html` (atomically), creating the folder when missing.
    public func write(toFolder folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try AtomicWriter.write(Array(html().utf8), to: (folder as NSString).appendingPathComponent("index.html"))
    }
}
