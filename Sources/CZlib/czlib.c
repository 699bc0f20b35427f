// Intentionally empty: CZlib only exposes the system zlib header.
