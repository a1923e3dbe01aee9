"""One Flask-RESTX namespace per resource, as in the seed tutorial."""
