"""Developer tools for tests, benchmarks and scripts; not part of the installed package.

`browser` drives the demo page in Debian's Chromium with Playwright. It lives
outside `sim/` so that the product never imports Playwright.
"""
