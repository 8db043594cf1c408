"""E-service payments -> Visma Horizon: the payer as a customer, a paid sales invoice, a credit note for a refund."""
