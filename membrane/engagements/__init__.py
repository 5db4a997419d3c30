"""Engagements, their participants and members, zones and content.

Owns the row-visibility rule (membership plus zone). Never imports `api`.
"""
