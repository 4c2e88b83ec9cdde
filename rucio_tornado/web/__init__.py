"""The HTTP side: one base handler, one stream writer, one route table."""
