import Bus
import Foundation
import Logging

/// The moto_server that `scripts/test` starts, and what the CLI needs to use it.
enum CLIMoto {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "ALMANAC_TEST_AWS_ENDPOINT is not set: run the tests with scripts/test, which starts moto_server "
                + "(by hand: moto_server -H 127.0.0.1 -p 54340 and ALMANAC_TEST_AWS_ENDPOINT=http://127.0.0.1:54340)"
        }
    }

    static let logger: Logger = {
        var logger = Logger(label: "cli-tests")
        logger.logLevel = .critical
        return logger
    }()

    static func endpointURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["ALMANAC_TEST_AWS_ENDPOINT"], !url.isEmpty else {
            throw Missing()
        }
        return url
    }

    /// The child's environment: moto for both services, dummy credentials, quiet logs.
    static func environment() throws -> [String: String] {
        [
            "AWS_ENDPOINT_URL": try self.endpointURL(), "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_PROFILE": "",
            "AWS_SESSION_TOKEN": "", "LOG_LEVEL": "error",
        ]
    }

    /// Runs `body` with an SQS (and SNS) client on moto, to look at what the CLI did.
    static func withClients<Result>(_ body: (SNSClient, SQSClient) async throws -> Result) async throws -> Result {
        let environment = ProcessInfo.processInfo.environment.merging(try self.environment()) { $1 }
        let configuration = try AWSConfiguration.resolve(
            environment: environment,
            configFile: nil,
            credentialsFile: nil
        )
        return try await AWSHTTPClient.withClient(logger: self.logger) { http in
            try await body(
                SNSClient(configuration: configuration, transport: http, logger: self.logger),
                SQSClient(configuration: configuration, transport: http, logger: self.logger)
            )
        }
    }

    static func uniqueName(_ prefix: String, fifo: Bool = false) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(13).lowercased())" + (fifo ? ".fifo" : "")
    }

    /// Runs `almanac arguments...` to the end against moto.
    static func almanac(_ arguments: String...) async throws -> AlmanacProcess.Outcome {
        try await AlmanacProcess.run(arguments, environment: try self.environment())
    }
}

/// One printed line of `almanac queue receive`: `[HH:MM:SS.mmm] <client>: <body>`.
struct ReceivedLine: Hashable {
    var time: String
    var client: String
    var body: String

    init?(_ line: Substring) {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]"),
            let colon = line[close...].range(of: ": ")
        else { return nil }
        self.time = String(line[line.index(after: line.startIndex)..<close])
        self.client = String(line[line.index(close, offsetBy: 2)..<colon.lowerBound])
        self.body = String(line[colon.upperBound...])
    }

    static func parse(_ output: String) -> [ReceivedLine] {
        output.split(separator: "\n").compactMap(ReceivedLine.init)
    }
}
