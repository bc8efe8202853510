"""One module per `aecli` subcommand."""
