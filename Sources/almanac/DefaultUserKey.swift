import Foundation

/// Where `serve` leaves the API key of the user it creates on an empty database.
enum DefaultUserKey {
    /// Writes `key` to `<data-dir>/default-user.key` with mode 0600; returns the path.
    static func write(_ key: String, dataDirectory: String) throws -> String {
        let directory = URL(fileURLWithPath: dataDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("default-user.key").path
        // Created with 0600 from the start: the key is never readable by others, even briefly.
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: file]) }
        defer { close(descriptor) }
        fchmod(descriptor, 0o600)
        let bytes = Array((key + "\n").utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file]) }
        return file
    }
}
