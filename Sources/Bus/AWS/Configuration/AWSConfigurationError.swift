/// The standard chain found no usable configuration.
public struct AWSConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is missing or wrong, naming where it looked (never a secret).
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { "AWS configuration: \(self.message)" }
}
