"""The data directory on disk: finding it, reading and writing its files safely, caches."""
