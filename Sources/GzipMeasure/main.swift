// Measures block compression of a synthetic feed by hand (not a test: timings depend on the machine):
//
//     swift run -c release gzip-measure [todos] [repetitions]
//
// Renders `todos` VTODO fragments (default 100,000, about 34 MB) with the ICal renderer, keeps them in blocks
// of 256 fragments as the feed cache does, and compresses the blocks one after another on one core at levels
// 1 and 6 (best of `repetitions` runs), next to one deflate stream over the whole feed.
import Foundation
import Gzip
import ICal

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// Word material in the spirit of benchmarks/Sources/Workload/Phrases.swift.
let verbs = [
    "Review", "Call", "Email", "Prepare", "Book", "Renew", "Pay", "Send", "Fix", "Update", "Plan", "Check",
    "Überprüfen", "Réserver", "Préparer", "Llamar a", "Enviar", "Проверить", "確認する", "准备",
]
let objects = [
    "the quarterly report", "dentist appointment", "car insurance", "passport", "electricity bill",
    "slides for Monday", "flight to Lisbon", "team offsite", "tax return", "birthday gift for Ana",
    "notes, drafts and outlines", "groceries: milk, eggs, bread", "Zoë's piano lesson", "café order",
    "Müller & Söhne contract", "l'assurance habitation", "la reunión del martes", "визу в посольстве",
    "歯医者の予約", "年度报告", "backup of photos 📷", "the naïve Bayes notebook", "Crème brûlée recipe",
]
let contexts = ["", "", "", " before lunch", " (urgent)", " for the family", " — follow up", " again", " 🚀"]
let sentences = [
    "Bring the signed copy and two forms of ID.",
    "Ask about the discount, the warranty, and the delivery date.",
    "Remember: the office closes early on Fridays.",
    "Link: https://example.com/tickets/4711?ref=cal;mode=full",
    "Agenda:\n1. budget\n2. hiring\n3. roadmap",
    "Grüße an das ganze Team, schöne Woche!",
    "N'oubliez pas le reçu, s'il vous plaît.",
    "Позвонить до 18:00, иначе перенести на завтра.",
    "会議室は3階です。資料を印刷してください。",
    "Backslashes \\ and semicolons ; must survive escaping, as must commas, too.",
    "Shopping list:\n- apples\n- oat milk\n- coffee ☕",
    "Budget: €1,250.00 — approved by Søren.",
]

func hex(_ value: UInt64, _ digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
}

func makeTodo(_ index: Int, _ random: inout SplitMix64) -> TodoFields {
    let a = random.next()
    let b = random.next()
    let uid = "\(hex(a >> 32, 8))-\(hex(a >> 16 & 0xFFFF, 4))-4\(hex(a & 0xFFF, 3))-\(hex(b >> 48, 4))-\(hex(b, 12))"
    let summary =
        verbs.randomElement(using: &random)! + " " + objects.randomElement(using: &random)!
        + contexts.randomElement(using: &random)!
    let description = (0..<Int(random.next() % 5)).map { _ in sentences.randomElement(using: &random)! }
        .joined(separator: " ")
    let second = index * 1_000 % 31_536_000
    let created = ICalDateTime(
        year: 2026,
        month: 1 + second / 2_628_000,
        day: 1 + second / 86_400 % 28,
        hour: second / 3_600 % 24,
        minute: second / 60 % 60,
        second: second % 60
    )
    let dueDay = ICalDate(year: 2026, month: 1 + Int(random.next() % 12), day: 1 + Int(random.next() % 28))
    let due: ComponentTiming? =
        switch random.next() % 8 {
        case 0: nil
        case 1, 2, 3: .allDay(dueDay, endExclusive: dueDay)
        default:
            .at(
                ICalDateTime(
                    year: dueDay.year,
                    month: dueDay.month,
                    day: dueDay.day,
                    hour: Int(random.next() % 24),
                    minute: Int(random.next() % 4) * 15,
                    second: 0
                )
            )
        }
    return TodoFields(
        uid: uid,
        summary: summary,
        description: description,
        created: created,
        lastModified: created,
        completedAt: random.next() % 20 == 0 ? created : nil,
        due: due
    )
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let todoCount = arguments.first ?? 100_000
let repetitions = arguments.dropFirst().first ?? 3

var random = SplitMix64(state: 0xA13A_4AC0)
let fragments = (0..<todoCount).map { ComponentRenderer.todo(makeTodo($0, &random)) }
let header = CalendarHeader(name: "Measure", refreshInterval: ICalDuration(seconds: 3_600)).render()
var blockContents = [header]
for start in stride(from: 0, to: fragments.count, by: 256) {
    blockContents.append(fragments[start..<min(start + 256, fragments.count)].flatMap { $0 })
}
blockContents.append(CalendarFooter.bytes)
let feed = blockContents.flatMap { $0 }
let feedBlocks = blockContents.count - 2
let averageBlock = Double(feed.count - header.count - CalendarFooter.bytes.count) / Double(feedBlocks)

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
}

func megabytes(_ count: Int) -> String { format(Double(count) / 1e6, 2) }

print("feed: \(todoCount) VTODOs, \(megabytes(feed.count)) MB, \(feedBlocks) blocks of 256 fragments")
print("      (average block \(format(averageBlock / 1000, 1)) kB) + header + footer; \(repetitions) runs, best shown")
print("")

let clock = ContinuousClock()
for level in [CompressionLevel.fastest, .default] {
    // Blocks one after another with one reused deflater, as a cache filling a feed would.
    var best = Duration.seconds(1_000)
    var blocks: [DeflatedBlock] = []
    var deflater = BlockDeflater(level: level)
    for _ in 0..<repetitions {
        let start = clock.now
        blocks = blockContents.map { deflater.compress($0) }
        best = min(best, clock.now - start)
    }
    let stream = GzipStream.bytes(of: blocks)

    // A fresh zlib stream per block (DeflatedBlock(compressing:)), for what reusing one saves.
    var freshBest = Duration.seconds(1_000)
    for _ in 0..<repetitions {
        let start = clock.now
        let fresh = blockContents.map { DeflatedBlock(compressing: $0, level: level) }
        freshBest = min(freshBest, clock.now - start)
        precondition(fresh == blocks)
    }

    // One deflate stream over the whole feed, for the ratio blocks cost.
    var wholeBest = Duration.seconds(1_000)
    var whole = DeflatedBlock.empty
    for _ in 0..<repetitions {
        let start = clock.now
        whole = deflater.compress(feed)
        wholeBest = min(wholeBest, clock.now - start)
    }

    // A change: one block recompressed, checksums recombined, the closing rebuilt.
    var oneBlockBest = Duration.seconds(1_000)
    var combineBest = Duration.seconds(1_000)
    for _ in 0..<max(repetitions, 20) {
        var start = clock.now
        blocks[feedBlocks / 2] = deflater.compress(blockContents[feedBlocks / 2])
        oneBlockBest = min(oneBlockBest, clock.now - start)
        start = clock.now
        let closing = GzipStream.closing(for: GzipChecksum(combining: blocks))
        combineBest = min(combineBest, clock.now - start)
        precondition(closing == Array(stream.suffix(10)))
    }

    let rate = Double(feed.count) / seconds(best) / 1e6
    let wholeRate = Double(feed.count) / seconds(wholeBest) / 1e6
    print("level \(level.rawValue):")
    print(
        "  blocks:      \(format(seconds(best) * 1000, 1)) ms, \(format(rate, 1)) MB/s, "
            + "\(megabytes(stream.count)) MB gzip, ratio \(format(Double(stream.count) / Double(feed.count), 4))"
            + " (\(format(Double(feed.count) / Double(stream.count), 2)):1)"
    )
    print(
        "  fresh zlib stream per block: \(format(seconds(freshBest) * 1000, 1)) ms, "
            + "\(format(Double(feed.count) / seconds(freshBest) / 1e6, 1)) MB/s"
    )
    print(
        "  one stream:  \(format(seconds(wholeBest) * 1000, 1)) ms, \(format(wholeRate, 1)) MB/s, "
            + "\(megabytes(whole.bytes.count + 20)) MB gzip, "
            + "ratio \(format(Double(whole.bytes.count + 20) / Double(feed.count), 4))"
            + "; blocks cost +\(format(Double(stream.count) / Double(whole.bytes.count + 20) * 100 - 100, 1))%"
    )
    print(
        "  one change:  recompress one block \(format(seconds(oneBlockBest) * 1e6, 0)) µs, "
            + "combine \(blocks.count) checksums + closing \(format(seconds(combineBest) * 1e6, 1)) µs"
    )
}
