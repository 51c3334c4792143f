"""The public, anonymous intake: form pages, the embed script, submissions, anti-spam."""

from webforms.app import create_webforms
from webforms.config import WebformsConfig

__all__ = ["WebformsConfig", "create_webforms"]
