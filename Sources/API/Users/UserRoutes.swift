import Domain
import Hummingbird

/// `POST /api/v1/users` (admin token).
struct UserRoutes {
    let users: UserDirectory
    let adminToken: String?

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("users", use: create)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let adminToken, !adminToken.isEmpty else {
            throw APIError(.forbidden, "creating users over HTTP is disabled: set ALMANAC_ADMIN_TOKEN")
        }
        guard let token = request.bearerToken, Secrets.constantTimeEquals(token, adminToken) else {
            throw APIError(.unauthorized, "missing or invalid admin token", headers: [.wwwAuthenticate: "Bearer"])
        }
        var request = request
        let object = try RequestObject(
            try JSONValue.object(from: try await request.bodyBytes(context: context)),
            allowed: ["name"]
        )
        guard let name = try object.string("name") else { throw APIError.badRequest("name is required") }
        let created = try await users.create(name: name)
        var json = JSONWriter()
        json.beginObject()
        json.key("id")
        json.int(Int(created.user.id))
        json.key("name")
        json.string(created.user.name)
        json.key("api_key")
        json.string(created.apiKey)
        json.endObject()
        return .json(json.bytes, status: .created)
    }
}
