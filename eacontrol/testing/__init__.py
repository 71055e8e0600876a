"""Testing support shipped with eacontrol: the pytest plugin and its fixtures (docs/testing.md)."""
