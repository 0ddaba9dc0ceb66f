"""Dumps of a whole graph as JSON Lines: the format, reading and checking one, writing one."""
