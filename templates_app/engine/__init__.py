"""The template engine: body format, variables, canonical JSON, sandbox, render, lint, diff and
miss explanations. Imports no Django (tests/test_layout.py): plain data in, plain data out."""
