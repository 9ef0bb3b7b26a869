import ICal
import Testing

@Suite struct DateValuesTests {
    @Test func datesAreZeroPadded() {
        #expect(ICalDate(year: 2023, month: 2, day: 7).rendered == "20230207")
        #expect(ICalDate(year: 5, month: 1, day: 1).rendered == "00050101")
        #expect(ICalDate(year: 999, month: 12, day: 31).rendered == "09991231")
    }

    @Test func dateTimesAreZeroPaddedUTC() {
        #expect(
            ICalDateTime(year: 2023, month: 2, day: 27, hour: 12, minute: 0, second: 0).rendered
                == "20230227T120000Z"
        )
        #expect(
            ICalDateTime(year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5).rendered
                == "20240102T030405Z"
        )
        #expect(
            ICalDateTime(year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 60).rendered
                == "19991231T235960Z"
        )
    }

    @Test func outOfRangeFieldsAreClampedToAValidForm() {
        #expect(ICalDate(year: 12345, month: 13, day: 0).rendered == "99991201")
        #expect(
            ICalDateTime(year: -1, month: 0, day: 32, hour: 24, minute: -1, second: 61).rendered
                == "00000131T230060Z"
        )
    }

    @Test func datesOrderChronologically() {
        #expect(ICalDate(year: 2023, month: 2, day: 27) < ICalDate(year: 2023, month: 2, day: 28))
        #expect(ICalDate(year: 2022, month: 12, day: 31) < ICalDate(year: 2023, month: 1, day: 1))
        #expect(
            ICalDateTime(year: 2023, month: 1, day: 1, hour: 0, minute: 0, second: 1)
                > ICalDateTime(year: 2023, month: 1, day: 1, hour: 0, minute: 0, second: 0)
        )
    }
}

@Suite struct ICalDurationTests {
    @Test(arguments: [
        (0, "PT0S"), (1, "PT1S"), (59, "PT59S"), (60, "PT1M"), (900, "PT15M"), (3_600, "PT1H"),
        (5_400, "PT1H30M"), (3_601, "PT1H0M1S"), (3_661, "PT1H1M1S"), (61, "PT1M1S"), (86_400, "P1D"),
        (90_000, "P1DT1H"), (86_401, "P1DT1S"), (604_800, "P7D"), (-900, "-PT15M"), (-86_400, "-P1D"),
    ])
    func rendersRFC5545DurValues(seconds: Int, expected: String) {
        #expect(ICalDuration(seconds: seconds).rendered == expected)
    }

    @Test func extremeValuesDoNotTrap() {
        #expect(ICalDuration(seconds: .min).rendered.hasPrefix("-P"))
        #expect(ICalDuration(seconds: .max).rendered.hasPrefix("P"))
    }
}
