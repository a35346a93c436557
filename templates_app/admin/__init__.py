"""The authoring UI in the Django admin: model admins, the template page, diff and label moves,
the version editor, the charts, and the index's overview. Django's autodiscovery imports this
package."""

from django.contrib import admin

from . import (
    model_admins,  # noqa: F401 - registers the model admins with the admin site
    overview,
)

overview.install(admin.site)
admin.site.site_header = "Cachet"
admin.site.site_title = "Cachet admin"
