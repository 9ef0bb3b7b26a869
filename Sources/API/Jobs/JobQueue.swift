public import EventStore
public import Foundation
public import NIOCore
import PostgresNIO
import Projector

/// Calendar jobs (the TaskOverflow asynchronous contract) over the `jobs` table: a `projection`
/// job is done when the user's calendar reaches the stream version it was submitted at; a `full`
/// job is run by a `JobWorker`.
public struct JobQueue: Sendable {
    public let store: EventStore
    public var table: JobTable
    let calendars: CalendarStore

    public typealias Job = JobTable.Job
    public typealias Kind = JobTable.Kind

    public init(store: EventStore) {
        self.store = store
        self.table = JobTable(client: store.client, logger: store.logger)
        self.calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
    }

    /// Jobs one user may have pending or running (more get 429).
    public var maxInFlightPerUser = 10
    /// How long a job and its result are kept (then its URLs answer 404).
    public var retention: Duration = .seconds(3600)

    /// Records a job for the user's stream version now; throws `JobTable.TooManyInFlight`.
    public func submit(user: Int64, kind: Kind) async throws -> Job {
        guard try await table.inFlight(user: user) < maxInFlightPerUser else {
            throw JobTable.TooManyInFlight(limit: maxInFlightPerUser)
        }
        return try await table.insert(user: user, kind: kind, targetVersion: try await store.version(of: user))
    }

    /// The version the user's calendar projection has reached (0 before the first event).
    func projectedVersion(user: Int64) async throws -> Int64 {
        try await store.client.leased { try await calendars.head(user: user, on: $0) }?.version ?? 0
    }

    /// The user's job, settling a projection job that the projection has reached.
    public func job(_ id: UUID, user: Int64) async throws -> Job? {
        guard var job = try await table.job(id, user: user) else { return nil }
        if job.kind == .projection, job.status == "PENDING" {
            if try await projectedVersion(user: user) >= job.targetVersion, let seconds = try await table.settle(id) {
                // Settled when its status is asked for: the time until the first status request
                // that found the projection there.
                JobMetrics.finished(mode: .projection, outcome: .success, seconds: seconds)
                job.status = "SUCCESS"
            }
        }
        return job
    }

    /// The stored calendar of a finished `full` job.
    public func result(_ id: UUID, user: Int64) async throws -> ByteBuffer? {
        try await table.result(id, user: user)
    }
}
