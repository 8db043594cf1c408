"""Visma Horizon payroll runs -> pain.001 credit-transfer files for the bank."""
