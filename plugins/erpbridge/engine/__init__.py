"""The engines every flow is made of: registry sync, document transfer, field checks, common tasks."""
