"""The authoring UI in the Django admin: model admins, the template page, diff and label moves,
the version editor, and the charts. Django's autodiscovery imports this package."""

from . import model_admins  # noqa: F401 - registers the model admins with the admin site
