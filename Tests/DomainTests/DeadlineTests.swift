import Testing

@testable import Domain

@Suite("Deadlines")
struct DeadlineTests {
    @Test(arguments: [
        ("2023-02-27", 2023, 2, 27, nil as Int?, nil as Int?),
        ("2023-02-27T00:00:00", 2023, 2, 27, 0, nil),
        ("2023-02-27 10:30", 2023, 2, 27, 37_800, nil),
        ("2023-02-27T10:30:15.5", 2023, 2, 27, 37_815, nil),
        ("2023-02-27T10:30:15Z", 2023, 2, 27, 37_815, 0),
        ("2023-02-27T10:30:15+02:00", 2023, 2, 27, 37_815, 7200),
        ("2023-02-27T10:30:15-0530", 2023, 2, 27, 37_815, -19_800),
        ("2024-02-29T23:59:59", 2024, 2, 29, 86_399, nil),
    ])
    func parsesAcceptedForms(raw: String, year: Int, month: Int, day: Int, seconds: Int?, offset: Int?) throws {
        let deadline = try Deadline(parsing: raw)
        #expect(deadline.raw == raw)
        #expect(deadline.date == CivilDate(year: year, month: month, day: day))
        #expect(deadline.time?.secondsIntoDay == seconds)
        #expect(deadline.utcOffsetSeconds == offset)
    }

    @Test(arguments: [
        "", "tomorrow", "2023-2-27", "2023-02-30", "2023-13-01", "2023-02-27T24:00:00", "2023-02-27T10:60",
        "2023-02-27T10:30:00+25:00", "2023-02-27T10:30:00 extra", "2023-02-27T", "0000-01-01", "2023-02-27T10:30:00.",
    ])
    func rejectsEverythingElse(raw: String) {
        #expect(throws: ValidationError.self) { try Deadline(parsing: raw) }
    }

    @Test func allDayMeansDateOnlyOrMidnight() throws {
        #expect(try Deadline(parsing: "2023-02-27").isAllDay)
        #expect(try Deadline(parsing: "2023-02-27T00:00:00").isAllDay)
        #expect(try !Deadline(parsing: "2023-02-27T00:00:01").isAllDay)
    }

    @Test func absoluteInstantAppliesTheOffset() throws {
        let deadline = try Deadline(parsing: "1970-01-02T02:00:00+02:00")
        #expect(deadline.absoluteInstant == Timestamp(secondsSinceEpoch: 86_400))
        #expect(try Deadline(parsing: "2023-02-27T10:00:00").absoluteInstant == nil)
    }
}

@Suite("Civil dates and timestamps")
struct CivilDateTests {
    @Test func daysRoundTripAcrossCenturies() {
        for days in stride(from: -800_000, through: 2_900_000, by: 997) {
            let date = CivilDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
            #expect(
                CivilDate.isValid(year: date.year, month: date.month, day: date.day) || date.year < 1
                    || date.year > 9999
            )
        }
        #expect(CivilDate(daysSinceEpoch: 0) == CivilDate(year: 1970, month: 1, day: 1))
        #expect(CivilDate(year: 2000, month: 2, day: 28).adding(days: 1) == CivilDate(year: 2000, month: 2, day: 29))
        #expect(CivilDate(year: 1900, month: 2, day: 28).adding(days: 1) == CivilDate(year: 1900, month: 3, day: 1))
    }

    @Test func timestampFormatsInUTC() {
        #expect(Timestamp(microseconds: 0).iso8601 == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microseconds: 1_677_456_123_456_789).iso8601 == "2023-02-27T00:02:03.456789Z")
        #expect(Timestamp(microseconds: -1).iso8601 == "1969-12-31T23:59:59.999999Z")
    }
}
