import ICal

/// Sample todos shared by the golden and oracle tests; each one stresses one rendering rule.
enum Fixtures {
    static let created = ICalDateTime(year: 2023, month: 2, day: 1, hour: 8, minute: 5, second: 9)
    static let modified = ICalDateTime(year: 2023, month: 2, day: 20, hour: 17, minute: 30, second: 0)
    static let completed = ICalDateTime(year: 2023, month: 2, day: 26, hour: 9, minute: 0, second: 0)
    static let allDay = ComponentTiming.allDay(
        ICalDate(year: 2023, month: 2, day: 27),
        endExclusive: ICalDate(year: 2023, month: 2, day: 28)
    )
    static let timed = ComponentTiming.at(ICalDateTime(year: 2023, month: 2, day: 27, hour: 12, minute: 0, second: 0))

    static func todo(
        _ id: String,
        summary: String,
        description: String = "",
        sequence: Int = 1,
        completedAt: ICalDateTime? = nil,
        due: ComponentTiming? = allDay
    ) -> TodoFields {
        TodoFields(
            uid: "\(id)@almanac",
            summary: summary,
            description: description,
            created: created,
            lastModified: modified,
            sequence: sequence,
            completedAt: completedAt,
            due: due
        )
    }

    static let punctuation = todo(
        "punctuation",
        summary: #"Buy milk, eggs; bread \ butter"#,
        description: #"C:\temp; a,b\n"#
    )
    static let newlines = todo(
        "newlines",
        summary: "Line one\nLine two\r\nLine three\rfour",
        description: "Tab\there\u{7}bell",
        due: timed
    )
    static let emoji = todo(
        "emoji",
        summary: "🎉 Party planning 👩‍👩‍👧 with the family and friends😀🎂🎈🥳 done, all of them",
        due: timed
    )
    static let cjk = todo(
        "cjk",
        summary: "会議の準備をする：資料を印刷して、会議室を予約し、参加者全員に連絡すること",
        description: "日本語の説明文。漢字とひらがなとカタカナ。"
    )
    static let long = todo(
        "long",
        summary: String(String(repeating: "Long title 0123456789 ", count: 10).prefix(200)),
        description: String(repeating: "Lorem ipsum dolor sit amet. ", count: 10),
        due: nil
    )
    static let completedTodo = todo(
        "completed",
        summary: "Submit report",
        description: "Quarterly numbers",
        sequence: 4,
        completedAt: completed,
        due: allDay
    )

    /// Every fixture, in the order the calendar goldens list them.
    static let all = [punctuation, newlines, emoji, cjk, long, completedTodo]

    static let header = CalendarHeader(name: "Almanac: Work, Home; Misc", refreshInterval: ICalDuration(seconds: 3_600))

    static func eventCalendar() -> [UInt8] {
        header.render() + all.compactMap(ComponentRenderer.event).joined() + CalendarFooter.bytes
    }

    static func todoCalendar() -> [UInt8] {
        header.render() + all.map(ComponentRenderer.todo).joined() + CalendarFooter.bytes
    }
}
