/// A signed length of time, rendered as an RFC 5545 dur-value such as PT1H, PT15M, P1D or PT1H30M.
public struct ICalDuration: Sendable, Hashable {
    public var seconds: Int

    /// Creates a duration of `seconds` (negative values render with a leading `-`).
    public init(seconds: Int) {
        self.seconds = seconds
    }

    /// The dur-value form, e.g. `PT1H30M`.
    public var rendered: String {
        var bytes: [UInt8] = []
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // Days rather than weeks (P7D, not P1W) because dur-week cannot combine with other units.
    // The dur-time grammar only allows H, H M, H M S, M, M S or S, so an hour plus seconds needs an explicit 0M.
    func write(into out: inout [UInt8]) {
        if seconds < 0 { out.append(0x2D) }
        // The magnitude, not negation, so that Int.min cannot trap; every part below then fits in Int.
        let magnitude = seconds.magnitude
        let days = Int(magnitude / 86_400)
        let hours = Int(magnitude % 86_400 / 3_600)
        let minutes = Int(magnitude % 3_600 / 60)
        let secs = Int(magnitude % 60)
        out.append(0x50)  // P
        if days > 0 {
            out.appendDecimal(days)
            out.append(0x44)  // D
        }
        guard hours > 0 || minutes > 0 || secs > 0 else {
            if days == 0 { out.appendLiteral("T0S") }
            return
        }
        out.append(0x54)  // T
        if hours > 0 {
            out.appendDecimal(hours)
            out.append(0x48)  // H
        }
        if minutes > 0 || (hours > 0 && secs > 0) {
            out.appendDecimal(minutes)
            out.append(0x4D)  // M
        }
        if secs > 0 {
            out.appendDecimal(secs)
            out.append(0x53)  // S
        }
    }
}
