import API
import EventStore
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Projector
import Runtime

/// A private PostgreSQL cluster and the Almanac API in this process, wired as `almanac serve`
/// wires them: the Postgres client, the store-tailing projector, the job worker and the HTTP
/// server. The projector runs in a group of its own (`Running.projection`), so that a scenario
/// can replace it.
struct BenchServer {
    var directory: URL
    var postgresPort: Int
    var httpPort: Int
    var poolSize: Int
    /// How often an idle job worker looks for `full` jobs (`almanac serve` uses 500 ms).
    var jobPollInterval: Duration
    var feedGzipLevel = 6
    /// Whether the write path's statements go as named prepared statements (`almanac serve --prepared-statements`).
    var preparedStatements = true

    /// Quiet by default: the harness checks every answer itself, and shutdown logs cancellations as errors.
    static let logger: Logger = {
        // The handler `almanac serve` uses (metadata rendered only for lines written).
        Logger.almanac("almanac-bench", defaultLevel: .critical)
    }()

    var baseURL: String { "http://127.0.0.1:\(httpPort)" }

    /// Starts a fresh cluster and the server, runs `body`, then stops both.
    func run<Result: Sendable>(_ body: (Running) async throws -> Result) async throws -> Result {
        let postgres = EmbeddedPostgres(directory: directory, port: postgresPort, logger: Self.logger)
        // A previous run may have left its cluster running; start from an empty one every time.
        if FileManager.default.fileExists(atPath: directory.path) {
            postgres.stop()
            try FileManager.default.removeItem(at: directory)
        }
        Progress.log("starting a private PostgreSQL on 127.0.0.1:\(postgresPort) in \(directory.path)")
        try postgres.start()
        defer {
            postgres.stop()
            // The cluster holds gigabytes after a full run; nothing in it is needed afterwards.
            try? FileManager.default.removeItem(at: directory)
        }

        let databaseURL = try postgres.databaseURL()
        return try await AlmanacRuntime.withDatabase(
            .url(databaseURL),
            poolSize: poolSize,
            preparedStatements: preparedStatements,
            logger: Self.logger
        ) { runtime in
            // As `almanac serve`: the API with the services it needs beside it, and the job
            // worker; the projector runs apart (`Running.projection`) so a scenario can replace it.
            let plan = AlmanacRuntime.Plan(
                api: .init(
                    configuration: APIConfiguration(auth: .apiKey, publicURL: baseURL, feedGzipLevel: feedGzipLevel),
                    host: "127.0.0.1",
                    port: httpPort
                ),
                jobs: true,
                jobPollInterval: jobPollInterval
            )
            let server = AlmanacRuntime.Background(try await runtime.services(for: plan), logger: Self.logger)
            let running = Running(
                runtime: runtime,
                baseURL: baseURL,
                databaseURL: databaseURL,
                directory: directory,
                gzipTagSuffix: AlmanacAPI.gzipTagSuffix(level: feedGzipLevel)
            )
            var outcome: Swift.Result<Result, any Error>
            do {
                try await running.projection.start("store", [Self.storeProjector(runtime.store)])
                try await running.waitUntilHealthy()
                Progress.log("Almanac API listening on \(baseURL)")
                outcome = .success(try await body(running))
            } catch {
                outcome = .failure(error)
            }
            try? await running.http.shutdown()
            // Stop the projector, then the server and worker, before the Postgres client they use.
            do {
                try await running.projection.stop()
            } catch {
                if case .success = outcome { outcome = .failure(error) }
            }
            try? await server.stop()
            return try outcome.get()
        }
    }

    /// The embedded projector of `almanac serve`.
    static func storeProjector(_ store: EventStore) -> StoreTailingProjector {
        StoreTailingProjector(writer: ProjectionWriter(store: store))
    }

    /// The running server, its services and an HTTP client for it.
    struct Running: Sendable {
        let runtime: AlmanacRuntime
        var services: AlmanacServices { runtime.services }
        let baseURL: String
        /// The private cluster's database (the harness's own statements, e.g. the write ceiling, use it).
        let databaseURL: String
        /// The private cluster's directory; scratch files go beside it.
        let directory: URL
        let http: AlmanacHTTP
        /// What the API's gzip ETags add inside the quotes (`-gz`; `-gz1` at level 1).
        let gzipTagSuffix: String
        /// The projector feeding the calendar tables (the store-tailing one unless a scenario replaced it).
        let projection = ProjectionRunner()

        init(runtime: AlmanacRuntime, baseURL: String, databaseURL: String, directory: URL, gzipTagSuffix: String) {
            self.runtime = runtime
            self.gzipTagSuffix = gzipTagSuffix
            self.baseURL = baseURL
            self.databaseURL = databaseURL
            self.directory = directory
            self.http = AlmanacHTTP(baseURL: baseURL)
        }

        func waitUntilHealthy() async throws {
            for _ in 0..<200 {
                if (try? await http.health()) == true { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw BenchError("the API did not become healthy on \(baseURL)")
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
