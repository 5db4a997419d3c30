"""The demo tenant: a host consultancy, two partner companies, three engagements with content.

Used by `membrane demo` for a laptop tour and, scaled up, by the benchmarks. Never imports `api`.
"""
