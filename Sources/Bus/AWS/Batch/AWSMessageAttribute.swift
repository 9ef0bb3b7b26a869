/// A typed message attribute of SNS and SQS (`String`, `Number` or `Binary`, optionally `.custom`).
public struct AWSMessageAttribute: Sendable, Hashable {
    /// `String`, `Number`, `Binary`, or one of them with a custom suffix (`String.uuid`).
    public var dataType: String
    /// The value of a `String` or `Number` attribute.
    public var stringValue: String?
    /// The value of a `Binary` attribute.
    public var binaryValue: [UInt8]?

    /// Creates an attribute.
    public init(dataType: String, stringValue: String? = nil, binaryValue: [UInt8]? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    /// A `String` attribute.
    public static func string(_ value: String) -> AWSMessageAttribute {
        AWSMessageAttribute(dataType: "String", stringValue: value)
    }
}
