import ICal
import Testing

@Suite struct TextValueTests {
    @Test func escapesBackslashSemicolonAndComma() {
        #expect(TextValue.escape(#"a\b;c,d"#) == #"a\\b\;c\,d"#)
        #expect(TextValue.escape(#"\\;;,,"#) == #"\\\\\;\;\,\,"#)
    }

    @Test func everyNewlineFormBecomesOneEscapedN() {
        #expect(TextValue.escape("a\nb") == #"a\nb"#)
        #expect(TextValue.escape("a\r\nb") == #"a\nb"#)
        #expect(TextValue.escape("a\rb") == #"a\nb"#)
        #expect(TextValue.escape("a\r\rb") == #"a\n\nb"#)
        #expect(TextValue.escape("a\n\r\nb") == #"a\n\nb"#)
        #expect(TextValue.escape("\r") == #"\n"#)
    }

    @Test func removesControlCharactersButKeepsTab() {
        #expect(TextValue.escape("a\u{0}b\u{1}c\u{1B}d\u{7F}e\u{1F}") == "abcde")
        #expect(TextValue.escape("a\tb") == "a\tb")
    }

    @Test func leavesOtherTextAlone() {
        let text = "Plain: \"quoted\" 'x' ✓ 日本語 👩‍👩‍👧 é \u{80}"
        #expect(TextValue.escape(text) == text)
        #expect(TextValue.escape("") == "")
    }

    /// A byte-at-a-time reference, to check the word-at-a-time scan of the writer.
    private static func referenceEscape(_ text: String) -> String {
        var out = ""
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\", ";", ",": out += "\\" + String(scalar)
            case "\r": out += "\\n"
            case "\n": if !previousWasCR { out += "\\n" }
            case "\t": out += "\t"
            case "\u{0}"..."\u{1F}", "\u{7F}": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test func everyASCIIByteIsHandledAtEveryWordOffset() {
        for value in UInt8(0)...0x7F {
            let special = String(UnicodeScalar(value))
            for offset in 0..<17 {
                let plain = String(repeating: "é", count: offset % 3) + String(repeating: "x", count: offset)
                let text = plain + special + "yyyyyyyyyy" + special + "漢"
                #expect(TextValue.escape(text) == Self.referenceEscape(text), "byte \(value) at \(offset)")
            }
        }
    }
}
