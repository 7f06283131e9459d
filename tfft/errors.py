"""The one exception type for mistakes a user can fix (bad flags, data, paths).

The CLI prints these as a single line and exits with status 2; anything else is a bug
and keeps its traceback.
"""


class TfftError(ValueError):
    """A user-fixable problem; the message says what was wrong, what was received and the fix."""
