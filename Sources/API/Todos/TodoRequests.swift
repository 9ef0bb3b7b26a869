import Domain

/// Request bodies of the todo routes, checked field by field.
enum TodoRequests {
    static let fields: Set<String> = ["title", "description", "completed", "deadline_at"]

    static func newTodo(_ body: [UInt8]) throws(APIError) -> NewTodo {
        let object = try RequestObject(try JSONValue.object(from: body), allowed: fields)
        guard let title = try object.string("title") else { throw .badRequest("title is required") }
        do {
            return try NewTodo(
                title: title,
                description: try object.string("description") ?? "",
                completed: try object.bool("completed") ?? false,
                deadline: try deadline(object)
            )
        } catch let error as ValidationError {
            throw .badRequest(error.message)
        } catch let error as APIError {
            throw error
        } catch {
            throw .badRequest("\(error)")
        }
    }

    static func patch(_ body: [UInt8]) throws(APIError) -> TodoPatch {
        let object = try RequestObject(try JSONValue.object(from: body), allowed: fields)
        if object.contains("title"), try object.string("title") == nil {
            throw .badRequest("title must be a non-empty string")
        }
        if object.contains("completed"), try object.bool("completed") == nil {
            throw .badRequest("completed must be true or false")
        }
        do {
            return try TodoPatch(
                title: try object.string("title"),
                description: object.contains("description") ? try object.string("description") ?? "" : nil,
                completed: try object.bool("completed"),
                deadline: object.contains("deadline_at") ? .some(try deadline(object)) : nil
            )
        } catch let error as ValidationError {
            throw .badRequest(error.message)
        } catch let error as APIError {
            throw error
        } catch {
            throw .badRequest("\(error)")
        }
    }

    static func ids(_ body: [UInt8]) throws(APIError) -> [Int] {
        let object = try RequestObject(try JSONValue.object(from: body), allowed: ["ids"])
        guard let ids = try object.integers("ids", limit: Limits.bulkIDs) else { throw .badRequest("ids is required") }
        return ids
    }

    private static func deadline(_ object: RequestObject) throws(APIError) -> Deadline? {
        guard let text = try object.string("deadline_at") else { return nil }
        do {
            return try Deadline(parsing: text)
        } catch {
            throw .badRequest(error.message)
        }
    }

    /// `GET /todos` filters.
    static func filter(completed: String?, window: String?) throws(APIError) -> (completed: Bool?, window: Int?) {
        var result: (completed: Bool?, window: Int?) = (nil, nil)
        switch completed?.lowercased() {
        case nil: break
        case "true"?, "1"?: result.completed = true
        case "false"?, "0"?: result.completed = false
        case let other?: throw .badRequest("completed must be true or false, got \(other.debugDescription)")
        }
        if let window {
            guard let days = Int(window), (0...36_500).contains(days) else {
                throw .badRequest(
                    "window must be a whole number of days from 0 to 36500, got \(window.debugDescription)"
                )
            }
            result.window = days
        }
        return result
    }
}
