"""Standard Books -> Envoice master data, Envoice -> Standard Books purchase documents."""
