import ICal
import Testing

@Suite struct ComponentRendererTests {
    @Test func allDayEventHasDateStartAndExclusiveEnd() throws {
        let bytes = try #require(ComponentRenderer.event(Fixtures.todo("a", summary: "Pay rent")))
        #expect(
            logicalLines(bytes) == [
                "BEGIN:VEVENT", "UID:a@almanac", "DTSTAMP:20230220T173000Z", "CREATED:20230201T080509Z",
                "LAST-MODIFIED:20230220T173000Z", "SEQUENCE:1", "DTSTART;VALUE=DATE:20230227",
                "DTEND;VALUE=DATE:20230228", "SUMMARY:Pay rent", "TRANSP:TRANSPARENT", "END:VEVENT",
            ]
        )
    }

    /// The domain is written after the uid without building a new string; the line is one
    /// TEXT value, escaped and folded as a whole, equal to a uid that carries the domain itself.
    @Test func aUIDDomainRendersAsIfPartOfTheUID() throws {
        for uid in ["a", #"x,y;z\"#, String(repeating: "0123456789", count: 8)] {
            var split = Fixtures.todo("unused", summary: "S")
            split.uid = uid
            split.uidDomain = "example.org"
            var whole = split
            whole.uid = uid + "@example.org"
            whole.uidDomain = ""
            let bytes = try #require(ComponentRenderer.event(split))
            #expect(bytes == ComponentRenderer.event(whole))
            #expect(ComponentRenderer.todo(split) == ComponentRenderer.todo(whole))
            #expect(textValue(of: "UID", in: bytes) == uid + "@example.org")
        }
    }

    @Test func timedEventHasNoEnd() throws {
        let bytes = try #require(ComponentRenderer.event(Fixtures.todo("t", summary: "Call", due: Fixtures.timed)))
        let lines = logicalLines(bytes)
        #expect(lines.contains("DTSTART:20230227T120000Z"))
        #expect(!lines.contains { $0.hasPrefix("DTEND") })
    }

    @Test func eventIsNilWithoutDueDate() {
        #expect(ComponentRenderer.event(Fixtures.todo("n", summary: "Someday", due: nil)) == nil)
    }

    @Test func invalidAllDayEndIsOmitted() throws {
        let day = ICalDate(year: 2023, month: 3, day: 1)
        let todo = Fixtures.todo("e", summary: "x", due: .allDay(day, endExclusive: day))
        let lines = logicalLines(try #require(ComponentRenderer.event(todo)))
        #expect(lines.contains("DTSTART;VALUE=DATE:20230301"))
        #expect(!lines.contains { $0.hasPrefix("DTEND") })
    }

    @Test func completedEventGetsCheckMarkPrefix() throws {
        let bytes = try #require(ComponentRenderer.event(Fixtures.completedTodo))
        #expect(textValue(of: "SUMMARY", in: bytes) == "✓ Submit report")
        #expect(!logicalLines(bytes).contains { $0.hasPrefix("STATUS") })
    }

    @Test func openTodoNeedsAction() {
        let lines = logicalLines(ComponentRenderer.todo(Fixtures.todo("o", summary: "Open", due: nil)))
        #expect(
            lines == [
                "BEGIN:VTODO", "UID:o@almanac", "DTSTAMP:20230220T173000Z", "CREATED:20230201T080509Z",
                "LAST-MODIFIED:20230220T173000Z", "SEQUENCE:1", "SUMMARY:Open", "STATUS:NEEDS-ACTION", "END:VTODO",
            ]
        )
    }

    @Test func completedTodoHasStatusCompletionAndPercent() {
        let lines = logicalLines(ComponentRenderer.todo(Fixtures.completedTodo))
        #expect(
            lines == [
                "BEGIN:VTODO", "UID:completed@almanac", "DTSTAMP:20230220T173000Z", "CREATED:20230201T080509Z",
                "LAST-MODIFIED:20230220T173000Z", "SEQUENCE:4", "DUE;VALUE=DATE:20230227", "SUMMARY:Submit report",
                "DESCRIPTION:Quarterly numbers", "STATUS:COMPLETED", "COMPLETED:20230226T090000Z",
                "PERCENT-COMPLETE:100", "END:VTODO",
            ]
        )
    }

    @Test func timedTodoHasUTCDue() {
        let lines = logicalLines(ComponentRenderer.todo(Fixtures.todo("d", summary: "x", due: Fixtures.timed)))
        #expect(lines.contains("DUE:20230227T120000Z"))
    }

    @Test func descriptionOnlyWhenNonEmpty() throws {
        let without = try #require(ComponentRenderer.event(Fixtures.todo("a", summary: "s")))
        #expect(!logicalLines(without).contains { $0.hasPrefix("DESCRIPTION") })
        let with = try #require(ComponentRenderer.event(Fixtures.todo("a", summary: "s", description: "d;e")))
        #expect(logicalLines(with).contains(#"DESCRIPTION:d\;e"#))
    }

    @Test func negativeSequenceRendersAsZero() {
        #expect(
            logicalLines(ComponentRenderer.todo(Fixtures.todo("s", summary: "x", sequence: -3))).contains("SEQUENCE:0")
        )
    }

    @Test func renderingIsDeterministic() {
        for todo in Fixtures.all {
            #expect(ComponentRenderer.todo(todo) == ComponentRenderer.todo(todo))
            #expect(ComponentRenderer.event(todo) == ComponentRenderer.event(todo))
        }
    }

    @Test func headerListsPropertiesInOrderAndFooterCloses() {
        let header = CalendarHeader(name: "Work, Home", refreshInterval: ICalDuration(seconds: 900))
        #expect(
            logicalLines(header.render()) == [
                "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Almanac//Almanac 1.0//EN", "CALSCALE:GREGORIAN",
                #"NAME:Work\, Home"#, #"X-WR-CALNAME:Work\, Home"#, "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
                "X-PUBLISHED-TTL:PT15M",
            ]
        )
        #expect(CalendarFooter.bytes == "END:VCALENDAR\r\n".bytes)
    }
}
