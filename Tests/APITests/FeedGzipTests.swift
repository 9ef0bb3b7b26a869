import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import Gzip
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Projector
import Runtime
import Testing

@testable import API

/// Issue #12: feeds gzip-encoded from compressed blocks kept in the feed cache, for clients that
/// accept gzip; identity for everyone else, each representation with its own ETag.
@Suite("Compressed feeds")
struct FeedGzipTests {
    static let acceptGzip: HTTPFields = [.acceptEncoding: "gzip, deflate, br"]

    /// The identity ETag with `-gz` inside the quotes.
    static func gzipTag(of identity: String) -> String {
        String(identity.dropLast()) + "-gz\""
    }

    /// Many rounds of random changes over a calendar spanning several cache blocks: after each,
    /// every variant served gzip-encoded decodes (zlib in-process and Python's gzip) to exactly
    /// the identity bytes, which equal a full regeneration from the events.
    @Test func gzipFeedsDecodeToTheIdentityBytesOverRandomChanges() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let path = try await app.feedPath(alice.authorization)
            var random = SplitMix(state: 12)
            var codes: [Int] = []
            let variants: [(String, FeedVariant)] = [
                ("", .events), ("?completed=include", .eventsWithCompleted), ("?format=vtodo", .tasks),
            ]
            for round in 0..<14 {
                let burst = (0..<(round == 0 ? 3000 : 3)).map { _ in Int.random(in: 0...100_000, using: &random) }
                codes += burst
                let events = Array(CommandScript.events(codes).dropFirst())
                let version = try await app.services.store.version(of: alice.id)
                let fresh = Array(events.dropFirst(Int(version) - 1))
                try await app.services.store.withTransaction { connection in
                    try await app.services.commands.append(
                        fresh,
                        user: alice.id,
                        expectedVersion: version,
                        on: connection
                    )
                }
                try await app.project()
                for (query, variant) in variants {
                    let expected = try #require(
                        try await CalendarRebuilder(store: app.services.store).compare(user: alice.id, variant: variant)
                    )
                    let full = Array(expected.full)
                    let identity = try await app.send(.get, path + query)
                    let compressed = try await app.send(.get, path + query, headers: Self.acceptGzip)
                    #expect(Array(identity.body.readableBytesView) == full, "round \(round) \(variant) identity")
                    #expect(identity.headers[.contentEncoding] == nil)
                    #expect(compressed.status == .ok)
                    #expect(compressed.headers[.contentEncoding] == "gzip")
                    for response in [identity, compressed] {
                        #expect(response.headers[.vary] == "Accept-Encoding")
                        #expect(Int(response.headers[.contentLength] ?? "") == response.body.readableBytes)
                    }
                    let identityTag = try #require(identity.headers[.eTag])
                    #expect(compressed.headers[.eTag] == Self.gzipTag(of: identityTag))
                    let bytes = Array(compressed.body.readableBytesView)
                    #expect(try GzipDecoders.zlib(bytes) == full, "round \(round) \(variant) zlib")
                    #expect(try GzipDecoders.python(bytes) == full, "round \(round) \(variant) python")
                    #expect(bytes.count < full.count, "\(variant): \(bytes.count) of \(full.count)")
                }
            }
            let statistics = await app.feedCacheStatistics()
            #expect(statistics.bytes <= statistics.budgetBytes)
        }
    }

    /// Twenty concurrent cold gzip requests compress each block once; a change to one todo then
    /// recompresses one block, not the feed.
    @Test func aChangeRecompressesOnlyTheBlockItTouches() async throws {
        try await TestApp.run(listening: true) { app in
            let alice = try await app.user("alice")
            try await app.seed(2000, user: alice.id)
            let path = try await app.feedPath(alice.authorization)
            let blocks = (2000 + FeedCache.blockSize - 1) / FeedCache.blockSize
            // Loaded and assembled, not compressed yet; token and calendar row in memory, so the
            // twenty requests below reach the cache together.
            #expect(try await app.send(.get, path).status == .ok)
            let identityBytes = await app.feedCacheStatistics().bytes
            let bodies = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await app.send(.get, path, headers: Self.acceptGzip).body }
                }
                var bodies: [ByteBuffer] = []
                for try await body in group { bodies.append(body) }
                return bodies
            }
            #expect(Set(bodies).count == 1)
            var statistics = await app.feedCacheStatistics()
            #expect(statistics.loads == 1)
            #expect(statistics.compressedBlocks == blocks + 1, "the blocks and the header, once")
            // The budget counts the compressed blocks: all of the answer but the gzip framing and
            // the footer (shared by every feed).
            let framing = GzipStream.overheadCount + GzipPart.footer.bytes.readableBytes
            #expect(statistics.bytes - identityBytes == bodies[0].readableBytes - framing)

            let edited = try #require(
                try await app.services.todos.update(
                    user: alice.id,
                    id: 1_000_500,
                    try TodoPatch(title: "a changed title")
                ).done?.flatMap { $0 }
            )
            #expect(edited.title == "a changed title")
            try await app.project()
            let before = statistics.compressedBlocks
            let identity = try await app.send(.get, path)
            let compressed = try await app.send(.get, path, headers: Self.acceptGzip)
            #expect(identity.text.contains("SUMMARY:a changed title"))
            #expect(
                try GzipDecoders.zlib(Array(compressed.body.readableBytesView))
                    == Array(identity.body.readableBytesView)
            )
            statistics = await app.feedCacheStatistics()
            #expect(statistics.compressedBlocks - before == 1)
            #expect(statistics.loads == 1)
            #expect(statistics.refreshes == 1)

            // Another variant compresses its own blocks; the header is shared.
            let tasks = try await app.send(.get, path + "?format=vtodo", headers: Self.acceptGzip)
            #expect(try GzipDecoders.zlib(Array(tasks.body.readableBytesView)).count > 0)
            #expect(await app.feedCacheStatistics().compressedBlocks - before == 1 + blocks)
        }
    }

    /// `feedGzipLevel`: the blocks are compressed at the configured level (level 1's answer for
    /// the same calendar is larger than the default level's), decode to the same identity bytes,
    /// and the tag names a level other than the default, so a restart with another level never
    /// answers 304 to a tag of other bytes.
    @Test func theConfiguredLevelCompressesTheBlocksAndNamesItselfInTheTag() async throws {
        var sizes: [Int: (gzip: Int, identity: Int)] = [:]
        for level in [1, 6] {
            sizes[level] = try await TestApp.run(feedGzipLevel: level, listening: true) { app in
                let alice = try await app.user("alice")
                try await app.seed(2000, user: alice.id)
                let path = try await app.feedPath(alice.authorization)
                let identity = try await app.send(.get, path)
                let compressed = try await app.send(.get, path, headers: Self.acceptGzip)
                let bytes = Array(compressed.body.readableBytesView)
                #expect(compressed.headers[.contentEncoding] == "gzip")
                #expect(try GzipDecoders.zlib(bytes) == Array(identity.body.readableBytesView))
                let identityTag = try #require(identity.headers[.eTag])
                let tag = try #require(compressed.headers[.eTag])
                let defaultLevelTag = Self.gzipTag(of: identityTag)
                #expect(tag == (level == 6 ? defaultLevelTag : String(identityTag.dropLast()) + "-gz\(level)\""))
                // Twice: the second poll is answered from the remembered description.
                var conditional = Self.acceptGzip
                conditional[.ifNoneMatch] = tag
                #expect(try await app.send(.get, path, headers: conditional).status == .notModified)
                #expect(try await app.send(.get, path, headers: conditional).status == .notModified)
                // The other level's tag names other bytes.
                conditional[.ifNoneMatch] = level == 6 ? String(identityTag.dropLast()) + "-gz1\"" : defaultLevelTag
                #expect(try await app.send(.get, path, headers: conditional).status == .ok)
                return (bytes.count, identity.body.readableBytes)
            }
        }
        let fast = try #require(sizes[1]), small = try #require(sizes[6])
        // The same todos (their timestamps aside): identity sizes within 1 %.
        #expect(abs(fast.identity - small.identity) * 100 < small.identity, "\(fast) \(small)")
        #expect(fast.gzip * 100 > small.gzip * 105, "level 1: \(fast.gzip) octets, level 6: \(small.gzip)")
    }

    @Test(arguments: [0, 10, -1])
    func aGzipLevelOutsideOneToNineIsRefused(level: Int) async throws {
        try await TestDatabase.withRuntime { runtime in
            let error = await #expect(throws: AlmanacAPI.InvalidConfiguration.self) {
                _ = try await runtime.api(APIConfiguration(feedGzipLevel: level))
            }
            #expect(error?.description == "the feed gzip level must be 1...9, got \(level)")
        }
    }

    /// ETag and Vary per representation; conditional requests compare with the tag of the
    /// representation that would be sent; HEAD has the chosen representation's headers.
    @Test(arguments: [false, true])
    func etagsVaryAndConditionalRequestsPerRepresentation(listening: Bool) async throws {
        try await TestApp.run(listening: listening) { app in
            let alice = try await app.user("alice")
            try await app.seed(300, user: alice.id)
            let path = try await app.feedPath(alice.authorization)
            let identity = try await app.send(.get, path)
            let compressed = try await app.send(.get, path, headers: Self.acceptGzip)
            let identityTag = try #require(identity.headers[.eTag])
            let gzipTag = try #require(compressed.headers[.eTag])
            #expect(gzipTag == Self.gzipTag(of: identityTag))
            #expect(identityTag.hasPrefix("\"v") && identityTag.hasSuffix(".events\""))
            #expect(identity.headers[.contentEncoding] == nil)
            #expect(compressed.headers[.contentEncoding] == "gzip")
            #expect(identity.headers[.lastModified] == compressed.headers[.lastModified])
            for response in [identity, compressed] { #expect(response.headers[.vary] == "Accept-Encoding") }

            func get(_ accept: String?, ifNoneMatch: String? = nil, method: HTTPRequest.Method = .get) async throws
                -> TestResponse
            {
                var headers: HTTPFields = [:]
                if let accept { headers[.acceptEncoding] = accept }
                if let ifNoneMatch { headers[.ifNoneMatch] = ifNoneMatch }
                return try await app.send(method, path, headers: headers)
            }

            // 304 only for the tag of the representation that would be sent.
            for (accept, tag, status, sentTag) in [
                ("gzip", gzipTag, HTTPResponse.Status.notModified, gzipTag),
                ("gzip", "W/\(gzipTag)", .notModified, gzipTag),
                ("gzip", "\(identityTag), \(gzipTag)", .notModified, gzipTag),
                ("gzip", "*", .notModified, gzipTag),
                ("gzip", identityTag, .ok, gzipTag),
                (nil, gzipTag, .ok, identityTag),
                (nil, identityTag, .notModified, identityTag),
                ("gzip;q=0", gzipTag, .ok, identityTag),
            ] as [(String?, String, HTTPResponse.Status, String)] {
                let response = try await get(accept, ifNoneMatch: tag)
                #expect(response.status == status, "Accept-Encoding \(accept ?? "-") If-None-Match \(tag)")
                #expect(response.headers[.eTag] == sentTag, "Accept-Encoding \(accept ?? "-") If-None-Match \(tag)")
                #expect(response.headers[.vary] == "Accept-Encoding")
                if status == .notModified {
                    #expect(response.body.readableBytes == 0)
                    #expect(response.headers[.contentEncoding] == nil)
                } else {
                    #expect(response.headers[.contentEncoding] == (sentTag == gzipTag ? "gzip" : nil))
                }
            }
            let lastModified = try #require(identity.headers[.lastModified])
            let since = try await app.send(
                .get,
                path,
                headers: [.acceptEncoding: "gzip", .ifModifiedSince: lastModified]
            )
            #expect(since.status == .notModified)
            #expect(since.headers[.eTag] == gzipTag)
            #expect(since.headers[.vary] == "Accept-Encoding")

            // HEAD: the headers of the representation GET would send, no body.
            for (accept, answer) in [("gzip", compressed), (nil, identity)] as [(String?, TestResponse)] {
                let head = try await app.send(.head, path, headers: accept.map { [.acceptEncoding: $0] } ?? [:])
                #expect(head.status == .ok)
                #expect(head.body.readableBytes == 0)
                for name in [HTTPField.Name.eTag, .contentEncoding, .contentLength, .vary, .contentType, .lastModified]
                {
                    #expect(head.headers[name] == answer.headers[name], "HEAD \(accept ?? "identity") \(name)")
                }
            }

            // Which Accept-Encoding values get gzip.
            for (accept, gzip) in [
                ("gzip", true), ("GZIP", true), ("x-gzip", true), ("*", true), ("br;q=1, gzip;q=0.1", true),
                ("deflate, gzip ; q=0.5", true), ("gzip;q=0", false), ("gzip;q=0.000", false), ("identity", false),
                ("br, deflate", false), ("gzip;q=0, *", false), ("*;q=0", false), ("", false),
            ] {
                let response = try await get(accept)
                #expect(response.headers[.contentEncoding] == (gzip ? "gzip" : nil), "Accept-Encoding: \(accept)")
                #expect(response.headers[.eTag] == (gzip ? gzipTag : identityTag), "Accept-Encoding: \(accept)")
            }
            // Clients without Accept-Encoding get exactly the identity bytes.
            #expect(try await get(nil).body == identity.body)
        }
    }

    /// Calendars streamed past the cache are sent identity-encoded even to gzip clients, under
    /// their identity tag, and a poll with that tag is 304.
    @Test func streamedCalendarsAreIdentityEncodedForGzipClients() async throws {
        try await TestApp.run(feedCacheBytes: 2_000) { app in
            let alice = try await app.user("alice")
            try await app.seed(40, user: alice.id)
            let path = try await app.feedPath(alice.authorization)
            let expected = try #require(
                try await CalendarRebuilder(store: app.services.store).compare(user: alice.id, variant: .events)
            )
            for _ in 0..<2 {
                let response = try await app.send(.get, path, headers: Self.acceptGzip)
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.headers[.vary] == "Accept-Encoding")
                #expect(Array(response.body.readableBytesView) == Array(expected.full))
                let etag = try #require(response.headers[.eTag])
                #expect(!etag.contains("-gz"))
                let again = try await app.send(.get, path, headers: [.acceptEncoding: "gzip", .ifNoneMatch: etag])
                #expect(again.status == .notModified)
                #expect(again.headers[.eTag] == etag)
                let head = try await app.send(.head, path, headers: Self.acceptGzip)
                #expect(head.headers[.contentEncoding] == nil)
                #expect(head.headers[.eTag] == etag)
            }
        }
    }

    /// `curl --compressed` against a live server on a real socket decodes to the identity bytes.
    @Test(.timeLimit(.minutes(3)))
    func curlCompressedAgainstALiveServerDecodesToTheIdentityBytes() async throws {
        try await TestDatabase.withRuntime(poolSize: 4) { runtime in
            let created = try await runtime.services.users.create(name: "curl")
            let version = try await runtime.store.version(of: created.user.id)
            let events = try (1...1500).flatMap { index in
                TodoCommands.create(
                    try NewTodo(
                        title: "todo \(index), with a comma; and a semicolon",
                        description: index % 3 == 0 ? "Line one\nline two — ✓" : "",
                        deadline: try Deadline(parsing: "2026-0\(index % 9 + 1)-1\(index % 10)T08:15:00")
                    ),
                    id: index,
                    uid: "curl-\(index)",
                    at: Timestamp(microseconds: 1_770_000_000_000_000 + Int64(index))
                )
            }
            try await runtime.store.withTransaction { connection in
                try await runtime.services.commands.append(
                    events,
                    user: created.user.id,
                    expectedVersion: version,
                    on: connection
                )
            }
            try await StoreTailingProjector(writer: ProjectionWriter(store: runtime.store)).drainCommitted()

            let listening = ListeningPort()
            let plan = AlmanacRuntime.Plan(
                api: .init(configuration: APIConfiguration(), host: "127.0.0.1", port: 0, onListening: listening.record)
            )
            try await AlmanacRuntime.withRunning(try await runtime.services(for: plan), logger: TestDatabase.logger) {
                let port = try await listening.port()
                try await poll("the server answers") {
                    (try? await RawHTTP.get(port: port, path: "/api/v1/health")) == 200
                }
                let described = try await Subprocess.run([
                    "curl", "-sS", "--fail", "-H", "Authorization: Bearer \(created.apiKey)",
                    "http://127.0.0.1:\(port)/api/v1/feed",
                ])
                let object = try #require(
                    try JSONSerialization.jsonObject(with: described.standardOutput) as? [String: Any]
                )
                let https = try #require(object["https"] as? String)
                let url = "http://127.0.0.1:\(port)" + String(https[https.range(of: "/feeds/")!.lowerBound...])

                let directory = FileManager.default.temporaryDirectory
                    .appendingPathComponent("almanac-curl-\(UUID().uuidString)", isDirectory: true)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                func file(_ name: String) -> String { directory.appendingPathComponent(name).path }
                func headers(_ name: String) throws -> String {
                    try String(contentsOfFile: file(name), encoding: .utf8).lowercased()
                }
                func bytes(_ name: String) throws -> [UInt8] {
                    [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
                }

                try await Subprocess.run([
                    "curl", "-sS", "--fail", "-D", file("identity.h"), "-o", file("identity"), url,
                ])
                try await Subprocess.run([
                    "curl", "-sS", "--fail", "--compressed", "-D", file("decoded.h"), "-o", file("decoded"), url,
                ])
                try await Subprocess.run([
                    "curl", "-sS", "--fail", "-H", "Accept-Encoding: gzip", "-o", file("raw.gz"), url,
                ])
                let identity = try bytes("identity")
                let expected = try #require(
                    try await CalendarRebuilder(store: runtime.store).compare(user: created.user.id, variant: .events)
                )
                #expect(identity == Array(expected.full))
                #expect(try bytes("decoded") == identity)
                #expect(try headers("decoded.h").contains("content-encoding: gzip"))
                #expect(try !headers("identity.h").contains("content-encoding"))
                #expect(try headers("decoded.h").contains("vary: accept-encoding"))
                #expect(try headers("identity.h").contains("vary: accept-encoding"))
                let raw = try bytes("raw.gz")
                #expect(raw.starts(with: [0x1F, 0x8B]))
                #expect(raw.count * 4 < identity.count)
                #expect(try GzipDecoders.python(raw) == identity)
            }
        }
    }
}

/// The parsing of `Accept-Encoding`, without a server.
@Suite("Accept-Encoding")
struct AcceptEncodingTests {
    @Test func gzipWhenGivenAWeightAboveZero() {
        let cases: [(String, FeedEncoding)] = [
            ("gzip", .gzip), ("gzip, deflate, br", .gzip), ("x-gzip", .gzip), ("Gzip;Q=1.000", .gzip),
            ("gzip;q=0.001", .gzip), ("*", .gzip), ("br, *;q=0.1", .gzip), ("gzip ;\tq=0.5 , br", .gzip),
            ("gzip;level=9", .gzip), ("gzip;q=0", .identity), ("gzip;q=0.0", .identity), ("gzip;q=0.", .identity),
            ("gzip;q=0, *;q=1", .identity), ("identity", .identity), ("deflate, br", .identity), ("", .identity),
            ("gzip;q=1.5", .identity), ("gzip;q=abc", .identity), ("gzip;q=0.0001", .identity), (",,;", .identity),
            ("*;q=0", .identity), ("x-gzip;q=0, gzip", .gzip),
        ]
        for (header, expected) in cases {
            #expect(FeedEncoding(acceptEncoding: header) == expected, "\(header.debugDescription)")
        }
        #expect(FeedEncoding(accepting: [:]) == .identity)
        var fields = HTTPFields()
        fields.append(HTTPField(name: .acceptEncoding, value: "br"))
        fields.append(HTTPField(name: .acceptEncoding, value: "gzip"))
        #expect(FeedEncoding(accepting: fields) == .gzip)
    }
}
