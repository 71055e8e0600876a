"""Safety: the limit layers and their sources, range checks, and placement rules."""
