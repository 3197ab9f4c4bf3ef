"""Stores: where a registry keeps its runs. `RunStore` is the interface; `FileStore` (a folder, the default) and
`InMemoryStore` (this process only) implement it."""

from vectorbt.portfolio.registry.stores.base import Problem, RunStore
from vectorbt.portfolio.registry.stores.file_store import FileStore
from vectorbt.portfolio.registry.stores.memory import InMemoryStore

__all__ = ["RunStore", "Problem", "FileStore", "InMemoryStore"]
