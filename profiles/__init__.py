"""The stored profile library, installed as ``eacontrol.stored_profiles`` (profiles/README.md)."""
