/// Who the clients are (credentials), where (region) and which endpoints they call.
///
/// Usually resolved from the standard chain with `AWSConfiguration.load(environment:)`.
public struct AWSConfiguration: Sendable, CustomStringConvertible {
    /// The key pair to sign with.
    public var credentials: AWSCredentials
    /// The region, e.g. `us-east-1`.
    public var region: String
    /// Endpoints that replace a service's public one (a local emulator, a VPC endpoint).
    public var endpointOverrides: [AWSService: AWSEndpoint]
    /// Where the credentials came from, for logs: `environment`, `credentials file [p]` or `config file [p]`.
    public var credentialSource: String

    /// Creates a configuration.
    public init(
        credentials: AWSCredentials,
        region: String,
        endpointOverrides: [AWSService: AWSEndpoint] = [:],
        credentialSource: String = "explicit"
    ) {
        self.credentials = credentials
        self.region = region
        self.endpointOverrides = endpointOverrides
        self.credentialSource = credentialSource
    }

    /// The endpoint `service` is called at: its override or its public endpoint in `region`.
    public func endpoint(for service: AWSService) -> AWSEndpoint {
        self.endpointOverrides[service] ?? service.defaultEndpoint(region: self.region)
    }

    public var description: String {
        let endpoints = self.endpointOverrides.keys.sorted { $0.signingName < $1.signingName }
            .map { "\($0)=\(self.endpointOverrides[$0]!)" }
        return "AWSConfiguration(region: \(self.region), credentials: \(self.credentials) from \(self.credentialSource)"
            + (endpoints.isEmpty ? ")" : ", endpoints: \(endpoints.joined(separator: ", ")))")
    }
}
