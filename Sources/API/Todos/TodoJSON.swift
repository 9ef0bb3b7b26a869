import Domain

/// The TaskOverflow todo representation.
enum TodoJSON {
    static func write(_ todo: Todo, into json: inout JSONWriter) {
        json.beginObject()
        json.key("id")
        json.int(todo.id)
        json.key("title")
        json.string(todo.title)
        json.key("description")
        json.string(todo.description)
        json.key("completed")
        json.bool(todo.completed)
        json.key("deadline_at")
        json.optionalString(todo.deadline?.raw)
        json.key("created_at")
        json.string(todo.createdAt.iso8601)
        json.key("updated_at")
        json.string(todo.updatedAt.iso8601)
        json.endObject()
    }

    static func bytes(_ todo: Todo) -> [UInt8] {
        var json = JSONWriter()
        write(todo, into: &json)
        return json.bytes
    }
}
