"""Helpers for the browser tests: headless Chromium screenshots, DOM dumps and console errors."""
from .chromium import CHROMIUM, BrowserResult, chromium_path, open_in_chromium

__all__ = ["CHROMIUM", "BrowserResult", "chromium_path", "open_in_chromium"]
