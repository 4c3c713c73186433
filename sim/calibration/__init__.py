"""Calibration to empirical facts: ABC-SMC (pyabc) on Dask finds the parameter region whose runs fall inside the facts' bands."""
