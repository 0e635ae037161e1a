"""Importers of records from other archives (EMPIAR, IDR) into the content format."""
