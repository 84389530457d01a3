"""The AccountView-style error the sandbox answers with (NOTES §8): ErrorType, ErrorNumbers, ErrorMessage."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self, message: str, *, status: int = 400, error_type: str = "AccountViewError", number: int = 1000
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.number = number

    def body(self) -> dict[str, Any]:
        return {"ErrorType": self.error_type, "ErrorNumbers": [self.number], "ErrorMessage": self.message}


def field_error(table: str, field: str, dutch: str, english: str, *, number: int) -> ApiError:
    """Messages name the field as TABLE.FIELD, in Dutch and English, as AccountView's own messages do."""
    return ApiError(f"Veld {table}.{field} {dutch} / Field {table}.{field} {english}", number=number)
