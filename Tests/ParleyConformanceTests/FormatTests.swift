import Foundation
import ParleyConformance
import ParleyProfiles
import Testing

let kit = ConformanceKit(containing: #filePath)!

@Suite struct ShippedFixtureTests {
    @Test func atLeastFortyConversationsParse() throws {
        let conversations = try kit.conversations()
        #expect(conversations.count >= 40)
        #expect(Set(conversations.map(\.name)).count == conversations.count)
    }

    @Test func everyRawFixtureExists() throws {
        for conversation in try kit.conversations() {
            for case .client(_, .rawFixture(let name), let line) in conversation.steps {
                let file = kit.fixturesDirectory.appendingPathComponent("frames/\(name).stomp")
                #expect(FileManager.default.fileExists(atPath: file.path), "\(conversation.name):\(line) \(name)")
            }
        }
    }

    @Test func everyTagIsClaimedBySomeProfileOrIsRuntime() throws {
        let profiles = try ServerProfile.loadAll(in: kit.profilesDirectory)
        let claimed = profiles.reduce(into: Set<String>()) { $0.formUnion($1.capabilities) }.union(["token-minting"])
        for conversation in try kit.conversations() {
            for tag in conversation.tags {
                #expect(claimed.contains(tag), "\(conversation.name) uses tag \(tag) that no profile claims")
            }
        }
    }

    @Test func everyDeviationNamesAnExistingConversation() throws {
        let names = Set(kit.conversationNames())
        for profile in try ServerProfile.loadAll(in: kit.profilesDirectory) {
            for deviation in profile.deviations {
                #expect(names.contains(deviation.conversation), "\(profile.name): \(deviation.conversation)")
            }
        }
    }

    @Test func genericConversationsUseOnlyPlainSTOMPOrProfileMappedDestinations() throws {
        // A generic conversation must be able to run on any broker: no Spring /app or /user destinations.
        for conversation in try kit.conversations() where conversation.isGeneric {
            let file = try String(contentsOf: kit.conversationsDirectory.appendingPathComponent("\(conversation.name).yaml"), encoding: .utf8)
            let text = try #require(file.components(separatedBy: "\nsteps:").last)
            #expect(!text.contains("/app/"), "\(conversation.name)")
            #expect(!text.contains("/user/"), "\(conversation.name)")
        }
    }
}

@Suite struct ParserTests {
    let minimal = """
        name: t
        title: T
        tags: [generic]
        clients:
          alice: {}
        steps:

        """

    func parse(_ steps: String) throws(ConversationFormatError) -> Conversation {
        try ConversationParser(source: "t.yaml").parse(minimal + steps)
    }

    func error(_ steps: String) -> ConversationFormatError? {
        do {
            _ = try parse(steps)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesActionsAndOptions() throws {
        let conversation = try parse(
            """
              - alice: connect
              - alice: {subscribe: /queue/a, id: s1, ack: client-individual, receipt: r}
              - alice: {expect: MESSAGE, headers: {destination: /queue/a, x: {regex: '^\\d+$'}, y: {absent: true}}, body: {contains: hi}, within: 500ms, capture: {m: ack, j: {json: a.b}}}
              - sleep: 1.5s
              - parallel:
                  - alice: {expect_nothing: 200ms}
              - alice: {raw: "FOO\\n\\n\\0"}
              - alice: {disconnect: {receipt: bye}}
            """)
        #expect(conversation.steps.count == 7)
        guard case .client("alice", .subscribe(let destination, let id, let ack, let receipt, _), 8) = conversation.steps[1] else {
            Issue.record("subscribe not parsed: \(conversation.steps[1])")
            return
        }
        #expect(destination == "/queue/a" && id == "s1" && ack == "client-individual" && receipt == "r")
        guard case .client(_, .expect(let expectation), _) = conversation.steps[2] else {
            Issue.record("expect not parsed")
            return
        }
        #expect(expectation.headers == [
            HeaderMatch("destination", .equals("/queue/a")), HeaderMatch("x", .regex(#"^\d+$"#)), HeaderMatch("y", .absent),
        ])
        #expect(expectation.body == .contains("hi"))
        #expect(expectation.within == 0.5)
        #expect(expectation.captures == [Capture(name: "m", source: .header("ack")), Capture(name: "j", source: .jsonField("a.b"))])
        #expect(conversation.steps[3] == .sleep(seconds: 1.5, line: 10))
        guard case .client(_, .raw(let bytes), _) = conversation.steps[5] else {
            Issue.record("raw not parsed")
            return
        }
        #expect(bytes == Array("FOO\n\n\0".utf8))
        guard case .client(_, .disconnect(let bye), _) = conversation.steps[6] else { return }
        #expect(bye == "bye")
    }

    @Test func unknownActionIsReportedWithLineAndChoices() {
        let failure = error("  - alice: {sned: /queue/a}\n")
        #expect(failure?.line == 7)
        #expect(failure?.message.contains("not 'sned'") == true)
        #expect(failure?.message.contains("subscribe") == true)
    }

    @Test func unknownClientIsReported() {
        let failure = error("  - bob: connect\n")
        #expect(failure?.message == "unknown client 'bob' (declared: alice)")
    }

    @Test func unknownOptionIsReported() {
        let failure = error("  - alice: {send: /q, bdy: x}\n")
        #expect(failure?.message.hasPrefix("unknown key 'bdy' in send") == true)
    }

    @Test func badDurationIsReported() {
        let failure = error("  - alice: {expect_nothing: soon}\n")
        #expect(failure?.message == "duration 'soon' must look like 500ms, 2s or 1.5")
    }

    @Test func invalidRegexIsReported() {
        let failure = error("  - alice: {expect: MESSAGE, body: {regex: '('}}\n")
        #expect(failure?.message == "invalid regular expression '('")
    }

    @Test func unknownMatcherIsReported() {
        let failure = error("  - alice: {expect: MESSAGE, body: {startsWith: x}}\n")
        #expect(failure?.message.contains("unknown matcher 'startsWith'") == true)
    }

    @Test func badTokenKindIsReported() throws {
        let yaml = minimal.replacingOccurrences(of: "alice: {}", with: "alice: {token: stolen}") + "  - alice: connect\n"
        #expect(throws: ConversationFormatError.self) { try ConversationParser(source: "t.yaml").parse(yaml) }
    }

    @Test func missingTagsAreRejected() {
        let yaml = minimal.replacingOccurrences(of: "tags: [generic]", with: "tags: []") + "  - alice: connect\n"
        #expect(throws: ConversationFormatError(source: "t.yaml", line: 1, message: "tags must name at least one capability (e.g. generic)")) {
            try ConversationParser(source: "t.yaml").parse(yaml)
        }
    }

    @Test func invalidYAMLGivesTheLine() {
        let failure = error("  - alice: {send: /q\n")
        #expect(failure?.message.hasPrefix("invalid YAML") == true)
        #expect((failure?.line ?? 0) >= 7)
    }

    @Test func fileNameMustMatchName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("conv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("other.yaml")
        try (minimal + "  - alice: connect\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: ConversationFormatError(source: "other.yaml", line: 1, message: "name 't' must equal the file name 'other'")) {
            try ConversationParser.load(file: file)
        }
    }

    @Test func durations() {
        #expect(ConversationParser.parseDuration("250ms") == 0.25)
        #expect(ConversationParser.parseDuration("2s") == 2)
        #expect(ConversationParser.parseDuration("3") == 3)
        #expect(ConversationParser.parseDuration("-1s") == nil)
        #expect(ConversationParser.parseDuration("1h") == nil)
    }
}
