import ArgumentParser
import Foundation
import ParleyApp

/// `parley serve`: runs the account REST API (SQLite store in the data directory) until SIGINT/SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Parley server: the account REST API (default port 8085).",
        discussion: """
            Environment: PARLEY_DATA_DIR, PARLEY_HOST, PARLEY_ACCOUNT_PORT, PARLEY_JWT_SECRET_FILE, PARLEY_BCRYPT_COST \
            (flags win), and PARLEY_JWT_SECRET (at least 32 bytes). Without a secret one is generated once and kept \
            in the data directory (mode 0600), so restarts keep tokens valid.
            """
    )

    @Option(name: .customLong("data-dir"), help: "Data directory (SQLite, generated JWT secret). Default ./.data")
    var dataDirectory: String?
    @Option(help: "Interface to bind. Default 127.0.0.1")
    var host: String?
    @Option(name: .customLong("account-port"), help: "Account REST API port. Default 8085")
    var accountPort: String?
    @Option(name: .customLong("jwt-secret-file"), help: "File holding the JWT secret (at least 32 bytes).")
    var jwtSecretFile: String?
    @Option(name: .customLong("bcrypt-cost"), help: "bcrypt cost for new password hashes (4...31). Default 10")
    var bcryptCost: String?

    func run() async throws {
        var arguments: [String] = []
        let flags: [(String, String?)] = [
            ("--data-dir", dataDirectory), ("--host", host), ("--account-port", accountPort),
            ("--jwt-secret-file", jwtSecretFile), ("--bcrypt-cost", bcryptCost),
        ]
        for case (let flag, let value?) in flags { arguments += [flag, value] }
        let status = await ParleyServe.main(arguments: arguments)
        if status != 0 { throw ExitCode(status) }
    }
}
