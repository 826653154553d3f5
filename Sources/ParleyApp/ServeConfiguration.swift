import Foundation
import ParleyAccounts

/// Settings of `parley serve`, from flags and environment variables (flags win).
///
/// | setting | flag | environment | default |
/// |---|---|---|---|
/// | data directory | `--data-dir` | `PARLEY_DATA_DIR` | `./.data` |
/// | bind host | `--host` | `PARLEY_HOST` | `127.0.0.1` |
/// | account API port | `--account-port` | `PARLEY_ACCOUNT_PORT` | `8085` |
/// | JWT secret file | `--jwt-secret-file` | `PARLEY_JWT_SECRET_FILE` | none |
/// | bcrypt cost | `--bcrypt-cost` | `PARLEY_BCRYPT_COST` | `10` |
///
/// The secret itself may come from `PARLEY_JWT_SECRET` (never from a flag, which `ps` would show).
public struct ServeConfiguration: Sendable, Hashable {
    /// Where SQLite and the generated JWT secret live.
    public var dataDirectory: String
    /// Interface to bind.
    public var host: String
    /// Account REST API port (0 picks a free port).
    public var accountPort: Int
    /// File holding the JWT secret, if not from the environment.
    public var jwtSecretFile: String?
    /// bcrypt cost for new password hashes.
    public var bcryptCost: UInt8

    /// Creates a configuration with the documented defaults.
    public init(
        dataDirectory: String = "./.data", host: String = "127.0.0.1", accountPort: Int = 8085,
        jwtSecretFile: String? = nil, bcryptCost: UInt8 = 10
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.accountPort = accountPort
        self.jwtSecretFile = jwtSecretFile
        self.bcryptCost = bcryptCost
    }

    /// Reads the environment, then the flags (`--name value` or `--name=value`).
    public static func resolve(arguments: [String], environment: [String: String]) throws(ServeConfigurationError)
        -> ServeConfiguration
    {
        var values: [String: String] = [:]
        let environmentNames = [
            "data-dir": "PARLEY_DATA_DIR", "host": "PARLEY_HOST", "account-port": "PARLEY_ACCOUNT_PORT",
            "jwt-secret-file": "PARLEY_JWT_SECRET_FILE", "bcrypt-cost": "PARLEY_BCRYPT_COST",
        ]
        for (flag, variable) in environmentNames {
            if let value = environment[variable], !value.isEmpty { values[flag] = value }
        }
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            guard argument.hasPrefix("--") else { throw .unexpectedArgument(argument) }
            var name = String(argument.dropFirst(2))
            let value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                guard let next = remaining.popFirst() else { throw .missingValue(flag: "--\(name)") }
                value = next
            }
            guard environmentNames[name] != nil else { throw .unknownFlag("--\(name)") }
            values[name] = value
        }

        var configuration = ServeConfiguration()
        if let value = values["data-dir"] { configuration.dataDirectory = value }
        if let value = values["host"] { configuration.host = value }
        if let value = values["account-port"] {
            guard let port = Int(value), (0...65535).contains(port) else {
                throw .invalidValue(setting: "account port", value: value, expected: "0...65535")
            }
            configuration.accountPort = port
        }
        configuration.jwtSecretFile = values["jwt-secret-file"]
        if let value = values["bcrypt-cost"] {
            guard let cost = UInt8(value), PasswordHasher.allowedCosts.contains(cost) else {
                throw .invalidValue(setting: "bcrypt cost", value: value, expected: "4...31")
            }
            configuration.bcryptCost = cost
        }
        return configuration
    }
}

/// A flag or environment variable `parley serve` cannot use.
public enum ServeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A flag that does not exist.
    case unknownFlag(String)
    /// A flag at the end without its value.
    case missingValue(flag: String)
    /// A positional argument.
    case unexpectedArgument(String)
    /// A value out of range.
    case invalidValue(setting: String, value: String, expected: String)

    /// A message for the operator.
    public var description: String {
        switch self {
        case .unknownFlag(let flag): "unknown option \(flag)"
        case .missingValue(let flag): "option \(flag) needs a value"
        case .unexpectedArgument(let argument): "unexpected argument \(argument)"
        case .invalidValue(let setting, let value, let expected): "invalid \(setting) '\(value)': expected \(expected)"
        }
    }
}
