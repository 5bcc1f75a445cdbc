"""Alembic environment: newsloom runs migrations in-process (Store.migrate()),
handing the connection over through config.attributes."""

from alembic import context

from newsloom.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
