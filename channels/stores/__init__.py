"""Firma as the business system for online stores: the CommerceML 2 client side."""
