"""The web console: server-rendered screens for attendants, registrars, citizens and guests."""
