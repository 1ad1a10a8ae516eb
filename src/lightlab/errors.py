"""The one exception type that means "the user asked for something wrong"."""


class UserError(Exception):
    """A mistake in the user's input: the CLI prints its message as one line and exits with status 2.

    The message should name the problem and the fix, e.g.
    ``"checkpoint not found: runs/x.ckpt (pass an existing file to --ckpt_path)"``.
    """
