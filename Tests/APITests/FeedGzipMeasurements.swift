import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import Gzip
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Projector
import Testing

@testable import API

/// Sizes and times of compressed feeds for a realistic 10,000-todo calendar (titles and
/// descriptions in several languages, as benchmarks/Sources/Workload writes them). Prints the
/// numbers (README, "Compressed feeds"); asserts only what does not depend on the machine.
@Suite("Compressed feeds: measurements")
struct FeedGzipMeasurements {
    static let verbs = [
        "Review", "Call", "Email", "Prepare", "Book", "Renew", "Pay", "Send", "Fix", "Update", "Plan", "Check",
        "Überprüfen", "Réserver", "Préparer", "Llamar a", "Enviar", "Проверить", "確認する", "准备",
    ]
    static let objects = [
        "the quarterly report", "dentist appointment", "car insurance", "passport", "electricity bill",
        "slides for Monday", "flight to Lisbon", "team offsite", "tax return", "birthday gift for Ana",
        "notes, drafts and outlines", "groceries: milk, eggs, bread", "Zoë's piano lesson", "café order",
        "Müller & Söhne contract", "l'assurance habitation", "la reunión del martes", "визу в посольстве",
        "歯医者の予約", "年度报告", "backup of photos 📷", "the naïve Bayes notebook", "Crème brûlée recipe",
    ]
    static let contexts = ["", "", "", " before lunch", " (urgent)", " for the family", " — follow up", " again", " 🚀"]
    static let sentences = [
        "Bring the signed copy and two forms of ID.", "Ask about the discount, the warranty, and the delivery date.",
        "Remember: the office closes early on Fridays.", "Link: https://example.com/tickets/4711?ref=cal;mode=full",
        "Agenda:\n1. budget\n2. hiring\n3. roadmap", "Grüße an das ganze Team, schöne Woche!",
        "N'oubliez pas le reçu, s'il vous plaît.", "Позвонить до 18:00, иначе перенести на завтра.",
        "会議室は3階です。資料を印刷してください。", "Backslashes \\ and semicolons ; must survive escaping, as must commas, too.",
        "Shopping list:\n- apples\n- oat milk\n- coffee ☕", "Budget: €1,250.00 — approved by Søren.",
    ]

    static func uuid(_ random: inout SplitMix) -> String {
        let (a, b) = (random.next(), random.next())
        let bytes = withUnsafeBytes(of: (a.bigEndian, b.bigEndian)) { $0.load(as: uuid_t.self) }
        return UUID(uuid: bytes).uuidString.lowercased()
    }

    static func events(_ count: Int) throws -> [TodoEvent] {
        var random = SplitMix(state: 2026)
        return try (1...count).flatMap { index in
            let title =
                verbs.randomElement(using: &random)! + " " + objects.randomElement(using: &random)!
                + contexts.randomElement(using: &random)!
            let description = (0..<Int(random.next() % 5)).map { _ in sentences.randomElement(using: &random)! }
                .joined(separator: " ")
            let month = Int(random.next() % 12) + 1
            let day = Int(random.next() % 28) + 1
            let timed = random.next() % 8 >= 3
            let deadline =
                String(format: "2026-%02d-%02d", month, day)
                + (timed ? String(format: "T%02d:%02d:00", Int(random.next() % 24), Int(random.next() % 4) * 15) : "")
            return TodoCommands.create(
                try NewTodo(
                    title: title,
                    description: description,
                    completed: random.next() % 10 == 0,
                    deadline: random.next() % 8 == 0 ? nil : try Deadline(parsing: deadline)
                ),
                id: index,
                uid: uuid(&random),
                at: Timestamp(microseconds: 1_770_000_000_000_000 + Int64(index) * 1_000_000)
            )
        }
    }

    static func milliseconds(_ duration: Duration) -> String {
        String(
            format: "%.2f ms",
            Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1e3
        )
    }

    @Test func aTenThousandTodoFeed() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let version = try await app.services.store.version(of: alice.id)
            let events = try Self.events(10_000)
            for start in stride(from: 0, to: events.count, by: 2000) {
                let chunk = Array(events[start..<min(start + 2000, events.count)])
                try await app.services.store.withTransaction { connection in
                    try await app.services.commands.append(
                        chunk,
                        user: alice.id,
                        expectedVersion: version + Int64(start),
                        on: connection
                    )
                }
            }
            try await app.project()
            let path = try await app.feedPath(alice.authorization)
            let clock = ContinuousClock()
            var report: [String] = ["10,000 todos, \(try await app.fragmentBytes(user: alice.id)) bytes of fragments"]

            for (query, name) in [("", "events"), ("?format=vtodo", "vtodo")] {
                _ = try await app.send(.get, path + query)  // loaded and assembled
                var start = clock.now
                let identity = try await app.send(.get, path + query)
                let identityTime = clock.now - start
                let before = await app.feedCacheStatistics().compressedBlocks
                start = clock.now
                let cold = try await app.send(.get, path + query, headers: [.acceptEncoding: "gzip"])
                let coldTime = clock.now - start
                let compressed = await app.feedCacheStatistics().compressedBlocks - before
                start = clock.now
                let warm = try await app.send(.get, path + query, headers: [.acceptEncoding: "gzip"])
                let warmTime = clock.now - start
                let plain = Array(identity.body.readableBytesView)
                #expect(try GzipDecoders.zlib(Array(warm.body.readableBytesView)) == plain)
                #expect(cold.body == warm.body)
                #expect(warm.body.readableBytes * 4 < plain.count)
                report.append(
                    "\(name): identity \(plain.count) bytes, gzip \(warm.body.readableBytes) bytes "
                        + String(format: "(%.1f%%)", 100 * Double(warm.body.readableBytes) / Double(plain.count))
                        + ", \(compressed) blocks compressed; cached identity GET \(Self.milliseconds(identityTime)), "
                        + "first gzip GET \(Self.milliseconds(coldTime)), cached gzip GET \(Self.milliseconds(warmTime))"
                )

                // The same bytes in blocks of the same size, at levels 1 and 6, and one stream.
                let blockBytes = plain.count / ((10_000 + FeedCache.blockSize - 1) / FeedCache.blockSize)
                for level in [CompressionLevel.fastest, .default] {
                    var deflater = BlockDeflater(level: level)
                    var blocks: [DeflatedBlock] = []
                    var time = Duration.seconds(3600)
                    for _ in 0..<3 {
                        start = clock.now
                        blocks = stride(from: 0, to: plain.count, by: blockBytes).map {
                            deflater.compress(plain[$0..<min($0 + blockBytes, plain.count)])
                        }
                        time = min(time, clock.now - start)
                    }
                    report.append(
                        "  \(name) in \(blocks.count) blocks at \(level): \(GzipStream.compressedCount(of: blocks)) bytes "
                            + "in \(Self.milliseconds(time)) (best of 3)"
                    )
                }
                let whole = DeflatedBlock(compressing: plain, level: .default)
                report.append(
                    "  \(name) as one deflate stream at level 6: \(GzipStream.compressedCount(of: [whole])) bytes"
                )
                var timings: [Duration] = []
                let block = Array(plain[0..<blockBytes])
                for _ in 0..<21 {
                    start = clock.now
                    _ = DeflatedBlock(compressing: block, level: GzipPart.level)
                    timings.append(clock.now - start)
                }
                report.append(
                    "  recompressing one \(blockBytes)-byte block at \(GzipPart.level): "
                        + "\(Self.milliseconds(timings.sorted()[10])) (median of 21)"
                )
            }

            // One edit: served again with one block recompressed.
            _ = try await app.services.todos.update(user: alice.id, id: 5_000, try TodoPatch(title: "edited")).done
            try await app.project()
            let before = await app.feedCacheStatistics()
            let start = clock.now
            let edited = try await app.send(.get, path + "?format=vtodo", headers: [.acceptEncoding: "gzip"])
            let time = clock.now - start
            let after = await app.feedCacheStatistics()
            #expect(after.compressedBlocks - before.compressedBlocks == 1, "before \(before), after \(after)")
            let decoded = try GzipDecoders.zlib(Array(edited.body.readableBytesView))
            #expect(String(decoding: decoded, as: UTF8.self).contains("SUMMARY:edited"))
            report.append(
                "after editing one todo: gzip GET (refresh, one block recompressed) \(Self.milliseconds(time))"
            )
            print(report.map { "[gzip measurement] " + $0 }.joined(separator: "\n"))
        }
    }
}
