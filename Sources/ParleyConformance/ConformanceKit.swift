import Foundation
import ParleyProfiles

/// Finds and loads the kit's files (profiles, conversations, frame fixtures) for tests and tools.
///
/// The layout is the repository's: `conformance/profiles/*.yaml`, `Fixtures/conversations/*.yaml`,
/// `Fixtures/frames/*.stomp`. Test targets pass `#filePath` to find the repository root.
public struct ConformanceKit: Sendable {
    /// The folder holding `conformance/` and `Fixtures/`.
    public let root: URL

    /// A kit rooted at `root`.
    public init(root: URL) { self.root = root }

    /// The kit of the repository containing `filePath` (walks up until `Fixtures/conversations` exists).
    public init?(containing filePath: String) {
        var directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        for _ in 0..<10 {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Fixtures/conversations").path) {
                root = directory
                return
            }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// `conformance/profiles`.
    public var profilesDirectory: URL { root.appendingPathComponent("conformance/profiles") }
    /// `Fixtures` (parent of `conversations/` and `frames/`).
    public var fixturesDirectory: URL { root.appendingPathComponent("Fixtures") }
    /// `Fixtures/conversations`.
    public var conversationsDirectory: URL { fixturesDirectory.appendingPathComponent("conversations") }

    /// Every conversation, sorted by name.
    public func conversations() throws(ConversationFormatError) -> [Conversation] {
        try ConversationParser.loadAll(in: conversationsDirectory)
    }

    /// One conversation by name.
    public func conversation(named name: String) throws(ConversationFormatError) -> Conversation {
        try ConversationParser.load(file: conversationsDirectory.appendingPathComponent("\(name).yaml"))
    }

    /// Conversation names (file names without `.yaml`), sorted; empty when the folder is unreadable.
    /// Cheap enough for Swift Testing `arguments:`.
    public func conversationNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: conversationsDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A profile by name.
    public func profile(named name: String) throws(ProfileError) -> ServerProfile {
        try ServerProfile.load(named: name, in: profilesDirectory)
    }
}
