/// An AWS service this package talks to.
public struct AWSService: Sendable, Hashable, CustomStringConvertible {
    /// The name in the credential scope and the default host (`sns`, `sqs`).
    public var signingName: String
    /// The suffix of its `AWS_ENDPOINT_URL_<ID>` variable (`SNS`, `SQS`).
    public var environmentID: String

    /// Simple Notification Service.
    public static let sns = AWSService(signingName: "sns", environmentID: "SNS")
    /// Simple Queue Service.
    public static let sqs = AWSService(signingName: "sqs", environmentID: "SQS")

    /// The public endpoint in `region`: `https://<service>.<region>.amazonaws.com` (`.com.cn` in China).
    public func defaultEndpoint(region: String) -> AWSEndpoint {
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return AWSEndpoint(scheme: "https", host: "\(self.signingName).\(region).\(suffix)")
    }

    public var description: String { self.signingName }
}
