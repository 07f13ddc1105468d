"""Code sets and identifier formats: ICD-10-CM, NPI, MBI, patient and entry ids."""
