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
        self.calendars = CalendarStore(logger: store.logger)
    }

    /// Records a job for the user's stream version now.
    public func submit(user: Int64, kind: Kind) async throws -> Job {
        try await table.insert(user: user, kind: kind, targetVersion: try await store.version(of: user))
    }

    /// The user's job, settling a projection job that the projection has reached.
    public func job(_ id: UUID, user: Int64) async throws -> Job? {
        guard var job = try await table.job(id, user: user) else { return nil }
        if job.kind == .projection, job.status == "PENDING" {
            let head = try await store.client.withConnection { try await calendars.head(user: user, on: $0) }
            if let head, head.version >= job.targetVersion, try await table.settle(id) { job.status = "SUCCESS" }
        }
        return job
    }

    /// The stored calendar of a finished `full` job.
    public func result(_ id: UUID, user: Int64) async throws -> ByteBuffer? {
        try await table.result(id, user: user)
    }
}
