"""Who is asking and what they may do: credentials, viewers, roles, permissions."""
