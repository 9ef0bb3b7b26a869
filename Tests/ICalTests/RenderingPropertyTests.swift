import ICal
import Testing

/// Round-trip properties over generated text that is dense in the characters that break naive writers.
@Suite struct RenderingPropertyTests {
    /// Pieces chosen to hit escapes, every newline form, removed controls and 1- to 4-octet UTF-8 at fold points.
    static let alphabet: [String] = [
        "a", "Z", "7", " ", "\\", ";", ",", ":", "\"", "\n", "\r", "\r\n", "\t", "\u{0}", "\u{1}", "\u{1B}",
        "\u{7F}", "\u{80}", "é", "ß", "✓", "漢", "字", "😀", "🎉", "👩‍👩‍👧", "e\u{301}", "\u{301}", "\u{FEFF}", "\u{10FFFF}",
    ]

    static func randomText(using generator: inout SplitMix64) -> String {
        let length = Int.random(in: 0...240, using: &generator)
        var text = ""
        for _ in 0..<length {
            // Mostly letters, so that lines are long enough to fold, with frequent special pieces.
            if Bool.random(using: &generator) {
                text += "abcdefghij".randomElement(using: &generator).map(String.init) ?? ""
            } else {
                text += alphabet.randomElement(using: &generator) ?? ""
            }
        }
        return text
    }

    static func checkWellFormed(_ bytes: [UInt8], seed: UInt64) {
        guard let lines = physicalLines(bytes) else {
            Issue.record("seed \(seed): a line does not end in CRLF, or a bare CR/LF was written")
            return
        }
        for line in lines {
            #expect(line.count <= 75, "seed \(seed): physical line of \(line.count) octets")
            // Each physical line must be valid UTF-8 on its own, which proves no fold split a character.
            #expect(String(validating: line, as: UTF8.self) != nil, "seed \(seed): fold split a UTF-8 sequence")
        }
    }

    @Test func renderedTodosAreWellFormedAndRoundTrip() {
        for seed in UInt64(0)..<1_500 {
            var generator = SplitMix64(seed: seed)
            let summary = Self.randomText(using: &generator)
            let description = Self.randomText(using: &generator)
            let todo = Fixtures.todo("p\(seed)", summary: summary, description: description)
            let vtodo = ComponentRenderer.todo(todo)
            Self.checkWellFormed(vtodo, seed: seed)
            #expect(textValue(of: "SUMMARY", in: vtodo) == expectedRoundTrip(summary), "seed \(seed)")
            if !description.isEmpty {
                #expect(textValue(of: "DESCRIPTION", in: vtodo) == expectedRoundTrip(description), "seed \(seed)")
            }
            let completed = Fixtures.todo("p\(seed)", summary: summary, completedAt: Fixtures.completed)
            if let vevent = ComponentRenderer.event(completed) {
                Self.checkWellFormed(vevent, seed: seed)
                #expect(textValue(of: "SUMMARY", in: vevent) == "✓ " + expectedRoundTrip(summary), "seed \(seed)")
            }
        }
    }

    @Test func contentLinesFoldAtEveryOffset() {
        // Varying the name length moves every character across every fold position.
        for seed in UInt64(0)..<600 {
            var generator = SplitMix64(seed: seed &+ 10_000)
            let text = Self.randomText(using: &generator)
            let name = "X-" + String(repeating: "N", count: Int(seed % 80))
            var out: [UInt8] = []
            ContentLine.write(name: name, value: TextValue.escape(text), into: &out)
            Self.checkWellFormed(out, seed: seed)
            #expect(textValue(of: name, in: out) == expectedRoundTrip(text), "seed \(seed)")
        }
    }

    @Test func escapedTextContainsNoControlCharactersExceptTab() {
        for seed in UInt64(0)..<500 {
            var generator = SplitMix64(seed: seed &+ 20_000)
            let escaped = TextValue.escape(Self.randomText(using: &generator))
            #expect(!escaped.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }, "seed \(seed)")
        }
    }
}
