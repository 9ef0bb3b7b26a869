/// An access key pair, with a session token for temporary credentials.
///
/// The secret and the token never appear in `description`, `debugDescription` or a mirror (`dump`),
/// so logging a configuration cannot leak them.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key id (`AKIA...`, or `ASIA...` for temporary credentials).
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token of temporary credentials.
    public var sessionToken: String?

    /// Creates credentials; an empty session token counts as none.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken?.isEmpty == true ? nil : sessionToken
    }

    /// The access key id shortened to its first four characters: enough to tell keys apart in a log.
    public var redactedAccessKeyID: String {
        self.accessKeyID.count > 4 ? "\(self.accessKeyID.prefix(4))…" : "…"
    }

    public var description: String {
        let token = self.sessionToken == nil ? "none" : "<redacted>"
        return
            "AWSCredentials(accessKeyID: \(self.redactedAccessKeyID), secretAccessKey: <redacted>, sessionToken: \(token))"
    }

    public var debugDescription: String { self.description }

    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": self.description], displayStyle: .struct)
    }
}
