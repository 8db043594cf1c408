"""The engines every flow is made of: registry sync (this package's registry module) and document transfer."""
