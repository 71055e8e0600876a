"""pytest plugin of eacontrol: simulator and stimulator fixtures (see docs/testing.md)."""
