"""Customers (persons and companies), their contacts, contact persons and consents."""
