"""Stores keep runs: `RunStore` is the interface, `FileStore` the default implementation."""

from vectorbt.portfolio.registry.stores.base import Problem, RunStore
from vectorbt.portfolio.registry.stores.file_store import FileStore

__all__ = ["RunStore", "FileStore", "Problem"]
