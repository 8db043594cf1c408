"""Visma Horizon employee cards -> Active Directory accounts."""
