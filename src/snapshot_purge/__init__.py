"""Purge Alibaba Cloud ICE live snapshot files: the engine behind the Function Compute handler."""
