import ICal
import Testing

@Suite struct ContentLineTests {
    private func render(name: String = "X", parameters: [(String, String)] = [], value: String) -> [UInt8] {
        var out: [UInt8] = []
        ContentLine.write(name: name, parameters: parameters, value: value, into: &out)
        return out
    }

    @Test func shortLineIsWrittenWithCRLF() {
        #expect(render(name: "SUMMARY", value: "Hi") == "SUMMARY:Hi\r\n".bytes)
    }

    @Test func lineOfExactly75OctetsIsNotFolded() {
        let value = String(repeating: "a", count: 73)
        let out = render(value: value)
        #expect(out == ("X:" + value + "\r\n").bytes)
        #expect(physicalLines(out)?.map(\.count) == [75])
    }

    @Test func lineOf76OctetsFoldsAfter75() {
        let value = String(repeating: "a", count: 74)
        let out = render(value: value)
        #expect(out == ("X:" + String(repeating: "a", count: 73) + "\r\n a\r\n").bytes)
    }

    @Test func continuationLinesHold74OctetsAfterTheirSpace() {
        let value = String(repeating: "b", count: 73 + 74 + 74 + 5)
        let lines = physicalLines(render(value: value)) ?? []
        #expect(lines.map(\.count) == [75, 75, 75, 6])
        #expect(lines.dropFirst().allSatisfy { $0.first == 0x20 })
    }

    @Test func emojiStraddlingOctet75MovesWholeToNextLine() {
        // "X:" + 72 octets puts the emoji's four bytes at octets 75...78.
        let value = String(repeating: "a", count: 72) + "😀" + "z"
        let out = render(value: value)
        let expected = "X:" + String(repeating: "a", count: 72) + "\r\n 😀z\r\n"
        #expect(out == expected.bytes)
        #expect(physicalLines(out)?.map(\.count) == [74, 6])
    }

    @Test func cjkStraddlingOctet75MovesWholeToNextLine() {
        // With 0, 1 or 2 bytes of padding, a three-byte character straddles, ends at or starts at octet 75.
        for padding in 0...2 {
            let value = String(repeating: "a", count: padding) + String(repeating: "漢", count: 30)
            let lines = physicalLines(render(value: value)) ?? []
            #expect(lines.allSatisfy { $0.count <= 75 })
            for line in lines {
                let text = line.first == 0x20 ? Array(line.dropFirst()) : line
                #expect(String(validating: text, as: UTF8.self) != nil, "a line split a character")
            }
            #expect(unfold(render(value: value)) == ("X:" + value + "\r\n").bytes)
        }
    }

    @Test func multiByteCharacterEndingExactlyAtOctet75StaysOnTheLine() {
        let value = String(repeating: "a", count: 69) + "😀" + "b"
        let out = render(value: value)
        #expect(out == ("X:" + String(repeating: "a", count: 69) + "😀\r\n b\r\n").bytes)
    }

    @Test func unfoldingRestoresTheOriginalLine() {
        let value = String(repeating: "Ünïcødé 🎉 漢字 text, ", count: 20)
        let out = render(value: value)
        #expect(physicalLines(out)?.allSatisfy { $0.count <= 75 } == true)
        #expect(unfold(out) == ("X:" + value + "\r\n").bytes)
    }

    @Test func parametersAreWrittenAndQuotedWhenNeeded() {
        #expect(
            render(name: "DTSTART", parameters: [("VALUE", "DATE")], value: "20230227")
                == "DTSTART;VALUE=DATE:20230227\r\n".bytes
        )
        #expect(
            render(name: "X", parameters: [("P", "a,b"), ("Q", "\"x\"")], value: "v")
                == "X;P=\"a,b\";Q=x:v\r\n".bytes
        )
    }

    @Test func rawValueCannotBreakTheLineStructure() {
        #expect(render(value: "a\r\nb\u{0}c\td") == "X:abc\td\r\n".bytes)
    }

    @Test func instanceWriteMatchesStaticWrite() {
        var out: [UInt8] = []
        ContentLine(name: "A", parameters: [.init(name: "B", value: "C")], value: "D").write(into: &out)
        #expect(out == "A;B=C:D\r\n".bytes)
    }
}
