import Foundation

/// Builders of SQS queue attribute values that are JSON documents.
public enum SQSQueueAttributes {
    /// `RedrivePolicy`: after `maxReceiveCount` receives, a message moves to the dead-letter queue.
    public static func redrivePolicy(deadLetterQueueARN: String, maxReceiveCount: Int) -> String {
        json(["deadLetterTargetArn": deadLetterQueueARN, "maxReceiveCount": String(maxReceiveCount)])
    }

    /// `Policy` letting SNS topic `topicARN` (and only it, by `aws:SourceArn`) send to queue `queueARN`.
    public static func allowTopicPolicy(queueARN: String, topicARN: String) -> String {
        json([
            "Version": "2012-10-17",
            "Statement": [
                [
                    "Sid": "AllowAlmanacTopic",
                    "Effect": "Allow",
                    "Principal": ["Service": "sns.amazonaws.com"],
                    "Action": "sqs:SendMessage",
                    "Resource": queueARN,
                    "Condition": ["ArnEquals": ["aws:SourceArn": topicARN]],
                ]
            ],
        ])
    }

    private static func json(_ object: [String: Any]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
