"""What ccm reasons about: the records people write, months, findings and errors."""
