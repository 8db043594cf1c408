"""Pure functions, one module per flow: source record -> target record, or RecordRejected(reason)."""
