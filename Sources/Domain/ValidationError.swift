/// A command or value a client sent that cannot be accepted; the message is shown to the client.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
