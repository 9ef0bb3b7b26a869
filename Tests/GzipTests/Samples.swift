/// Inputs for the tests: feed-like text, incompressible bytes, runs, and block lists made of them.
enum Samples {
    /// Text shaped like a feed's VTODO fragments (CRLF lines, UIDs, dates, multilingual summaries): compresses
    /// about as a real feed does.
    static func calendarText(count: Int, random: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 512)
        while out.count < count {
            out.append(contentsOf: fragment(&random))
        }
        return Array(out.prefix(count))
    }

    /// One VTODO fragment.
    static func fragment(_ random: inout SplitMix64) -> [UInt8] {
        let summaries = [
            "Review the quarterly report", "Call dentist appointment (urgent)", "Renew passport",
            "Überprüfen Müller & Söhne contract", "Réserver flight to Lisbon — follow up",
            "Проверить визу в посольстве",
            "確認する 歯医者の予約", "准备 年度报告 🚀", "Pay electricity bill\\, then archive",
        ]
        let day = 1 + Int(random.next() % 28)
        let month = 1 + Int(random.next() % 12)
        let uid = String(random.next(), radix: 16) + "-" + String(random.next() % 0xFFFF, radix: 16)
        var text = "BEGIN:VTODO\r\nUID:\(uid)\r\nDTSTAMP:2026\(pad(month))\(pad(day))T101500Z\r\n"
        text += "CREATED:20260101T000000Z\r\nLAST-MODIFIED:2026\(pad(month))\(pad(day))T101500Z\r\nSEQUENCE:0\r\n"
        text += "DUE;VALUE=DATE:2026\(pad(month))\(pad(day))\r\n"
        text += "SUMMARY:\(summaries.randomElement(using: &random)!)\r\n"
        if random.next() % 2 == 0 {
            text += "DESCRIPTION:Bring the signed copy and two forms of ID.\\nAgenda:\\n1. budget\\n2. hiring\r\n"
        }
        text += "STATUS:NEEDS-ACTION\r\nEND:VTODO\r\n"
        return Array(text.utf8)
    }

    /// Uniformly random bytes: deflate cannot shrink them, so they exercise stored blocks.
    static func randomBytes(count: Int, random: inout SplitMix64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = random.next()
            for _ in 0..<8 where index < count {
                out[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return out
    }

    /// Long runs of few distinct bytes: deflate's best case.
    static func runs(count: Int, random: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count {
            let length = min(count - out.count, 1 + Int(random.next() % 5000))
            out.append(contentsOf: repeatElement(UInt8(truncatingIfNeeded: random.next() % 3), count: length))
        }
        return out
    }

    /// Contents of a random kind and a size drawn to hit the edges: empty, one byte, a few bytes, a window's
    /// worth (32 KiB) and around, a feed block, beyond 64 KiB (several deflate blocks).
    static func randomContents(_ random: inout SplitMix64) -> [UInt8] {
        let sizes = [0, 1, 2, 7, 100, 4096, 32767, 32768, 32769, 65535, 65536, 85_000, 200_000]
        let size = random.next() % 4 == 0 ? Int(random.next() % 150_000) : sizes.randomElement(using: &random)!
        switch random.next() % 4 {
        case 0: return randomBytes(count: size, random: &random)
        case 1: return runs(count: size, random: &random)
        default: return calendarText(count: size, random: &random)
        }
    }

    private static func pad(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
