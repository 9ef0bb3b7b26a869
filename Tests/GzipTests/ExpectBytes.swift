import Testing

/// Expects equal bytes, and reports a mismatch by its lengths and first differing offset rather than by
/// printing arrays of megabytes.
func expectSameBytes(
    _ actual: [UInt8],
    _ expected: [UInt8],
    _ comment: Comment? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual != expected else { return }
    let firstDifference = zip(actual, expected).prefix { $0 == $1 }.count
    var message =
        "bytes differ: \(actual.count) bytes, expected \(expected.count); first difference at \(firstDifference)"
    if let comment { message += " (\(comment.rawValue))" }
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
}
