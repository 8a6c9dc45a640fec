"""Simulated hardware for hubd. hubd never imports this package."""
