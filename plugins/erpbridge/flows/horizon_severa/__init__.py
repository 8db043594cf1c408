"""Visma Horizon -> Visma Severa: absences as Severa activities of category Absences."""
