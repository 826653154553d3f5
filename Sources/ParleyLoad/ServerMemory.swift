/// Resident set size of a local process, from `/proc/<pid>/status` (Linux).
public enum ServerMemory {
    /// `VmRSS` of `pid` in KiB, or nil when unavailable.
    public static func residentKiB(pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst("VmRSS:".count).split(whereSeparator: \.isWhitespace).first ?? "")
        }
        return nil
    }
}

import Foundation
