import Foundation
import Yams

/// A profile that cannot be found, read or validated; the description is meant for a CLI user.
public struct ProfileError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file or profile name involved.
    public var source: String
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    /// `source: message`.
    public var description: String { "\(source): \(message)" }
}

extension ServerProfile {
    /// Parses and validates a profile from YAML text; `source` names it in errors.
    public static func parse(yaml: String, source: String = "profile") throws(ProfileError) -> ServerProfile {
        let profile: ServerProfile
        do {
            profile = try YAMLDecoder().decode(ServerProfile.self, from: yaml)
        } catch let error as DecodingError {
            throw ProfileError(source: source, message: Self.describe(error))
        } catch {
            throw ProfileError(source: source, message: "not valid YAML: \(error)")
        }
        try profile.validate(source: source)
        return profile
    }

    /// Loads a profile file.
    public static func load(file: URL) throws(ProfileError) -> ServerProfile {
        let text: String
        do { text = try String(contentsOf: file, encoding: .utf8) } catch {
            throw ProfileError(source: file.path, message: "cannot read file (\(error.localizedDescription))")
        }
        return try parse(yaml: text, source: file.lastPathComponent)
    }

    /// Loads `name` (a profile name looked up as `NAME.yaml` in `directory`, or a path to a YAML file).
    public static func load(named name: String, in directory: URL) throws(ProfileError) -> ServerProfile {
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.contains("/") {
            return try load(file: URL(fileURLWithPath: name))
        }
        let file = directory.appendingPathComponent("\(name).yaml")
        guard FileManager.default.fileExists(atPath: file.path) else {
            let known = availableNames(in: directory)
            throw ProfileError(
                source: name,
                message: "no such profile in \(directory.path)"
                    + (known.isEmpty ? "" : " (available: \(known.joined(separator: ", ")))"))
        }
        return try load(file: file)
    }

    /// Names of the `*.yaml` profiles in `directory`, sorted.
    public static func availableNames(in directory: URL) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Loads every profile in `directory`.
    public static func loadAll(in directory: URL) throws(ProfileError) -> [ServerProfile] {
        var profiles: [ServerProfile] = []
        for name in availableNames(in: directory) {
            profiles.append(try load(file: directory.appendingPathComponent("\(name).yaml")))
        }
        return profiles
    }

    /// Checks cross-field rules the decoder cannot: the chosen auth method has its settings, URLs parse.
    public func validate(source: String) throws(ProfileError) {
        switch auth.method {
        case .bearer:
            if auth.accountAPI == nil {
                throw ProfileError(source: source, message: "auth.method bearer needs auth.account_api")
            }
        case .login:
            if auth.login == nil {
                throw ProfileError(source: source, message: "auth.method login needs auth.login {login, passcode}")
            }
        case .none:
            break
        }
        if case .signupField = auth.userID, auth.accountAPI == nil {
            throw ProfileError(source: source, message: "auth.user_id from signup needs auth.account_api")
        }
        for (key, url) in connection.urls {
            guard TransportKind(rawValue: key) != nil else {
                throw ProfileError(source: source, message: "connection.urls key '\(key)' must be tcp or websocket")
            }
            guard let parsed = URLComponents(string: url), let scheme = parsed.scheme,
                TransportKind(urlScheme: scheme) != nil
            else {
                throw ProfileError(source: source, message: "connection.urls.\(key) '\(url)' is not a tcp:// or ws:// URL")
            }
        }
        for deviation in deviations where deviation.reason.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ProfileError(source: source, message: "deviation for \(deviation.conversation) has no reason")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let text = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing key '\(key.stringValue)'" + (parent == "top level" ? "" : " in \(parent)")
        case .typeMismatch(let type, let context):
            return "\(path(context)): expected \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "\(path(context)): missing \(type) value"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
