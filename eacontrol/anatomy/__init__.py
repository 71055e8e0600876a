"""Anatomy: the acupoint registry (WHO 2008 codes, names, regions, aliases) and needle sites."""
