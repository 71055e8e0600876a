"""Golden vectors of the wire protocol (PROTOCOL.md §9), shipped as package data.

Load them with ``importlib.resources.files("firmware_protocol.vectors") / "messages.json"``.
"""
