import Foundation

/// The JSON shapes of the SQS actions this client uses (names as in the AWS API).
enum SQSWire {
    struct Attribute: Codable {
        var DataType: String
        var StringValue: String?
        var BinaryValue: String?

        init(_ attribute: AWSMessageAttribute) {
            self.DataType = attribute.dataType
            self.StringValue = attribute.stringValue
            self.BinaryValue = attribute.binaryValue.map { Data($0).base64EncodedString() }
        }

        var attribute: AWSMessageAttribute {
            AWSMessageAttribute(
                dataType: self.DataType,
                stringValue: self.StringValue,
                binaryValue: self.BinaryValue.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
            )
        }
    }

    struct QueueName: Encodable {
        var QueueName: String
        var QueueOwnerAWSAccountId: String?
    }

    struct CreateQueue: Encodable {
        var QueueName: String
        var Attributes: [String: String]?
    }

    struct QueueURLOutput: Decodable { var QueueUrl: String }

    struct QueueURL: Encodable { var QueueUrl: String }

    struct GetQueueAttributes: Encodable {
        var QueueUrl: String
        var AttributeNames: [String]
    }

    struct AttributesOutput: Decodable { var Attributes: [String: String]? }

    struct SetQueueAttributes: Encodable {
        var QueueUrl: String
        var Attributes: [String: String]
    }

    struct SendMessage: Encodable {
        var QueueUrl: String
        var MessageBody: String
        var MessageAttributes: [String: Attribute]?
        var MessageGroupId: String?
        var MessageDeduplicationId: String?
        var DelaySeconds: Int?

        init(queueURL: String, _ entry: SQSSendEntry) {
            self.QueueUrl = queueURL
            self.MessageBody = entry.body
            self.MessageAttributes = entry.attributes.isEmpty ? nil : entry.attributes.mapValues(Attribute.init)
            self.MessageGroupId = entry.messageGroupID
            self.MessageDeduplicationId = entry.deduplicationID
            self.DelaySeconds = entry.delaySeconds
        }
    }

    struct SendMessageOutput: Decodable {
        var MessageId: String
        var SequenceNumber: String?
    }

    struct SendMessageBatchEntry: Encodable {
        var Id: String
        var MessageBody: String
        var MessageAttributes: [String: Attribute]?
        var MessageGroupId: String?
        var MessageDeduplicationId: String?
        var DelaySeconds: Int?

        init(id: String, _ entry: SQSSendEntry) {
            self.Id = id
            self.MessageBody = entry.body
            self.MessageAttributes = entry.attributes.isEmpty ? nil : entry.attributes.mapValues(Attribute.init)
            self.MessageGroupId = entry.messageGroupID
            self.MessageDeduplicationId = entry.deduplicationID
            self.DelaySeconds = entry.delaySeconds
        }
    }

    struct Batch<Entry: Encodable>: Encodable {
        var QueueUrl: String
        var Entries: [Entry]
    }

    struct BatchOutput: Decodable {
        struct Success: Decodable { var Id: String }
        struct Failure: Decodable {
            var Id: String
            var SenderFault: Bool?
            var Code: String
            var Message: String?
        }
        var Successful: [Success]?
        var Failed: [Failure]?

        var result: AWSBatchResult {
            AWSBatchResult(
                successful: (self.Successful ?? []).map(\.Id),
                failed: (self.Failed ?? []).map {
                    AWSBatchFailure(
                        id: $0.Id,
                        code: $0.Code,
                        message: $0.Message ?? "",
                        senderFault: $0.SenderFault ?? false
                    )
                }
            )
        }
    }

    struct ReceiveMessage: Encodable {
        var QueueUrl: String
        var MaxNumberOfMessages: Int
        var WaitTimeSeconds: Int
        var VisibilityTimeout: Int?
        var MessageSystemAttributeNames: [String]
        var MessageAttributeNames: [String]
    }

    struct ReceiveMessageOutput: Decodable {
        struct Message: Decodable {
            var MessageId: String
            var ReceiptHandle: String
            var Body: String?
            var Attributes: [String: String]?
            var MessageAttributes: [String: Attribute]?
        }
        var Messages: [Message]?
    }

    struct DeleteMessageBatchEntry: Encodable {
        var Id: String
        var ReceiptHandle: String
    }

    struct DeleteMessage: Encodable {
        var QueueUrl: String
        var ReceiptHandle: String
    }

    struct ChangeMessageVisibility: Encodable {
        var QueueUrl: String
        var ReceiptHandle: String
        var VisibilityTimeout: Int
    }

    struct ChangeMessageVisibilityBatchEntry: Encodable {
        var Id: String
        var ReceiptHandle: String
        var VisibilityTimeout: Int
    }
}
