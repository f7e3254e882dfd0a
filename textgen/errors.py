"""User-facing errors: anything raised as TextgenError is printed by the CLI as one line (exit 1)
and mapped by the service to a 4xx JSON body. Internal bugs stay ordinary exceptions."""


class TextgenError(Exception):
    """A problem with the user's input, files or environment, explained in one line."""


class CorpusError(TextgenError):
    """A corpus manifest, download or text that cannot be used."""


class TokenizerError(TextgenError):
    """Text that a tokenizer cannot encode (e.g. unknown characters)."""


class CheckpointError(TextgenError):
    """A checkpoint file or run directory that is missing, corrupt or incompatible."""


class ConfigError(TextgenError):
    """An invalid option value or combination of options."""
