"""Domain errors. Pure: no Django import, so pure modules and their tests can raise them.

Each error declares the HTTP ``status_code`` and the ``type`` it is reported with;
the API's exception handler turns them into ``{"error": {"type", "message", "details"}}``.

    CachetError                      400 invalid_request
      BodyError                      400 invalid_body       (details: [{path, message}])
      VariableError                  400 invalid_variables  (details: [{variable, message}])
      RenderError                    400 render_error       (details: {version, path})
        RenderLimitError             400 render_limit
      LintError                      400 lint_failed        (details: the lint report)
      PermissionDeniedError          403 permission_denied
      NotFoundError                  404 not_found
      ConflictError                  409 conflict
"""

from __future__ import annotations

from typing import Any


class CachetError(Exception):
    """Base of every error the API reports as a 4xx."""

    status_code = 400
    type = "invalid_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BodyError(CachetError):
    """A template body is malformed; ``details`` lists every problem with its path."""

    type = "invalid_body"

    def __init__(self, issues: list[dict[str, str]]) -> None:
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first['path']}: {first['message']}{more}", details=issues)


class VariableError(CachetError):
    """Render variables are missing, unknown or of the wrong type."""

    type = "invalid_variables"

    def __init__(self, issues: list[dict[str, str]]) -> None:
        first = issues[0]
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(
            f"variable '{first['variable']}': {first['message']}{more}", details=issues
        )


class RenderError(CachetError):
    """A template field failed to render; names the field path."""

    type = "render_error"

    def __init__(self, message: str, *, path: str, version: int | None = None) -> None:
        where = f"version {version}, {path}" if version is not None else path
        super().__init__(f"{where}: {message}", details={"version": version, "path": path})


class RenderLimitError(RenderError):
    """Rendering ran out of time or produced too much output."""

    type = "render_limit"


class LintError(CachetError):
    """A body has lint errors; ``details`` is the whole lint report."""

    type = "lint_failed"


class PermissionDeniedError(CachetError):
    """The caller may not do this (e.g. move a protected label without the permission)."""

    status_code = 403
    type = "permission_denied"


class NotFoundError(CachetError):
    """The named template, version or label does not exist."""

    status_code = 404
    type = "not_found"


class ConflictError(CachetError):
    """The request conflicts with what is stored (e.g. a slug already taken)."""

    status_code = 409
    type = "conflict"
