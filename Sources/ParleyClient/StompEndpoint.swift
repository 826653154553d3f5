/// Where a STOMP server listens and how to reach it.
///
/// Parsed from `tcp://host:port`, `stomp://host:port` (both plain TCP, default port 61613) or
/// `ws://host:port/path` (STOMP over WebSocket, default port 80, default path `/`).
public struct StompEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The byte stream a connection runs over.
    public enum Transport: Sendable, Hashable {
        /// STOMP frames directly on a TCP connection.
        case tcp
        /// STOMP frames inside WebSocket messages; `path` is the HTTP upgrade request target.
        case webSocket(path: String)
    }

    /// Host name or IP address to connect to.
    public var host: String
    /// TCP port.
    public var port: Int
    /// TCP or WebSocket.
    public var transport: Transport

    /// Creates an endpoint from its parts.
    public init(host: String, port: Int, transport: Transport) {
        self.host = host
        self.port = port
        self.transport = transport
    }

    /// A plain TCP endpoint.
    public static func tcp(host: String, port: Int = 61613) -> StompEndpoint {
        StompEndpoint(host: host, port: port, transport: .tcp)
    }

    /// A WebSocket endpoint.
    public static func webSocket(host: String, port: Int, path: String) -> StompEndpoint {
        StompEndpoint(host: host, port: port, transport: .webSocket(path: path.isEmpty ? "/" : path))
    }

    /// Parses `tcp://host:port`, `stomp://host:port` or `ws://host:port/path`.
    /// Also accepts a bare `host:port` as TCP. IPv6 literals go in brackets: `tcp://[::1]:61613`.
    public init(url: String) throws(StompEndpointError) {
        var rest = Substring(url.trimmingWhitespace())
        var scheme = "tcp"
        if let range = rest.firstRange(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        }
        let isWebSocket: Bool
        switch scheme {
        case "tcp", "stomp": isWebSocket = false
        case "ws": isWebSocket = true
        case "wss", "stomp+ssl", "ssl", "tls":
            throw StompEndpointError(url: url, reason: "TLS (\(scheme)://) is not supported; use tcp://, stomp:// or ws://")
        default:
            throw StompEndpointError(url: url, reason: "unknown scheme '\(scheme)'; use tcp://, stomp:// or ws://")
        }
        var path = "/"
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if !isWebSocket && path != "/" {
            throw StompEndpointError(url: url, reason: "a TCP endpoint has no path")
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw StompEndpointError(url: url, reason: "unterminated IPv6 literal")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw StompEndpointError(url: url, reason: "unexpected text after IPv6 literal")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw StompEndpointError(url: url, reason: "missing host") }
        var port = isWebSocket ? 80 : 61613
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw StompEndpointError(url: url, reason: "invalid port '\(portText)'")
            }
            port = parsed
        }
        self.init(host: String(host), port: port, transport: isWebSocket ? .webSocket(path: path) : .tcp)
    }

    /// The URL form, e.g. `ws://127.0.0.1:15674/ws`.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        switch transport {
        case .tcp: return "tcp://\(hostPart):\(port)"
        case .webSocket(let path): return "ws://\(hostPart):\(port)\(path)"
        }
    }
}

/// A URL that does not name a usable STOMP endpoint.
public struct StompEndpointError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text that was parsed.
    public var url: String
    /// What is wrong with it.
    public var reason: String
    /// "invalid STOMP endpoint URL '…': reason".
    public var description: String { "invalid STOMP endpoint URL '\(url)': \(reason)" }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return slice
    }
}
