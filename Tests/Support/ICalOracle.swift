import Foundation

/// Parses a calendar with the independent Python parsers `icalendar` and `vobject` (installed by
/// scripts/test) and returns the SUMMARY values each one read. Any warning or error fails.
public enum ICalOracle {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let script = #"""
        import sys, json, warnings
        warnings.simplefilter("error")
        data = open(sys.argv[1], "rb").read()
        import icalendar, vobject
        cal = icalendar.Calendar.from_ical(data)
        a = [str(c.get("SUMMARY")) for c in cal.walk() if c.name in ("VEVENT", "VTODO")]
        v = vobject.readOne(data.decode("utf-8"))
        b = [c.summary.value for c in v.getChildren() if c.name in ("VEVENT", "VTODO")]
        print(json.dumps({"icalendar": a, "vobject": b}))
        """#

    /// Returns (icalendar summaries, vobject summaries).
    public static func summaries(of calendar: [UInt8]) throws -> (icalendar: [String], vobject: [String]) {
        let directory = FileManager.default.temporaryDirectory
        let file = directory.appendingPathComponent("oracle-\(UUID().uuidString).ics")
        try Data(calendar).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, file.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description:
                    "python parsers rejected the calendar (pip install icalendar vobject?): \(String(decoding: err, as: UTF8.self))"
            )
        }
        struct Result: Decodable {
            var icalendar: [String]
            var vobject: [String]
        }
        let result = try JSONDecoder().decode(Result.self, from: out)
        return (result.icalendar, result.vobject)
    }
}
