import Foundation
import NIOPosix

extension AWSConfiguration {
    /// Resolves the configuration from the standard chain, reading the shared files off the
    /// cooperative thread pool.
    ///
    /// See `resolve(environment:configFile:credentialsFile:services:)` for the order; the files are
    /// `AWS_CONFIG_FILE` (default `~/.aws/config`) and `AWS_SHARED_CREDENTIALS_FILE` (default
    /// `~/.aws/credentials`), and a missing file counts as empty.
    public static func load(
        environment: [String: String],
        services: [AWSService] = [.sns, .sqs]
    ) async throws -> AWSConfiguration {
        let paths = ProfileFilePaths(environment: environment)
        let (config, credentials) = try await NIOThreadPool.singleton.runIfActive {
            (Self.readProfileFile(paths.config), Self.readProfileFile(paths.credentials))
        }
        return try Self.resolve(
            environment: environment,
            configFile: config,
            credentialsFile: credentials,
            services: services
        )
    }

    /// Resolves the configuration from `environment` and the parsed shared files, without I/O.
    ///
    /// - Profile: `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`.
    /// - Credentials: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), else the
    ///   profile's `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` in the
    ///   credentials file, else in the config file.
    /// - Region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region` in the config file.
    /// - Endpoint of each service: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `AWS_ENDPOINT_URL_SQS`), else
    ///   `AWS_ENDPOINT_URL`, else the profile's `endpoint_url`; none of them if
    ///   `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
    public static func resolve(
        environment: [String: String],
        configFile: AWSProfileFile?,
        credentialsFile: AWSProfileFile?,
        services: [AWSService] = [.sns, .sqs]
    ) throws -> AWSConfiguration {
        func env(_ name: String) -> String? {
            guard let value = environment[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
                return nil
            }
            return value
        }
        let profileName = env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
        let configProfile = configFile?.configProfile(profileName)
        let credentialsProfile = credentialsFile?.credentialsProfile(profileName)

        let credentials: AWSCredentials
        let source: String
        if env("AWS_ACCESS_KEY_ID") != nil || env("AWS_SECRET_ACCESS_KEY") != nil {
            guard let keyID = env("AWS_ACCESS_KEY_ID"), let secret = env("AWS_SECRET_ACCESS_KEY") else {
                throw AWSConfigurationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
            }
            credentials = AWSCredentials(
                accessKeyID: keyID,
                secretAccessKey: secret,
                sessionToken: env("AWS_SESSION_TOKEN") ?? env("AWS_SECURITY_TOKEN")
            )
            source = "environment"
        } else if let found = try Self.credentials(in: credentialsProfile, "credentials file [\(profileName)]") {
            (credentials, source) = (found, "credentials file [\(profileName)]")
        } else if let found = try Self.credentials(in: configProfile, "config file profile \(profileName)") {
            (credentials, source) = (found, "config file profile \(profileName)")
        } else {
            let unsupported = [
                "role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file",
            ]
            .filter { configProfile?[$0] != nil || credentialsProfile?[$0] != nil }
            throw AWSConfigurationError(
                unsupported.isEmpty
                    ? "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or add them to profile "
                        + "'\(profileName)' of the shared credentials or config file"
                    : "profile '\(profileName)' uses \(unsupported.joined(separator: ", ")), which this client "
                        + "does not support: give it static keys or export them"
            )
        }

        guard let region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? configProfile?["region"], !region.isEmpty
        else {
            throw AWSConfigurationError(
                "no region: set AWS_REGION (or AWS_DEFAULT_REGION), or 'region' in profile '\(profileName)' of the config file"
            )
        }

        var overrides: [AWSService: AWSEndpoint] = [:]
        if env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() != "true" {
            for service in services {
                let variable = "AWS_ENDPOINT_URL_\(service.environmentID)"
                let configured = [
                    env(variable).map { ($0, variable) }, env("AWS_ENDPOINT_URL").map { ($0, "AWS_ENDPOINT_URL") },
                    configProfile?["endpoint_url"].map { ($0, "endpoint_url of profile \(profileName)") },
                ]
                guard let (url, origin) = configured.compactMap({ $0 }).first else { continue }
                guard let endpoint = AWSEndpoint(url: url) else {
                    throw AWSConfigurationError("\(origin) is not an http(s)://host[:port] URL: \(url)")
                }
                overrides[service] = endpoint
            }
        }
        return AWSConfiguration(
            credentials: credentials,
            region: region,
            endpointOverrides: overrides,
            credentialSource: source
        )
    }

    private static func credentials(in profile: [String: String]?, _ origin: String) throws -> AWSCredentials? {
        guard let profile else { return nil }
        let keyID = profile["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = profile["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        switch (keyID, secret) {
        case (nil, nil):
            return nil
        case (let keyID?, let secret?):
            return AWSCredentials(
                accessKeyID: keyID,
                secretAccessKey: secret,
                sessionToken: profile["aws_session_token"] ?? profile["aws_security_token"]
            )
        default:
            throw AWSConfigurationError("\(origin) has only one of aws_access_key_id and aws_secret_access_key")
        }
    }

    /// Reads and parses a file; nil if it is missing or unreadable (blocking: call it off the cooperative pool).
    static func readProfileFile(_ path: String?) -> AWSProfileFile? {
        guard let path, let data = FileManager.default.contents(atPath: path) else { return nil }
        return AWSProfileFile(parsing: String(decoding: data, as: UTF8.self))
    }
}

/// Where the shared config and credentials files are, `~` expanded with `HOME`.
struct ProfileFilePaths: Sendable, Hashable {
    var config: String?
    var credentials: String?

    init(environment: [String: String]) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        func expand(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return nil }
            guard path == "~" || path.hasPrefix("~/") else { return path }
            guard let home else { return nil }
            return home + path.dropFirst()
        }
        self.config = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config")
        self.credentials = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
    }
}
