"""Disaster alerts: the Kontur Event API (and optionally USGS) by Disaster Ninja's rules."""
