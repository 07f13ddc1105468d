"""What changes the data directory: init, patients, time entries, imports, exports."""
