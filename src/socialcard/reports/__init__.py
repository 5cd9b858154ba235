"""Reports: documents (XLSX workbooks, PDF files) for people outside the platform.

A report gathers figures that other areas compute — the catalogue figures of
`socialcard.catalog.metrics`, the responsible units, the region names — and lays them out.
It never computes a figure itself: every number it prints comes from those functions, so the
report, the API and the dashboard cannot disagree.
"""
