"""Business logic: commands take a Session first and own the commit."""
