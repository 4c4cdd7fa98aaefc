"""The one error type users can cause: caught at the CLI edge and printed as a single line (exit 2)."""


class LoadgenError(Exception):
    """A problem with the user's input or environment, described in one line: where, what, what to do."""

    exit_code = 2
