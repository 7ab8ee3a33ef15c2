"""Page callbacks, registered by import (`from dash import callback`); thin by design."""

from callbacks import home, measure, pages, shell  # noqa: F401
