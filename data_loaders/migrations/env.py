"""Alembic environment: every run gets its connection and chain from data_loaders.migrate."""

from alembic import context

from data_loaders.migrate import configure

connection = context.config.attributes["connection"]
configure(context, connection, context.config.attributes["chain"])
with context.begin_transaction():
    context.run_migrations()
