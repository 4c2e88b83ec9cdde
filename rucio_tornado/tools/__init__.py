"""Operator tools around the server: the bulk loader."""
