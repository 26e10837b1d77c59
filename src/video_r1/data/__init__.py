"""Data side of video-r1: record loading and validation, media resolution, vision presets, mixing.

Submodules are imported explicitly (``from video_r1.data.records import load_records``); this package file
stays empty so that importing one submodule never pulls in the heavy dependencies of another.
"""
