"""The registry of residents, employers and institutions, fed from department data.

Owns: persons (surrogate id; the resident ID number only SM4-encrypted with an HMAC-SM3 blind
index), their version history, employers (unified social credit code), institutions (hospitals,
pharmacies, banks, training and appraisal bodies), and household-register imports with their
rejected rows. Invariant: one person per resident ID number. Scope checks (which staff may see
whom) are applied by callers through the county filter every query takes.
"""
