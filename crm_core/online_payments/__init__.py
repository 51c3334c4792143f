"""Payments taken online through a provider (ЮKassa): the links made for orders and the
provider's notifications, each verified by the door before it reaches this package."""
