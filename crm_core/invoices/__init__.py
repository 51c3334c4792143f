"""Invoices for payment made from orders, their PDF, and the firm's requisites."""
