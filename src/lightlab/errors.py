"""The one exception type that means "the user asked for something wrong"."""


class UserError(Exception):
    """A mistake in the user's input: the CLI prints its message as one line and exits with status 2.

    The message should name the problem and the fix, e.g.
    ``"checkpoint not found: runs/x.ckpt (pass an existing file to --ckpt_path)"``.
    """


def user_error_in(error: BaseException | None) -> UserError | None:
    """The ``UserError`` an exception was raised from, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UserError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
