import Domain
import EventStore
import Foundation
import Hummingbird

/// `GET`/`PATCH /api/v1/me`: the caller and their time zone.
struct MeRoutes {
    let commands: CommandExecutor

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("me", use: show)
        group.patch("me", use: update)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return .json(try await describe(user))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let object = try RequestObject(
            try JSONValue.object(from: try await request.bodyBytes(context: context)),
            allowed: ["time_zone"]
        )
        guard let zone = try object.string("time_zone") else { throw APIError.badRequest("time_zone is required") }
        guard zone.count <= 64, TimeZone(identifier: zone) != nil, zone.contains("/") || zone == "UTC" else {
            throw APIError.badRequest(
                "time_zone must be an IANA time zone such as Europe/Paris, got \(zone.debugDescription)"
            )
        }
        let users = commands.todos.users
        try await commands.execute(user: user.id) { connection, _ in
            let current = try await users.timeZone(user: user.id, on: connection)
            let events: [TodoEvent] =
                current == zone ? [] : [.timeZoneChanged(TimeZoneChanged(timeZone: zone, at: .now()))]
            return (events, ())
        }
        return .json(try await describe(user))
    }

    private func describe(_ user: AuthenticatedUser) async throws -> [UInt8] {
        let zone = try await commands.todos.users.timeZone(user: user.id)
        var json = JSONWriter()
        json.beginObject()
        json.key("id")
        json.int(Int(user.id))
        json.key("name")
        json.string(user.name)
        json.key("time_zone")
        json.string(zone)
        json.endObject()
        return json.bytes
    }
}
