"""Work time (Severa, CSV inbox) -> a reviewed batch -> Horizon payroll time import."""
