"""The plugin's test project (``project/``) runs in its own pytest process, not in this one."""

collect_ignore = ["project"]
