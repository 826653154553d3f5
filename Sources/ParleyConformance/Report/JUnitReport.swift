import Foundation

/// Writes JUnit XML (the Jenkins/Surefire schema that GitHub, GitLab and Jenkins render).
///
/// One `<testsuite>` per report (profile + transport), one `<testcase>` per conversation. Failures carry the step,
/// the expected frame and the frames received; deviations pass with the reason in `<system-out>`; skips use
/// `<skipped message=…>`.
public enum JUnitReport {
    /// The XML document for `reports`.
    public static func xml(for reports: [ConformanceReport]) -> String {
        let tests = reports.reduce(0) { $0 + $1.results.count }
        let failures = reports.reduce(0) { $0 + $1.count(.fail) }
        let skipped = reports.reduce(0) { $0 + $1.count(.skipped) }
        let time = reports.reduce(0) { $0 + $1.seconds }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        // `skipped` is not an attribute of <testsuites> in the Jenkins/Surefire schema; it sits on <testsuite>.
        xml += #"<testsuites name="parley-conformance" tests="\#(tests)" failures="\#(failures)" errors="0" "#
            + #"disabled="\#(skipped)" time="\#(seconds(time))">"# + "\n"
        for report in reports {
            let suiteName = "\(report.profile) (\(report.transport))"
            xml += #"  <testsuite name="\#(escape(suiteName))" tests="\#(report.results.count)" "#
                + #"failures="\#(report.count(.fail))" errors="0" skipped="\#(report.count(.skipped))" "#
                + #"time="\#(seconds(report.seconds))" timestamp="\#(escape(String(report.startedAt.prefix(19))))" "#
                + #"hostname="\#(escape(hostName(of: report.url)))">"# + "\n"
            xml += "    <properties>\n"
            xml += #"      <property name="profile" value="\#(escape(report.profile))"/>"# + "\n"
            xml += #"      <property name="url" value="\#(escape(report.url))"/>"# + "\n"
            xml += #"      <property name="transport" value="\#(escape(report.transport))"/>"# + "\n"
            xml += "    </properties>\n"
            for result in report.results {
                xml += #"    <testcase classname="conformance.\#(escape(report.profile)).\#(escape(report.transport))" "#
                    + #"name="\#(escape(result.name))" time="\#(seconds(result.seconds))""#
                switch result.verdict {
                case .pass:
                    xml += "/>\n"
                case .skipped:
                    xml += ">\n"
                    xml += #"      <skipped message="\#(escape(result.reason ?? "skipped"))"/>"# + "\n"
                    xml += "    </testcase>\n"
                case .deviation:
                    xml += ">\n"
                    var text = "known deviation: \(result.reason ?? "")"
                    if let failure = result.failure { text += "\n\nobserved:\n" + failure.text }
                    xml += "      <system-out>\(escape(text))</system-out>\n"
                    xml += "    </testcase>\n"
                case .fail:
                    xml += ">\n"
                    let message = result.failure?.message ?? result.reason ?? "failed"
                    let body = result.failure?.text ?? message
                    xml += #"      <failure message="\#(escape(message))" type="conformance">\#(escape(body))</failure>"# + "\n"
                    xml += "    </testcase>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    /// Escapes text for XML 1.0 content and attributes; characters XML 1.0 forbids become `\xNN` text.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            case "\n", "\t": output.unicodeScalars.append(scalar)
            case "\r": output += "&#13;"
            case let s where s.value < 0x20 || (0xFFFE...0xFFFF).contains(s.value) || (0xD800...0xDFFF).contains(s.value):
                output += String(format: "\\x%02X", s.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static func hostName(of url: String) -> String {
        URLComponents(string: url)?.host ?? "unknown"
    }

    private static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }
}
