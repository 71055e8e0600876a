"""Package data of eacontrol (the acupoint registry), loaded through importlib.resources."""
