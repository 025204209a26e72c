"""Revision 0001's tables, in two parts a reader looks for apart (versions/0001_initial_schema.py)."""
