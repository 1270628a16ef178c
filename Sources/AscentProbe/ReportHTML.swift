import Foundation

extension Report {
    /// Colours the page uses for its marks, each for nothing else, so a screenshot can be
    /// checked for them (picture frames, curves, bars).
    public enum Palette {
        /// The frame around each card's picture: `#1c5fd4`.
        public static let pictureFrame: (UInt8, UInt8, UInt8) = (0x1C, 0x5F, 0xD4)
        /// The line of each curve: `#e8590c`.
        public static let curve: (UInt8, UInt8, UInt8) = (0xE8, 0x59, 0x0C)
        /// Bars: `#8fd19e`, highlighted `#2b8a3e`.
        public static let bar: (UInt8, UInt8, UInt8) = (0x8F, 0xD1, 0x9E)
        public static let highlightedBar: (UInt8, UInt8, UInt8) = (0x2B, 0x8A, 0x3E)

        static func css(_ c: (UInt8, UInt8, UInt8)) -> String { String(format: "#%02x%02x%02x", c.0, c.1, c.2) }
    }

    /// The whole page.
    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>\(Self.css)</style>
            </head>
            <body>
            <header><h1>\(Self.escape(title))</h1>
            """
        if let subtitle { out += "<p class=\"subtitle\">\(Self.escape(subtitle))</p>" }
        out += "</header>\n"
        for section in sections {
            out += "<section>\n<h2>\(Self.escape(section.title))</h2>\n"
            if let note = section.note { out += "<p class=\"note\">\(Self.escape(note))</p>\n" }
            switch section.content {
            case .cards(let cards): out += "<div class=\"cards\">\n" + cards.map(Self.card).joined() + "</div>\n"
            case .facts(let facts):
                out += "<table class=\"facts\">\n"
                    + facts.map { "<tr><th>\(Self.escape($0.name))</th><td>\(Self.escape($0.value))</td></tr>\n" }.joined() + "</table>\n"
            case .preformatted(let text): out += "<pre>\(Self.escape(text))</pre>\n"
            case .paragraph(let text): out += "<p>\(Self.escape(text))</p>\n"
            }
            out += "</section>\n"
        }
        return out + "</body>\n</html>\n"
    }

    static let css = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#212529;background:#fff;margin:24px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
        .subtitle,.note{color:#555;margin:0 0 8px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(216px,1fr));gap:14px}
        figure.card{margin:0;padding:10px;border:1px solid #dee2e6;border-radius:6px;display:flex;flex-direction:column;align-items:center;gap:6px}
        img.picture{border:3px solid \(Palette.css(Palette.pictureFrame));image-rendering:pixelated;max-width:calc(100% - 6px);height:auto}
        figcaption{text-align:center;word-break:break-all}figcaption small{display:block;color:#555}
        svg.curve{display:block}svg.curve text{font:10px system-ui,sans-serif;fill:#555}
        svg.curve polyline{fill:none;stroke:\(Palette.css(Palette.curve));stroke-width:2}
        svg.curve line{stroke:#ced4da;stroke-width:1}
        .bars{width:200px;font-size:12px}
        .bar{display:grid;grid-template-columns:80px 1fr 44px;gap:4px;align-items:center}
        .bar .label{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .bar .track{background:#f1f3f5;height:10px}
        .bar .fill{display:block;height:10px;background:\(Palette.css(Palette.bar))}
        .bar.highlighted .fill{background:\(Palette.css(Palette.highlightedBar))}
        .bar .value{text-align:right;font-variant-numeric:tabular-nums}
        .card .notes{font-size:12px;color:#555;text-align:center}
        table.facts{border-collapse:collapse}table.facts th{text-align:left;padding:2px 16px 2px 0;color:#555;font-weight:normal;vertical-align:top}
        table.facts td{padding:2px 0;word-break:break-all}
        pre{background:#f8f9fa;padding:10px;white-space:pre-wrap;word-break:break-all;font-size:12px}
        """

    static func card(_ card: Card) -> String {
        var out = "<figure class=\"card\">\n"
        if let p = card.picture {
            // Small pictures enlarged by a whole factor to at least 128 pixels, pixels visible.
            let zoom = max(1, (128 + max(p.width, p.height) - 1) / max(1, max(p.width, p.height)))
            let src: String
            switch p.source {
            case .file(let path): src = attribute(path)
            case .png(let bytes): src = "data:image/png;base64," + Data(bytes).base64EncodedString()
            }
            out += "<img class=\"picture\" src=\"\(src)\" width=\"\(p.width * zoom)\" height=\"\(p.height * zoom)\" alt=\"\(attribute(p.alt))\">\n"
        }
        out += "<figcaption>\(escape(card.title))"
        if let sub = card.subtitle { out += "<small>\(escape(sub))</small>" }
        out += "</figcaption>\n"
        if let curve = card.curve { out += svg(curve) }
        if !card.bars.isEmpty {
            out += "<div class=\"bars\">\n"
            for bar in card.bars {
                let width = String(format: "%.1f", min(max(bar.value, 0), 1) * 100)
                out += "<div class=\"bar\(bar.highlighted ? " highlighted" : "")\"><span class=\"label\" title=\"\(attribute(bar.label))\">"
                    + "\(escape(bar.label))</span><span class=\"track\"><span class=\"fill\" style=\"width:\(width)%\"></span></span>"
                    + "<span class=\"value\">\(String(format: "%.3f", bar.value))</span></div>\n"
            }
            out += "</div>\n"
        }
        if !card.notes.isEmpty { out += "<div class=\"notes\">" + card.notes.map(escape).joined(separator: "<br>") + "</div>\n" }
        return out + "</figure>\n"
    }

    /// A 200 × 70 plot: the line, the value range at the left, the index range below.
    static func svg(_ curve: Curve) -> String {
        let (width, height) = (200.0, 70.0)
        let (left, right, top, bottom) = (42.0, 4.0, 6.0, 16.0)
        let finite = curve.values.filter(\.isFinite)
        var out = "<svg class=\"curve\" xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"70\" viewBox=\"0 0 200 70\" role=\"img\">"
        out += "<title>\(escape(curve.yLabel)) by \(escape(curve.xLabel))</title>"
        guard let lo = finite.min(), let hi = finite.max() else { return out + "</svg>\n" }
        let span = hi > lo ? hi - lo : 1
        let n = max(curve.values.count - 1, 1)
        func x(_ i: Int) -> Double { left + (width - left - right) * Double(i) / Double(n) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (v - lo) / span) }
        out += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\"/>"
        out += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(height - bottom)\"/>"
        let points = curve.values.enumerated().filter { $0.element.isFinite }
            .map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }
        // A single value still shows: a short flat line.
        let drawn = points.count == 1 ? [String(format: "%.1f,%.1f", left, y(finite[0])), String(format: "%.1f,%.1f", width - right, y(finite[0]))] : points
        out += "<polyline points=\"\(drawn.joined(separator: " "))\"/>"
        out += "<text x=\"\(left - 3)\" y=\"\(top + 8)\" text-anchor=\"end\">\(short(hi))</text>"
        out += "<text x=\"\(left - 3)\" y=\"\(height - bottom)\" text-anchor=\"end\">\(short(lo))</text>"
        out += "<text x=\"\(left)\" y=\"\(height - 3)\">0</text>"
        out += "<text x=\"\(width - right)\" y=\"\(height - 3)\" text-anchor=\"end\">\(escape(curve.xLabel)) \(curve.values.count - 1)</text>"
        return out + "</svg>\n"
    }

    /// `6,282`: digits grouped by thousands.
    public static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    /// 3 significant digits.
    static func short(_ v: Double) -> String { String(format: "%.3g", v) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(c)
            }
        }
        return out
    }

    static func attribute(_ s: String) -> String { escape(s).replacingOccurrences(of: "\"", with: "&quot;") }
}

