"""Where things are and how they run: device/precision (Execution), weight and asset paths, SIGTERM handled like
Ctrl-C.
"""
