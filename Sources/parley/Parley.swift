import ArgumentParser

/// The `parley` command line: one subcommand per area, each in its own file.
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Parley: a STOMP 1.2 chat back end and STOMP test kit.",
        subcommands: [
            FramesCommand.self,
            ServeCommand.self,
            LoadCommand.self,
            ConformanceCommand.self,
        ]
    )
}
