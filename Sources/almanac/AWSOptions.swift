import ArgumentParser
import Bus
import Foundation
import Logging

/// Where AWS is and who we are there: the standard chain (environment, `~/.aws` files), with overrides.
struct AWSOptions: ParsableArguments {
    @Option(
        name: .customLong("aws-profile"),
        help: "Profile of the shared config and credentials files (env AWS_PROFILE)."
    )
    var profile: String?

    @Option(name: .customLong("aws-region"), help: "Region (env AWS_REGION, AWS_DEFAULT_REGION, or the profile's).")
    var region: String?

    @Option(
        name: .customLong("aws-endpoint-url"),
        help:
            "Endpoint of SNS and SQS, e.g. http://127.0.0.1:4566 for an emulator (env AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS, ...)."
    )
    var endpointURL: String?

    /// The configuration from the process environment, with these options applied over it.
    func configuration() async throws -> AWSConfiguration {
        var environment = ProcessInfo.processInfo.environment
        if let profile { environment["AWS_PROFILE"] = profile }
        if let region { environment["AWS_REGION"] = region }
        if let endpointURL {
            for name in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_SQS"] {
                environment[name] = endpointURL
            }
        }
        return try await AWSConfiguration.load(environment: environment)
    }

    /// Runs `body` with SNS and SQS clients on one HTTP client that is shut down afterwards.
    func withClients<Result>(
        logger: Logger,
        _ body: (SNSClient, SQSClient) async throws -> Result
    ) async throws -> Result {
        let configuration = try await self.configuration()
        logger.debug("AWS", metadata: ["configuration": "\(configuration)"])
        return try await AWSHTTPClient.withClient(logger: logger) { http in
            try await body(
                SNSClient(configuration: configuration, transport: http, logger: logger),
                SQSClient(configuration: configuration, transport: http, logger: logger)
            )
        }
    }
}
