import Foundation
import ICal
import Testing

/// Byte-for-byte comparisons with reviewed renderings in Golden/.
///
/// After an intended change, run with ICAL_RECORD_GOLDEN=1 to rewrite the files, then review the diff.
@Suite struct GoldenTests {
    static let cases: [(String, [UInt8])] = [
        ("punctuation-event", ComponentRenderer.event(Fixtures.punctuation) ?? []),
        ("newlines-timed-event", ComponentRenderer.event(Fixtures.newlines) ?? []),
        ("emoji-event", ComponentRenderer.event(Fixtures.emoji) ?? []),
        ("cjk-todo", ComponentRenderer.todo(Fixtures.cjk)),
        ("long-title-todo", ComponentRenderer.todo(Fixtures.long)),
        ("completed-event", ComponentRenderer.event(Fixtures.completedTodo) ?? []),
        ("completed-todo", ComponentRenderer.todo(Fixtures.completedTodo)),
        ("event-calendar", Fixtures.eventCalendar()),
        ("todo-calendar", Fixtures.todoCalendar()),
    ]

    @Test(arguments: cases.map(\.0))
    func matchesGolden(name: String) throws {
        let rendered = try #require(Self.cases.first { $0.0 == name }).1
        if ProcessInfo.processInfo.environment["ICAL_RECORD_GOLDEN"] == "1" {
            let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
            try Data(rendered).write(to: directory.appendingPathComponent("\(name).ics"))
            return
        }
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "ics", subdirectory: "Golden"),
            "missing Golden/\(name).ics"
        )
        let expected = try [UInt8](Data(contentsOf: url))
        #expect(rendered == expected, "rendering differs from Golden/\(name).ics")
    }

    @Test func goldenFilesKeepTheirCRLF() throws {
        for (name, _) in Self.cases {
            let url = try #require(Bundle.module.url(forResource: name, withExtension: "ics", subdirectory: "Golden"))
            let bytes = try [UInt8](Data(contentsOf: url))
            #expect(physicalLines(bytes) != nil, "Golden/\(name).ics lost its CRLF line ends")
        }
    }
}
