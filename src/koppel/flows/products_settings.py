"""Settings of the products flow (AccountView articles into the shop), validated before they are saved.

Where the reference integration is silent the plausible choice is the default and a setting says so:
which articles belong in the shop, how variant articles are grouped into one shop product (AccountView
has no variant concept), what a blocked article becomes in the shop, and whether descriptive fields the
shop may have enriched are overwritten on update.
"""

from __future__ import annotations

import re
from typing import Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from koppel.reasons import invalid, reason


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attribute(_Strict):
    """One attribute that makes variants (size, colour): the shop's option list and where its value is read."""

    list_name: str = Field(min_length=1, max_length=100, description="the shop's option list, found by name or created")
    field: str | None = Field(
        None, description="AccountView ARTICLE field holding the value (e.g. a free field); none: read it from the "
        "code pattern's group of the same name, or the mapping table's options",
    )
    list_id: int | None = Field(
        None, description="the shop's list id; none: found by name on the shop's articles (the API can't list them)"
    )

    @field_validator("field")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value and value.strip() else None


class TableEntry(_Strict):
    """An article's place in a variant product, by the mapping table: its parent and, optionally, its options."""

    parent: str = Field(min_length=1)
    options: dict[str, str] = Field(default_factory=dict, description="option list name → value")


class Grouping(_Strict):
    """How AccountView articles form variant (configurable) shop products.

    - none: every article is a simple product;
    - parent_field: an ARTICLE field holds the parent's code (empty: a simple article);
    - code_pattern: a regular expression over the article code; its group `parent` is the parent's code and
      its other named groups are option values (`(?P<parent>[^-]+)-(?P<Kleur>[^-]+)-(?P<Maat>[^-]+)` reads
      SHIRT-RED-M as parent SHIRT, Kleur RED, Maat M); a code that does not match is a simple article;
    - table: article code → parent (and optionally the options), for catalogues no rule describes.

    An article whose code is a parent's code is that variant product's own article: it gives the product its
    name, texts, category and image; without one the first variant (by code) does.
    """

    rule: Literal["none", "parent_field", "code_pattern", "table"] = "none"
    parent_field: str | None = Field(None, description="parent_field: the ARTICLE field holding the parent code")
    code_pattern: str | None = Field(None, description="code_pattern: a regular expression with a group named parent")
    table: dict[str, TableEntry] = Field(default_factory=dict, description="table: article code → its parent")
    attributes: list[Attribute] = Field(default_factory=list, description="the attributes that make variants")

    @field_validator("parent_field")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value and value.strip() else None

    @field_validator("table", mode="before")
    @classmethod
    def _short_entries(cls, value: object) -> object:
        """`{"SHIRT-RED-M": "SHIRT"}` is short for `{"SHIRT-RED-M": {"parent": "SHIRT"}}`."""
        if isinstance(value, dict):
            return {str(k).strip().upper(): {"parent": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _rule_complete(self) -> Grouping:
        if self.rule == "parent_field" and not self.parent_field:
            raise invalid(reason("the parent_field rule needs parent_field (the ARTICLE field holding the parent "
                                 "code)"))
        if self.rule == "code_pattern":
            self._check_pattern()
        if self.rule == "table" and not self.table:
            raise invalid(reason("the table rule needs a table (article code → parent)"))
        if self.rule != "none" and not self.attributes:
            raise invalid(reason("variant products need at least one attribute (the option list the variants "
                                 "differ in)"))
        names = [a.list_name.casefold() for a in self.attributes]
        if len(set(names)) != len(names):
            raise invalid(reason("each attribute needs its own option list name"))
        return self

    def _check_pattern(self) -> None:
        if not self.code_pattern:
            raise invalid(reason("the code_pattern rule needs code_pattern (a regular expression with a parent "
                                 "group)"))
        pattern = repr(self.code_pattern)
        try:
            compiled = re.compile(self.code_pattern)
            re2.compile(self.code_pattern)  # what runs: linear time, whatever the pattern
        except (re.error, re2.error) as error:
            raise invalid(reason("code_pattern {pattern} is not a regular expression: {error}", pattern=pattern,
                                 error=str(error))) from None
        if "parent" not in compiled.groupindex:
            raise invalid(reason("code_pattern {pattern} needs a group named parent: (?P<parent>...)",
                                 pattern=pattern))
        if not self.code_pattern.lstrip("^").startswith("(?P<parent>"):
            # members are found in AccountView by the code they start with
            raise invalid(reason("code_pattern {pattern} must start with the parent group (?P<parent>...)",
                                 pattern=pattern))
        for attribute in self.attributes:
            if attribute.field is None and attribute.list_name not in compiled.groupindex:
                raise invalid(reason("attribute {list} has no field and code_pattern has no group of that name",
                                     list=repr(attribute.list_name)))


_BUILT_IN_FIELDS = {"barcode", "weight"}  # the shop keeps the EAN and the weight in its article fields too


class Feature(_Strict):
    """A merchant article field of the shop (MijnWebwinkel's articlefields: country of origin, delivery
    time…) filled from an AccountView ARTICLE field; through the article map like every other field."""

    field: str = Field(min_length=1, description="the AccountView ARTICLE field holding the value, e.g. CNT_ORIG")
    name: str = Field(min_length=1, max_length=100, description="the shop's article field, e.g. Land van herkomst")
    visible: bool = Field(True, description="shown to shop visitors; off: kept for the shop's own use")

    @field_validator("field")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if value.strip().casefold() in _BUILT_IN_FIELDS:
            raise invalid(reason("the shop's article field {name} is the EAN's or the weight's, which the products "
                                 "flow fills itself: pick another name", name=repr(value.strip())))
        return value.strip()

    @property
    def target(self) -> str:
        """The article map's target of this field."""
        return f"extra.{'visible' if self.visible else 'invisible'}.{self.name}"


class ProductsSettings(_Strict):
    enabled: bool = False
    interval_seconds: int = Field(300, ge=10)
    update_product_info: bool = Field(
        False,
        description="on update, also send the descriptive fields (name, descriptions, images, features, "
        "categories); off: they are set when the product is created and the shop's enrichment stays",
    )
    match_on: Literal["sku", "ean"] = Field(
        "sku", description="find a product already in the shop (first sync, lost answers) by SKU or EAN"
    )
    select: Literal["all", "groups", "flag"] = Field(
        "all",
        description="which articles belong in the shop: all, those in `groups`, or those whose webshop flag "
        "(the AccountView profile's article_webshop_field) is set",
    )
    groups: list[str] = Field(default_factory=list, description="select=groups: AccountView article group codes")
    variants: Grouping = Field(default_factory=lambda: Grouping.model_validate({}))
    category_parents: dict[str, str] = Field(
        default_factory=dict,
        description="article group code → its parent: another group code, or a shop category id (digits)",
    )
    default_category: int | None = Field(
        None, description="shop category id for articles without an article group; none: park them"
    )
    blocked: Literal["hide", "leave"] = Field(
        "hide", description="an article blocked in AccountView: hidden in the shop (never deleted), or left as it is; "
        "a blocked variant: its combination made unorderable (no stock, no backorder), or left as it is. The stock "
        "flow follows it: a blocked article gets no stock from AccountView; hide: made unorderable in the shop, "
        "leave: its shop stock left alone"
    )
    features: list[Feature] = Field(
        default_factory=list,
        description="the shop's article fields (country of origin, delivery time…) filled from AccountView fields, "
        "each visible to shop visitors or not",
    )
    images: bool = Field(True, description="send AccountView's article image to the shop")
    max_image_bytes: int = Field(10_000_000, ge=1, description="larger images are refused (the article is parked)")
    overlap_minutes: int = Field(10, ge=0, description="re-read window behind the cursor")

    @field_validator("groups")
    @classmethod
    def _group_codes(cls, value: list[str]) -> list[str]:
        return [code.strip().upper() for code in value if code.strip()]

    @field_validator("category_parents")
    @classmethod
    def _parents(cls, value: dict[str, str]) -> dict[str, str]:
        parents = {k.strip().upper(): v.strip().upper() for k, v in value.items()}
        for child, parent in parents.items():
            seen = {child}
            while parent in parents and not parent.isdigit():
                if parent in seen:
                    raise invalid(reason("category_parents has a loop through article group {group}",
                                         group=repr(parent)))
                seen.add(parent)
                parent = parents[parent]
        return parents

    @model_validator(mode="after")
    def _groups_given(self) -> ProductsSettings:
        if self.select == "groups" and not self.groups:
            raise invalid(reason("select=groups needs at least one article group code in groups"))
        names = [f.name.casefold() for f in self.features]
        if len(set(names)) != len(names):
            raise invalid(reason("each feature needs its own shop article field name"))
        return self
