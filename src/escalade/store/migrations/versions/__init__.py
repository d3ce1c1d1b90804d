"""escalade.store.migrations.versions"""

__all__ = []
