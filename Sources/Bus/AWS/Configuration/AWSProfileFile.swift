/// A parsed AWS shared `config` or `credentials` file: INI sections of `key = value` settings.
///
/// Follows the AWS CLI: `#` and `;` start comment lines, keys are case-sensitive as written, and an
/// indented line continues the setting above it (nested settings such as `s3 =` blocks), so it is
/// never read as a key of its own. In the config file a profile is `[profile name]` (or `[default]`),
/// in the credentials file `[name]`.
public struct AWSProfileFile: Sendable, Hashable {
    /// Settings by section name as written between the brackets (e.g. `profile dev`).
    public var sections: [String: [String: String]]

    /// Creates a file from already parsed sections.
    public init(sections: [String: [String: String]] = [:]) { self.sections = sections }

    /// Parses the text of a file; malformed lines are skipped, as the AWS CLI does.
    public init(parsing text: String) {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let isIndented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") || isIndented { continue }
            if line.hasPrefix("[") {
                guard let close = line.lastIndex(of: "]") else { current = nil; continue }
                let name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: " \t")
                    .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: " \t")
            let value = line[line.index(after: equals)...].trimmingCharacters(in: " \t")
            guard !key.isEmpty else { continue }
            sections[section, default: [:]][key] = value
        }
        self.sections = sections
    }

    /// The settings of profile `name` in a config file: `[profile name]`, or `[default]` for `default`.
    public func configProfile(_ name: String) -> [String: String]? {
        if name == "default" { return self.sections["default"] ?? self.sections["profile default"] }
        return self.sections["profile \(name)"]
    }

    /// The settings of profile `name` in a credentials file: `[name]`.
    public func credentialsProfile(_ name: String) -> [String: String]? { self.sections[name] }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        guard let first = self.firstIndex(where: { !characters.contains($0) }),
            let last = self.lastIndex(where: { !characters.contains($0) })
        else { return "" }
        return String(self[first...last])
    }
}
