"""The one domain error type; the CLI turns it into a one-line message and an exit code."""


class CcmError(Exception):
    """A refusal the user can act on: bad input, a missing file, a rule that forbids the action.

    `exit_code` follows the contract: 1 refused or data errors, 2 wrong usage.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
