import Foundation
import Testing

@testable import Bus

@Suite("AWS configuration chain")
struct AWSConfigurationTests {
    static let environmentKeys = ["AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "env-secret"]

    static let configFile = AWSProfileFile(
        parsing: """
            # comment
            [default]
            region = eu-west-1
            aws_access_key_id = AKIACONFIGDEFAULT
            aws_secret_access_key = config-default-secret

            [profile dev]
            region=ap-northeast-1
            endpoint_url = http://localhost:4566
            s3 =
              max_concurrent_requests = 10
            ; another comment
            [profile keyless]
            region = us-west-2
            role_arn = arn:aws:iam::123456789012:role/x
            [profile configkeys]
            aws_access_key_id = AKIACONFIGKEYS
            aws_secret_access_key = config-keys-secret
            aws_session_token = config-keys-token
            """
    )

    static let credentialsFile = AWSProfileFile(
        parsing: """
            [default]
            aws_access_key_id = AKIAFILEDEFAULT
            aws_secret_access_key = file-default-secret

            [dev]
            aws_access_key_id=AKIAFILEDEV
            aws_secret_access_key=file/dev+secret=
            aws_session_token = file-dev-token
            [partial]
            aws_access_key_id = AKIAPARTIAL
            """
    )

    func resolve(_ environment: [String: String]) throws -> AWSConfiguration {
        try AWSConfiguration.resolve(
            environment: environment,
            configFile: Self.configFile,
            credentialsFile: Self.credentialsFile
        )
    }

    @Test("environment keys win over both files, with the session token")
    func environmentFirst() throws {
        let configuration = try self.resolve(
            Self.environmentKeys.merging(["AWS_SESSION_TOKEN": "env-token", "AWS_PROFILE": "dev"]) { $1 }
        )
        #expect(
            configuration.credentials
                == AWSCredentials(
                    accessKeyID: "AKIAENVIRONMENT",
                    secretAccessKey: "env-secret",
                    sessionToken: "env-token"
                )
        )
        #expect(configuration.credentialSource == "environment")
        // The region still comes from the selected profile when the environment names none.
        #expect(configuration.region == "ap-northeast-1")
    }

    @Test("the credentials file wins over the config file; AWS_PROFILE selects the section")
    func credentialsFileThenConfig() throws {
        let dev = try self.resolve(["AWS_PROFILE": "dev"])
        #expect(dev.credentials.accessKeyID == "AKIAFILEDEV")
        #expect(dev.credentials.secretAccessKey == "file/dev+secret=")
        #expect(dev.credentials.sessionToken == "file-dev-token")
        #expect(dev.credentialSource == "credentials file [dev]")

        let fallback = try self.resolve([:])
        #expect(fallback.credentials.accessKeyID == "AKIAFILEDEFAULT")
        #expect(fallback.region == "eu-west-1")

        let configOnly = try self.resolve(["AWS_PROFILE": "configkeys", "AWS_REGION": "us-east-2"])
        #expect(configOnly.credentials.accessKeyID == "AKIACONFIGKEYS")
        #expect(configOnly.credentials.sessionToken == "config-keys-token")
        #expect(configOnly.credentialSource == "config file profile configkeys")
    }

    @Test("AWS_DEFAULT_PROFILE is used when AWS_PROFILE is not set")
    func defaultProfileVariable() throws {
        #expect(try self.resolve(["AWS_DEFAULT_PROFILE": "dev"]).credentials.accessKeyID == "AKIAFILEDEV")
        #expect(
            try self.resolve(["AWS_DEFAULT_PROFILE": "dev", "AWS_PROFILE": "default"]).credentials.accessKeyID
                == "AKIAFILEDEFAULT"
        )
    }

    @Test("region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile")
    func regionOrder() throws {
        #expect(
            try self.resolve(["AWS_REGION": "sa-east-1", "AWS_DEFAULT_REGION": "ca-central-1"]).region == "sa-east-1"
        )
        #expect(try self.resolve(["AWS_DEFAULT_REGION": "ca-central-1"]).region == "ca-central-1")
        #expect(try self.resolve([:]).region == "eu-west-1")
    }

    @Test("endpoints: per-service variable, then AWS_ENDPOINT_URL, then the profile, else the public one")
    func endpoints() throws {
        let both = try self.resolve(
            Self.environmentKeys.merging([
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:54340",
                "AWS_ENDPOINT_URL_SQS": "http://localhost:9324/",
            ]) { $1 }
        )
        #expect(both.endpoint(for: .sns) == AWSEndpoint(scheme: "http", host: "127.0.0.1", port: 54340))
        #expect(both.endpoint(for: .sqs) == AWSEndpoint(scheme: "http", host: "localhost", port: 9324))

        let profile = try self.resolve(["AWS_PROFILE": "dev"])
        #expect(profile.endpoint(for: .sqs).description == "http://localhost:4566/")

        let ignored = try self.resolve(["AWS_PROFILE": "dev", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"])
        #expect(ignored.endpoint(for: .sqs).description == "https://sqs.ap-northeast-1.amazonaws.com/")
        #expect(ignored.endpoint(for: .sns).hostHeader == "sns.ap-northeast-1.amazonaws.com")
    }

    @Test("a bad endpoint URL, half a key pair, or nothing at all are clear errors")
    func errors() throws {
        #expect(throws: AWSConfigurationError.self) {
            try self.resolve(Self.environmentKeys.merging(["AWS_ENDPOINT_URL": "localhost:4566"]) { $1 })
        }
        #expect(throws: AWSConfigurationError.self) { try self.resolve(["AWS_ACCESS_KEY_ID": "AKIAONLY"]) }
        #expect(throws: AWSConfigurationError.self) { try self.resolve(["AWS_PROFILE": "partial"]) }
        let keyless = #expect(throws: AWSConfigurationError.self) { try self.resolve(["AWS_PROFILE": "keyless"]) }
        #expect(keyless?.message.contains("role_arn") == true)
        let none = #expect(throws: AWSConfigurationError.self) {
            try AWSConfiguration.resolve(environment: [:], configFile: nil, credentialsFile: nil)
        }
        #expect(none?.message.contains("AWS_ACCESS_KEY_ID") == true)
        let noRegion = #expect(throws: AWSConfigurationError.self) {
            try AWSConfiguration.resolve(environment: Self.environmentKeys, configFile: nil, credentialsFile: nil)
        }
        #expect(noRegion?.message.contains("AWS_REGION") == true)
    }

    @Test("load reads the files named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, or under HOME")
    func loadFromFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent(".aws"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        try "[profile team]\nregion = eu-north-1\n".write(
            to: directory.appendingPathComponent(".aws/config"),
            atomically: true,
            encoding: .utf8
        )
        try "[team]\naws_access_key_id = AKIAHOME\naws_secret_access_key = home-secret\n".write(
            to: directory.appendingPathComponent(".aws/credentials"),
            atomically: true,
            encoding: .utf8
        )
        try "[other]\naws_access_key_id = AKIAEXPLICIT\naws_secret_access_key = explicit-secret\n".write(
            to: directory.appendingPathComponent("creds"),
            atomically: true,
            encoding: .utf8
        )

        let home = try await AWSConfiguration.load(environment: ["HOME": directory.path, "AWS_PROFILE": "team"])
        #expect(home.credentials.accessKeyID == "AKIAHOME")
        #expect(home.region == "eu-north-1")

        let explicit = try await AWSConfiguration.load(environment: [
            "HOME": directory.path, "AWS_PROFILE": "other", "AWS_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": directory.appendingPathComponent("creds").path,
            "AWS_CONFIG_FILE": directory.appendingPathComponent("missing").path,
        ])
        #expect(explicit.credentials.accessKeyID == "AKIAEXPLICIT")
    }

    @Test("secrets never appear in descriptions, debug descriptions or dumps")
    func redaction() throws {
        let configuration = try self.resolve(
            Self.environmentKeys.merging(["AWS_SESSION_TOKEN": "env-token", "AWS_REGION": "us-east-1"]) { $1 }
        )
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [
            "\(configuration)", "\(configuration.credentials)", String(reflecting: configuration.credentials),
            String(reflecting: configuration), dumped,
        ] {
            #expect(!text.contains("env-secret"))
            #expect(!text.contains("env-token"))
            #expect(!text.contains("AKIAENVIRONMENT"))
        }
        #expect("\(configuration.credentials)".contains("AKIA…"))
    }

    @Test("profile files: sections, comments, nested settings, spacing")
    func profileFileParsing() {
        let file = AWSProfileFile(
            parsing: "[ profile   spaced ]\nkey=value = with equals\n  nested = ignored\n\tx = y\n"
        )
        #expect(file.configProfile("spaced") == ["key": "value = with equals"])
        #expect(Self.configFile.configProfile("dev")?["s3"] == "")
        #expect(Self.configFile.configProfile("dev")?["max_concurrent_requests"] == nil)
    }
}
