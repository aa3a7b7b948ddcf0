"""The base of every typed config block: unknown keys and wrong types are errors."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, frozen=True, populate_by_name=True)
