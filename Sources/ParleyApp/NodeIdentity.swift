import Foundation

/// A chat node's stable id. With Kafka, each node consumes in its own group `parley-<id>`, so a restarted node
/// must come back with the same id to resume from its committed position: generate it once, keep it on disk.
public enum NodeIdentity {
    /// What a node id may contain.
    public static let allowedDescription = "1-64 of [A-Za-z0-9._-]"

    /// Whether `id` is usable as a node id (and inside a Kafka group id).
    public static func isValid(_ id: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return (1...64).contains(id.count) && id.allSatisfy(allowed.contains)
    }

    /// The id kept in `dataDirectory/node-id`, created on first use.
    public static func stored(in dataDirectory: String) throws -> String {
        let path = (dataDirectory as NSString).appendingPathComponent("node-id")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard isValid(id) else { throw NodeIdentityError(path: path) }
            return id
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let id = "node-" + UUID().uuidString.prefix(8).lowercased()
        try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return id
    }
}

/// The stored node id file is unreadable as an id.
public struct NodeIdentityError: Error, CustomStringConvertible {
    /// The file.
    public var path: String
    /// A message for the operator.
    public var description: String {
        "\(path) does not hold a valid node id (\(NodeIdentity.allowedDescription)); fix or delete it"
    }
}
