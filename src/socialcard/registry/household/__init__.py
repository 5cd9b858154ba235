"""Importing the public-security household register (数据采集和核对): column mapping, streaming
readers for CSV (UTF-8, GBK, GB18030) and XLSX, pure row rules, and the chunked, resumable,
idempotent import that writes persons set-based and keeps every rejected row with its reason.
"""
