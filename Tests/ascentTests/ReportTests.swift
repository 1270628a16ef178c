import AscentImage
import AscentIR
import AscentProbe
import AscentTestSupport
import Foundation
import Testing

/// `maximize --report`: the page as a browser shows it, the animations, and shards merged.
@Suite struct ReportTests {
    /// Runs `ascent` and requires success.
    @discardableResult
    static func ascent(_ arguments: [String]) throws -> CLI.Result {
        let r = try CLI.run(arguments)
        try #require(r.status == 0, "\(arguments): \(r.stderr)")
        return r
    }

    /// Debian's Chromium, headless: a screenshot of `page` at `width × height`.
    static func screenshot(_ page: URL, width: Int, height: Int) throws -> Image {
        let dir = try TestPaths.temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shot = dir.appendingPathComponent("shot.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                             "--window-size=\(width),\(height)", "--screenshot=\(shot.path)", page.absoluteString]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "chromium failed (installed by Tools/bootstrap?)")
        return try PNG.read(path: shot.path)
    }

    /// Connected regions (8-neighbourhood) of pixels within `tolerance` of `colour` in every
    /// channel, with at least `minimum` pixels each.
    static func regions(of colour: (UInt8, UInt8, UInt8), in image: Image, tolerance: Int = 40, minimum: Int = 20) -> Int {
        let (w, h, c) = (image.width, image.height, image.channels)
        var marked = [Bool](repeating: false, count: w * h)
        for p in 0..<(w * h) {
            let px = image.pixels[(p * c)..<(p * c + 3)].map(Int.init)
            marked[p] = abs(px[0] - Int(colour.0)) <= tolerance && abs(px[1] - Int(colour.1)) <= tolerance && abs(px[2] - Int(colour.2)) <= tolerance
        }
        var count = 0
        for start in 0..<(w * h) where marked[start] {
            var stack = [start], size = 0
            marked[start] = false
            while let p = stack.popLast() {
                size += 1
                let (x, y) = (p % w, p / w)
                for dy in -1...1 { for dx in -1...1 {
                    let (nx, ny) = (x + dx, y + dy)
                    guard nx >= 0, ny >= 0, nx < w, ny < h, marked[ny * w + nx] else { continue }
                    marked[ny * w + nx] = false
                    stack.append(ny * w + nx)
                } }
            }
            if size >= minimum { count += 1 }
        }
        return count
    }

    @Test func thePageShowsTenPicturesAndTenCurvesInABrowser() throws {
        let dir = try TestPaths.temporaryDirectory("report")
        let report = dir.appendingPathComponent("R")
        let r = try Self.ascent(["maximize", "Fixtures/digits/digits.onnx", "--targets", "logit:0-9", "--steps", "12",
                                 "--report", report.path, "--frames", "4"])
        #expect(r.stdout.hasSuffix("wrote \(report.path)/index.html (10 targets, 4 frames each)\n"), "\(r.stdout)")
        let html = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(!html.contains("<script"), "no scripts")
        #expect(!html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http"), "nothing from the network")
        #expect(html.contains("<style>") && !html.contains("<link"), "inline CSS")

        let shot = try Self.screenshot(report.appendingPathComponent("index.html"), width: 1280, height: 1800)
        #expect(shot.width == 1280 && shot.height == 1800)
        let c = shot.channels
        let background = (0..<(shot.width * shot.height)).filter { p in (0..<3).allSatisfy { shot.pixels[p * c + $0] == 255 } }.count
        #expect(background < shot.width * shot.height * 95 / 100, "the page is not blank")
        #expect(Self.regions(of: Report.Palette.pictureFrame, in: shot) == 10, "ten framed pictures")
        #expect(Self.regions(of: Report.Palette.curve, in: shot) == 10, "ten objective curves")
        #expect(Self.regions(of: Report.Palette.highlightedBar, in: shot, tolerance: 10) >= 1, "the asked-for classes' bars")

        // Every picture is an animation of 4 frames, by Ascent's reader and by Pillow's.
        let pictures = try FileManager.default.contentsOfDirectory(atPath: report.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(pictures.count == 10)
        for name in pictures {
            let path = report.appendingPathComponent(name).path
            let animation = try APNG.read(path: path)
            #expect(animation.frames.count == 4 && !animation.defaultImageIsFirstFrame, "\(name)")
            #expect(animation.frames.last == animation.defaultImage, "the animation ends on the result")
            let pillow = try ReferencePython.script("checks/apng_frames.py", [path])
            try #require(pillow.status == 0, "\(pillow.output)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(pillow.output.utf8)) as? [String: Any])
            #expect(json["frames"] as? Int == 4 && json["default_image_apart"] as? Bool == true, "\(name)")
            #expect((json["pixels"] as? [[Int]])?.map { $0.map(UInt8.init) } == animation.frames.map(\.pixels), "\(name)")
        }
    }

    /// Four shards, merged, give the single run's pictures byte for byte.
    @Test func shardsMergeIntoTheSingleRun() throws {
        let dir = try TestPaths.temporaryDirectory("shards")
        let common = ["maximize", "Fixtures/digits/digits.onnx", "--targets", "logit:0-9", "--steps", "16", "--batch-size", "3", "--seed", "7"]
        let whole = dir.appendingPathComponent("whole")
        try Self.ascent(common + ["--report", whole.path])
        var folders: [String] = []
        for i in 0..<4 {
            let folder = dir.appendingPathComponent("shard\(i)").path
            try Self.ascent(common + ["--shard", "\(i)/4", "--report", folder])
            folders.append(folder)
        }
        let merged = dir.appendingPathComponent("merged")
        let r = try Self.ascent(["report", "merge"] + folders.reversed() + ["--output", merged.path])
        #expect(r.stdout == "wrote \(merged.path)/index.html (10 targets from 4 shards)\n")
        let pictures = try FileManager.default.contentsOfDirectory(atPath: whole.path).filter { $0.hasSuffix(".png") }.sorted()
        #expect(pictures.count == 10)
        for name in pictures {
            let a = try Data(contentsOf: whole.appendingPathComponent(name)), b = try Data(contentsOf: merged.appendingPathComponent(name))
            #expect(a == b, "\(name) differs")
        }
        let single = try ProbeReport.read(folder: whole.path), combined = try ProbeReport.read(folder: merged.path)
        #expect(combined.items.map(\.objectives) == single.items.map(\.objectives))
        #expect(combined.mergedShards == 4 && combined.commands.count == 4)

        // Incomplete or mixed sets are refused.
        let missing = try CLI.run(["report", "merge", folders[0], folders[1], folders[3], "--output", dir.appendingPathComponent("x").path])
        #expect(missing.status == 65 && missing.stderr == "ascent: shard 2/4 missing: merge all 4 shards\n", "\(missing.stderr)")
        let mixed = try CLI.run(["report", "merge", folders[0], whole.path, "--output", dir.appendingPathComponent("y").path])
        #expect(mixed.status == 65 && mixed.stderr == "ascent: \(whole.path): not a shard of the same run as \(folders[0]): no shard, not a shard of 4\n", "\(mixed.stderr)")
    }
}
