"""Printed documents built with reportlab from the services' read models. No Qt, no SQL.

Each `write_*` function lays a document out into a binary file object (a file from
`output.atomic_output`, or a BytesIO for an on-screen preview) and returns its page count.
"""
