import Foundation

/// How many messages a queue holds, as SQS approximates them (`GetQueueAttributes`).
public struct SQSQueueDepth: Sendable, Hashable {
    /// `ApproximateNumberOfMessages`: waiting to be received.
    public var visible: Int
    /// `ApproximateNumberOfMessagesNotVisible`: received, neither deleted nor returned yet.
    public var inFlight: Int
    /// The dead-letter queue's `RedrivePolicy.deadLetterTargetArn`, if the queue names one.
    public var deadLetterQueueARN: String?

    public init(visible: Int, inFlight: Int, deadLetterQueueARN: String? = nil) {
        self.visible = visible
        self.inFlight = inFlight
        self.deadLetterQueueARN = deadLetterQueueARN
    }
}

extension SQSClient {
    /// The queue's depth and the dead-letter queue its redrive policy names, in one request.
    public func queueDepth(queueURL: String) async throws -> SQSQueueDepth {
        let attributes = try await self.getQueueAttributes(
            queueURL: queueURL,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "RedrivePolicy"]
        )
        return SQSQueueDepth(
            visible: Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0,
            inFlight: Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0,
            deadLetterQueueARN: attributes["RedrivePolicy"].flatMap(SQSQueueAttributes.deadLetterQueueARN)
        )
    }

    /// The URL of the queue `arn` (`arn:aws:sqs:region:account:name`) names; nil for another ARN.
    public func queueURL(arn: String) async throws -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs", !parts[5].isEmpty else { return nil }
        return try await self.getQueueURL(
            name: String(parts[5]),
            ownerAccountID: parts[4].isEmpty ? nil : String(parts[4])
        )
    }
}

extension SQSQueueAttributes {
    /// The `deadLetterTargetArn` of a `RedrivePolicy` value; nil if it names none.
    public static func deadLetterQueueARN(redrivePolicy: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(redrivePolicy.utf8)) as? [String: Any],
            let arn = object["deadLetterTargetArn"] as? String, !arn.isEmpty
        else { return nil }
        return arn
    }
}
