import Foundation
import ICal
import Testing

/// Parses whole calendars with two independent Python parsers (PyPI `icalendar` and `vobject`).
///
/// Requires `python3` with `pip install icalendar vobject`; a missing interpreter or package fails the test.
@Suite struct OracleTests {
    struct Parsed: Decodable {
        struct Component: Decodable, Equatable {
            var kind: String
            var uid: String
            var summary: String
            var description: String
            var start: String
        }
        var icalendar: [Component]
        var vobject: [Component]
        var rawCalendarNames: [String]
        var calendarName: String
        var problems: [String]
    }

    static let script = #"""
        import json, logging, sys, warnings
        try:
            import icalendar, vobject
        except ImportError as error:
            print(f"missing Python package ({error}); run: pip install icalendar vobject", file=sys.stderr)
            sys.exit(3)

        problems = []
        class Collect(logging.Handler):
            def emit(self, record):
                problems.append(f"log {record.levelname}: {record.getMessage()}")
        logging.getLogger().addHandler(Collect(level=logging.WARNING))

        def start(component):
            for name in ("DTSTART", "DUE"):
                if name in component:
                    return component.decoded(name).isoformat() if hasattr(component, "decoded") else ""
            return ""

        data = open(sys.argv[1], "rb").read()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            calendar = icalendar.Calendar.from_ical(data)
            ical = []
            for component in calendar.walk():
                problems.extend(f"icalendar {component.name}: {error}" for error in component.errors)
                if component.name in ("VEVENT", "VTODO"):
                    ical.append({
                        "kind": component.name, "uid": str(component["UID"]), "summary": str(component["SUMMARY"]),
                        "description": str(component.get("DESCRIPTION", "")), "start": start(component),
                    })
            vcalendar = vobject.readOne(data.decode("utf-8"), validate=True)
            vob = []
            for component in vcalendar.getChildren():
                if component.name in ("VEVENT", "VTODO"):
                    when = getattr(component, "dtstart", None) or getattr(component, "due", None)
                    vob.append({
                        "kind": component.name, "uid": component.uid.value, "summary": component.summary.value,
                        "description": component.description.value if hasattr(component, "description") else "",
                        "start": when.value.isoformat() if when else "",
                    })
            raw_names = [str(calendar.get("X-WR-CALNAME")), str(calendar.get("NAME"))]
            name = vcalendar.x_wr_calname.value
        problems.extend(f"warning: {w.category.__name__}: {w.message}" for w in caught)
        print(json.dumps({"icalendar": ical, "vobject": vob, "rawCalendarNames": raw_names, "calendarName": name, "problems": problems}))
        """#

    /// Runs the script on `calendar` and returns what both parsers saw.
    static func parse(_ calendar: [UInt8]) throws -> Parsed {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ical-oracle-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("calendar.ics")
        let output = directory.appendingPathComponent("stdout")
        let errors = directory.appendingPathComponent("stderr")
        try Data(calendar).write(to: input)
        try Data().write(to: output)
        try Data().write(to: errors)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, input.path]
        // Files, not pipes: a full pipe buffer would block python while we wait for it to exit.
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()

        let stderr = String(decoding: try Data(contentsOf: errors), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            let hint =
                process.terminationStatus == 127
                ? "python3 was not found on PATH" : "the parser script failed (exit \(process.terminationStatus))"
            throw OracleFailure(message: "\(hint); install python3 and `pip install icalendar vobject`.\n\(stderr)")
        }
        return try JSONDecoder().decode(Parsed.self, from: Data(contentsOf: output))
    }

    struct OracleFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func expectAgreement(_ parsed: Parsed, expected: [Parsed.Component]) {
        #expect(parsed.problems == [], "parsers reported problems")
        #expect(parsed.icalendar.count == expected.count)
        #expect(parsed.vobject.count == expected.count)
        for (index, component) in expected.enumerated() {
            if index < parsed.icalendar.count { #expect(parsed.icalendar[index] == component, "icalendar") }
            if index < parsed.vobject.count { #expect(parsed.vobject[index] == component, "vobject") }
        }
        // icalendar 7 keeps NAME and X-WR-CALNAME as unknown (raw) properties, so it shows the escaped TEXT.
        #expect(parsed.rawCalendarNames == Array(repeating: TextValue.escape(Fixtures.header.name), count: 2))
        #expect(parsed.calendarName == Fixtures.header.name)
    }

    static func start(of todo: TodoFields) -> String {
        switch todo.due {
        case .allDay(let date, _):
            return String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
        case .at(let moment):
            return String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d+00:00",
                moment.year,
                moment.month,
                moment.day,
                moment.hour,
                moment.minute,
                moment.second
            )
        case nil:
            return ""
        }
    }

    @Test func eventCalendarParsesAndRoundTrips() throws {
        let parsed = try Self.parse(Fixtures.eventCalendar())
        let expected = Fixtures.all.filter { $0.due != nil }.map { todo in
            Parsed.Component(
                kind: "VEVENT",
                uid: todo.uid,
                summary: (todo.completedAt == nil ? "" : "✓ ") + expectedRoundTrip(todo.summary),
                description: expectedRoundTrip(todo.description),
                start: Self.start(of: todo)
            )
        }
        #expect(expected.count == 5)
        Self.expectAgreement(parsed, expected: expected)
    }

    @Test func todoCalendarParsesAndRoundTrips() throws {
        let parsed = try Self.parse(Fixtures.todoCalendar())
        let expected = Fixtures.all.map { todo in
            Parsed.Component(
                kind: "VTODO",
                uid: todo.uid,
                summary: expectedRoundTrip(todo.summary),
                description: expectedRoundTrip(todo.description),
                start: Self.start(of: todo)
            )
        }
        Self.expectAgreement(parsed, expected: expected)
    }

    @Test func randomTitlesRoundTripThroughBothParsers() throws {
        var generator = SplitMix64(seed: 42)
        let todos = (0..<60).map { index in
            Fixtures.todo(
                "r\(index)",
                summary: RenderingPropertyTests.randomText(using: &generator),
                description: RenderingPropertyTests.randomText(using: &generator),
                due: Fixtures.timed
            )
        }
        let calendar =
            Fixtures.header.render() + todos.compactMap(ComponentRenderer.event).joined() + CalendarFooter.bytes
        let expected = todos.map { todo in
            Parsed.Component(
                kind: "VEVENT",
                uid: todo.uid,
                summary: expectedRoundTrip(todo.summary),
                description: expectedRoundTrip(todo.description),
                start: Self.start(of: todo)
            )
        }
        Self.expectAgreement(try Self.parse(calendar), expected: expected)
    }
}
