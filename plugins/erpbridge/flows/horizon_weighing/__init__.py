"""Visma Horizon sales orders of weighed goods -> the weighing system -> delivery notes by actual weight."""
