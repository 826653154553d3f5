import Foundation
import ParleyConformance
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Collects elements and attributes of an XML document (and proves it is well-formed).
final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [(name: String, attributes: [String: String])] = []
    var text: [String: String] = [:]
    private var current: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append((name, attributes))
        current = name
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current { text[current, default: ""] += string }
    }

    static func parse(_ xml: String) -> XMLCollector? {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = XMLCollector()
        parser.delegate = collector
        return parser.parse() ? collector : nil
    }
}

@Suite struct JUnitReportTests {
    let failure = FailureDetail(
        step: "4", line: 12, client: "bob", action: "expect MESSAGE",
        message: #"header destination is "/queue/b", expected "/queue/a""#, expected: "MESSAGE\ndestination: \"/queue/a\"",
        received: ["MESSAGE\ndestination:/queue/b\nx:<&>\"'\n\nbody with NUL\u{0} and bell \u{7}^@"])

    var report: ConformanceReport {
        ConformanceReport(
            profile: "rabbitmq", url: "tcp://127.0.0.1:61613", transport: "tcp", startedAt: "2026-11-25T10:00:00Z",
            seconds: 1.5,
            results: [
                ConversationResult(name: "ok", title: "passes", tags: ["generic"], verdict: .pass, seconds: 0.1),
                ConversationResult(
                    name: "broken", title: "fails", tags: ["generic"], verdict: .fail, seconds: 0.2, reason: failure.message,
                    failure: failure),
                ConversationResult(
                    name: "known", title: "deviates", tags: ["generic"], verdict: .deviation, seconds: 0.3,
                    reason: "keeps the connection open", failure: failure),
                ConversationResult(
                    name: "n/a", title: "skipped", tags: ["auth-bearer"], verdict: .skipped, seconds: 0,
                    reason: "capability missing: auth-bearer"),
            ])
    }

    @Test func xmlIsWellFormedWithJUnitStructure() throws {
        let xml = JUnitReport.xml(for: [report])
        let parsed = try #require(XMLCollector.parse(xml), "not well-formed XML:\n\(xml)")
        let names = parsed.elements.map(\.name)
        #expect(names.first == "testsuites")
        #expect(names.filter { $0 == "testsuite" }.count == 1)
        #expect(names.filter { $0 == "testcase" }.count == 4)
        #expect(names.filter { $0 == "failure" }.count == 1)
        #expect(names.filter { $0 == "skipped" }.count == 1)
        let suite = try #require(parsed.elements.first { $0.name == "testsuite" })
        #expect(suite.attributes["tests"] == "4")
        #expect(suite.attributes["failures"] == "1")
        #expect(suite.attributes["skipped"] == "1")
        #expect(suite.attributes["errors"] == "0")
        let failureElement = try #require(parsed.elements.first { $0.name == "failure" })
        #expect(failureElement.attributes["message"] == failure.message)
    }

    @Test func failureBodyShowsStepExpectedAndReceivedEscaped() throws {
        let xml = JUnitReport.xml(for: [report])
        let parsed = try #require(XMLCollector.parse(xml))
        let body = try #require(parsed.text["failure"])
        #expect(body.contains("step 4 (line 12), client bob: expect MESSAGE"))
        #expect(body.contains("expected:\n    MESSAGE\n    destination: \"/queue/a\""))
        #expect(body.contains("x:<&>\"'"))
        #expect(body.contains("body with NUL\\x00 and bell \\x07^@"))
        #expect(!xml.contains("\u{0}"))
    }

    @Test func deviationsPassWithTheReason() throws {
        let parsed = try #require(XMLCollector.parse(JUnitReport.xml(for: [report])))
        #expect(parsed.text["system-out"]?.hasPrefix("known deviation: keeps the connection open") == true)
    }

    @Test func jsonReportRoundTrips() throws {
        let data = try report.jsonData()
        let decoded = try JSONDecoder().decode(ConformanceReport.self, from: data)
        #expect(decoded == report)
        #expect(!report.succeeded)
        #expect(report.count(.deviation) == 1)
    }

    @Test func summaryTableCountsVerdicts() {
        let table = report.summaryTable()
        #expect(table.contains("rabbitmq over tcp (tcp://127.0.0.1:61613): 1 passed, 1 failed, 1 known deviations, 1 skipped"))
        #expect(table.contains("broken"))
    }
}
