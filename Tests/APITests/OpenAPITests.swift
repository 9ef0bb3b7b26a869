import API
import AlmanacTestSupport
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    /// Fails when a route exists that the committed OpenAPI document does not describe.
    @Test func everyRouteIsDocumented() async throws {
        try await TestDatabase.withStore { store in
            let router = try await AlmanacAPI.build(
                services: AlmanacServices(store: store),
                configuration: APIConfiguration()
            ).router
            let document = try String(contentsOf: try #require(APIResources.openAPIURL), encoding: .utf8)
            let documented = OpenAPIPaths.operations(in: document)
            #expect(!router.routes.isEmpty)
            for route in router.routes {
                let path =
                    "/"
                    + route.path.description.split(separator: "/").map { segment -> String in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }.joined(separator: "/")
                #expect(
                    documented.contains("\(route.method.rawValue.lowercased()) \(path)"),
                    "\(route.method) \(path) is missing from openapi.yaml"
                )
            }
        }
    }

    @Test func documentIsServed() async throws {
        try await TestApp.run { app in
            let response = try await app.send(.get, "/api/v1/openapi.yaml")
            #expect(response.status == .ok)
            #expect(response.text.hasPrefix("openapi: 3.1"))
        }
    }
}

/// Reads `paths:` of an OpenAPI YAML document (the subset our document uses) as "method /path".
enum OpenAPIPaths {
    static func operations(in yaml: String) -> Set<String> {
        var operations = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("paths:") {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if !line.hasPrefix(" ") && !line.isEmpty { break }
            let indent = line.prefix { $0 == " " }.count
            let text = line.trimmingCharacters(in: .whitespaces)
            if indent == 2, text.hasPrefix("/"), text.hasSuffix(":") {
                currentPath = String(text.dropLast())
            } else if indent == 4, let path = currentPath, text.hasSuffix(":") {
                let method = String(text.dropLast())
                if ["get", "put", "post", "delete", "patch", "head"].contains(method) {
                    operations.insert("\(method) \(path)")
                }
            }
        }
        return operations
    }
}
