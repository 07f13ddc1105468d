"""The billing rules of ccm-rules.md Part A: a dated table (table.py) read by a small engine."""
