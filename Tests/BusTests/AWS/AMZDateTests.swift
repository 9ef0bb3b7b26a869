import Foundation
import Testing

@testable import Bus

@Suite("SigV4 timestamps")
struct AMZDateTests {
    @Test(
        "format whole UTC seconds as yyyyMMddTHHmmssZ",
        arguments: [
            (0.0, "19700101T000000Z"), (951_782_400.0, "20000229T000000Z"), (1_795_610_096.9, "20261125T123456Z"),
            (4_102_444_799.0, "20991231T235959Z"), (-1.0, "19691231T235959Z"),
        ]
    )
    func format(seconds: Double, expected: String) {
        let date = AMZDate(Date(timeIntervalSince1970: seconds))
        #expect(date.dateTime == expected)
        #expect(date.date == String(expected.prefix(8)))
    }
}
