"""Errors that entry scripts report as one line with exit status 2."""


class InputError(Exception):
    """A bad config value, CLI flag or data file; the message names the value and the fix."""
