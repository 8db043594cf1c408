"""One package per flow family."""
