"""Template filters for the admin's figures: ``{% load cachet_format %}`` then
``{{ value|usd }}``, ``{{ value|count }}``, ``{{ ratio|percent }}`` (rules in admin/formats.py)."""

from __future__ import annotations

from django import template

from ..admin import formats

register = template.Library()
register.filter("usd", formats.usd)
register.filter("count", formats.count)
register.filter("percent", formats.percent)
