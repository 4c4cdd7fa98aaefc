"""Driving hot paths: the open-loop scheduler, one driver per hot-path kind, and the clients they use."""
