import AscentIR
@testable import AscentRuntime
import AscentTestSupport
import Foundation
import Testing

/// `ExecutionContext.parallelFor`: every index once, in chunks that do not depend on who runs
/// them, on oneDNN's OpenMP team (``OpenMPTeam``: chunk c on team thread c, no nested teams, one
/// team per calling thread); the processor budget and libgomp's start-up spin count (``Processors``).
@Suite struct ParallelTests {
    /// Enough work per item that every loop here goes parallel.
    let heavy = ExecutionContext.parallelThreshold

    /// The ranges `parallelFor` hands out, in index order.
    func ranges(count: Int, threads: Int, costPerItem: Int) -> [Range<Int>] {
        let context = ExecutionContext(threads: threads, pool: BufferPool())
        let slots = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: max(count, 1))
        defer { slots.deallocate() }
        slots.initialize(repeating: nil)
        // Each range writes only its own first slot.
        context.parallelFor(count, costPerItem: costPerItem) { r in slots[r.lowerBound] = r }
        return slots.prefix(count).compactMap { $0 }
    }

    @Test(arguments: [1, 2, 3, 4, 7])
    func everyIndexOnceInFixedChunks(threads: Int) {
        for count in [0, 1, 2, 3, 5, 8, 100, 1001] {
            let got = ranges(count: count, threads: threads, costPerItem: heavy)
            // min(threads, count) contiguous chunks of ceil(count / chunks), covering 0..<count.
            let chunks = min(threads, count)
            let per = chunks > 0 ? (count + chunks - 1) / chunks : 1
            #expect(got == stride(from: 0, to: count, by: per).map { $0..<min(count, $0 + per) })
        }
    }

    @Test func smallLoopsStayOneChunk() {
        #expect(ranges(count: 1000, threads: 2, costPerItem: 1) == [0..<1000])
    }

    @Test func availableProcessorsWithinTheMachine() {
        let online = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #expect(Processors.available >= 1 && Processors.available <= online)
        #expect(Session.defaultThreads == Processors.available)
    }

    /// The test runner is an executable linking CParallel: its preinit hook started libgomp with
    /// Ascent's spin count unless the environment chose, and took the variable out again.
    @Test func openMPStartsWithAShortSpinUnlessTheUserChose() {
        let userChose = ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] != nil
        if userChose || Processors.openMPSpinCount == nil {
            #expect(userChose || ProcessInfo.processInfo.environment["GOMP_SPINCOUNT"] != nil)
        } else {
            #expect(Processors.openMPSpinCount == 0)
            #expect(ProcessInfo.processInfo.environment["GOMP_SPINCOUNT"] == nil)
        }
    }

    /// Which team thread ran each chunk, and whether it was inside a parallel region.
    func teamChunks(_ chunks: Int, threads: Int) -> [(thread: Int, inRegion: Bool)] {
        let slots = UnsafeMutableBufferPointer<(thread: Int, inRegion: Bool)>.allocate(capacity: chunks)
        defer { slots.deallocate() }
        slots.initialize(repeating: (-1, false))
        OpenMPTeam.forEachChunk(chunks, threads: threads) { c in
            slots[c] = (OpenMPTeam.threadNumber, Processors.inOpenMPRegion)
        }
        return Array(slots)
    }

    /// The team sizes libgomp may give for `threads` threads and `chunks` chunks: exactly
    /// min(threads, chunks) — unless OMP_THREAD_LIMIT caps the threads of the whole process or
    /// OMP_DYNAMIC lets libgomp shrink teams, when anything from 1 up to that may come.
    static func possibleTeams(threads: Int, chunks: Int) -> ClosedRange<Int> {
        let full = min(threads, chunks)
        let environment = ProcessInfo.processInfo.environment
        let limited = environment["OMP_THREAD_LIMIT"] != nil || ["true", "1"].contains(environment["OMP_DYNAMIC"]?.lowercased() ?? "")
        return limited ? 1...full : full...full
    }

    /// Chunk c ran on thread c % team for the team that ran it, inside a region exactly when the
    /// team has more than one thread; the team size is one libgomp may give.
    static func isStaticSchedule(_ got: [(thread: Int, inRegion: Bool)], threads: Int) -> Bool {
        let team = (got.map(\.thread).max() ?? 0) + 1
        return possibleTeams(threads: threads, chunks: got.count).contains(team)
            && got.map(\.thread) == (0..<got.count).map { $0 % team }
            && got.allSatisfy { $0.inRegion == (team > 1) }
    }

    @Test(arguments: [1, 2, 3])
    func openMPTeamRunsChunkOnThreadC(threads: Int) {
        for chunks in [1, 2, 3, 5] {
            let got = teamChunks(chunks, threads: threads)
            #expect(Self.isStaticSchedule(got, threads: threads), "\(chunks) chunks on \(threads) threads: \(got)")
        }
    }

    @Test func nestedTeamsRunSeriallyOnTheOuterThread() {
        let inner = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: 2)
        defer { inner.deallocate() }
        inner.initialize(repeating: [])
        OpenMPTeam.forEachChunk(2, threads: 2) { outer in
            let thread = OpenMPTeam.threadNumber
            var seen: [Int] = []
            OpenMPTeam.forEachChunk(3, threads: 2) { c in
                // Still the outer team's thread: no nested team was made.
                #expect(OpenMPTeam.threadNumber == thread)
                seen.append(c)
            }
            inner[outer] = seen
        }
        #expect(Array(inner) == [[0, 1, 2], [0, 1, 2]])
    }

    /// Several Swift tasks opening OpenMP teams at once each get their own team.
    @Test func concurrentTeams() async {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<50).allSatisfy { _ in Self.isStaticSchedule(self.teamChunks(4, threads: 2), threads: 2) }
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    /// A 3×3 convolution (oneDNN's OpenMP regions) followed by large elementwise loops (Ascent's).
    func convolutionGraph() -> Graph {
        let c = 16, side = 64
        let shape = Shape([1, c, side, side])
        let w = Tensor(shape: [c, c, 3, 3], scalars: (0..<(c * c * 9)).map { Float(($0 * 37) % 23) / 23 - 0.5 })
        return Graph(
            name: "conv_relu_add",
            inputs: [ValueInfo(name: "x", type: ValueType(.float32, shape))],
            outputs: [ValueInfo(name: "y", type: ValueType(.float32, shape))],
            initializers: ["w": w],
            nodes: [
                Node(name: "conv", op: "Conv", inputs: ["x", "w"], outputs: ["c"],
                     attributes: ["pads": .ints([1, 1, 1, 1])]),
                Node(name: "tanh", op: "Tanh", inputs: ["c"], outputs: ["t"]),
                Node(name: "add", op: "Add", inputs: ["t", "x"], outputs: ["y"]),
            ])
    }

    /// Several Swift tasks running one two-thread session at once each get their own team and
    /// the same numbers as one call alone.
    @Test func concurrentTwoThreadCallsAgree() async throws {
        let s2 = try Session(graph: convolutionGraph(), options: .init(threads: 2))
        let s1 = try Session(graph: convolutionGraph(), options: .init(threads: 1))
        let scalars: [Float] = (0..<(16 * 64 * 64)).map { Float($0 % 19) / 9 - 1 }
        let x = Tensor(shape: [1, 16, 64, 64], scalars: scalars)
        let outputs2 = try s2.run(["x": x]), outputs1 = try s1.run(["x": x])
        let reference = try #require(outputs2["y"])
        let single = try #require(outputs1["y"])
        expectClose(reference, single, rtol: 1e-4, atol: 1e-5, "two threads vs one")
        try await withThrowingTaskGroup(of: Tensor?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var last: Tensor?
                    for _ in 0..<5 { last = try s2.run(["x": x])["y"] }
                    return last
                }
            }
            for try await y in group {
                let same = y?.bitwiseEqual(reference) ?? false
                #expect(same)
            }
        }
    }
}
