/// An element of a small XML document, as AWS Query-protocol services answer.
struct XMLTree: Sendable, Hashable {
    /// The local name, without a namespace prefix.
    var name: String
    /// The child elements, in document order.
    var children: [XMLTree] = []
    /// The element's own text (character data and CDATA between its children), with entities decoded.
    var text: String = ""

    /// The first child named `name`.
    func child(_ name: String) -> XMLTree? { self.children.first { $0.name == name } }

    /// Every child named `name`.
    func children(_ name: String) -> [XMLTree] { self.children.filter { $0.name == name } }

    /// The element at `path` of child names below this one.
    func element(_ path: String...) -> XMLTree? {
        path.reduce(Optional(self)) { $0?.child($1) }
    }

    /// The first element named `name` at any depth, this one included, depth first.
    func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in self.children {
            if let found = child.first(named: name) { return found }
        }
        return nil
    }

    /// `<entry><key>K</key><value>V</value></entry>` children (the Query protocol's maps) as a dictionary.
    var entries: [String: String] {
        var map: [String: String] = [:]
        for entry in self.children("entry") {
            if let key = entry.child("key")?.text { map[key] = entry.child("value")?.text ?? "" }
        }
        return map
    }
}
