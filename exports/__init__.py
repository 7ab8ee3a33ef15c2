"""Excel packs for the Place Committees and the Steering Group (see exports/pack.py)."""

from exports.pack import PLACES, build_pack, pack_filename, resolve_period, write_pack

__all__ = ["PLACES", "build_pack", "pack_filename", "resolve_period", "write_pack"]
