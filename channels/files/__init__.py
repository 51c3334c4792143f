"""Spreadsheets and address books in and out: CSV (UTF-8 with or without BOM,
windows-1251; ``;``, ``,`` or tab), XLSX (openpyxl, read-only/write-only) and vCard."""
